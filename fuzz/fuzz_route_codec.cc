// The routing and service codecs (config/route_codec.h): the first byte picks producer
// route, consumer route or service roles, the rest is the PUT body. A route that parses
// must echo as JSON that parses back to the same route.
#include <cstddef>
#include <cstdint>

#include "config/route_codec.h"
#include "fuzz/fuzz_util.h"

using eragon::fuzz::AsView;
using eragon::fuzz::Check;
namespace config = eragon::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body = AsView(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto r = config::ParseProducerRoute(body, "order.created");
      if (!r.ok()) return 0;
      auto again = config::ParseProducerRoute(config::ProducerRouteToJson(*r), "order.created");
      Check(again.ok(), "a producer route's echo parses");
      Check(config::ProducerRouteToJson(*again) == config::ProducerRouteToJson(*r),
            "a producer route's echo round trips");
      break;
    }
    case 1: {
      auto r = config::ParseConsumerRoute(body, "order.created", "billing");
      if (!r.ok()) return 0;
      // The secrets are replaced by a marker no valid URL or header holds (a control
      // character), so finding the marker means the echo showed a secret.
      constexpr std::string_view kMarker = "marker-9f1c";
      r->secret = "whsec_\x01" + std::string(kMarker);
      r->previous_secret = r->secret;
      std::string echo = config::ConsumerRouteToJson(*r);
      Check(body.find(kMarker) != std::string_view::npos || echo.find(kMarker) == std::string::npos,
            "the echo never shows a secret");
      break;
    }
    default: {
      auto r = config::ParseServiceRoles(body);
      if (!r.ok()) return 0;
      Check(!r->empty(), "a service has a role");
      break;
    }
  }
  return 0;
}
