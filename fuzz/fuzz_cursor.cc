// GET /v1/events cursors (server/event_listing.h): any `after` text parses or is a 400;
// a cursor that parses, written again in the same form, parses to the same entries.
#include <cstddef>
#include <cstdint>

#include "core/hash.h"
#include "fuzz/fuzz_util.h"
#include "server/event_listing.h"

using eragon::fuzz::AsView;
using eragon::fuzz::Check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto entries = eragon::server::ParseCursor(AsView(data, size));
  if (!entries.ok()) {
    Check(entries.status().message().rfind("after: ", 0) == 0, "a bad cursor names after");
    return 0;
  }
  Check(!entries->empty(), "a cursor has at least one entry");
  std::string raw;
  for (const auto& e : *entries) {
    raw += e.topic + "\t" + std::to_string(e.partition) + "\t" + std::to_string(e.upper) + "\n";
  }
  auto again = eragon::server::ParseCursor(eragon::HexEncode(raw));
  Check(again.ok() && again->size() == entries->size(), "a rewritten cursor parses");
  for (size_t i = 0; i < entries->size(); ++i) {
    Check((*again)[i].topic == (*entries)[i].topic &&
              (*again)[i].partition == (*entries)[i].partition &&
              (*again)[i].upper == (*entries)[i].upper,
          "a rewritten cursor keeps its entries");
  }
  return 0;
}
