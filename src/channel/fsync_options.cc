#include <charconv>

#include "channel/embedded.h"

namespace eragon::channel {

Result<FsyncOptions> ParseFsyncOptions(std::string_view text) {
  FsyncOptions o;
  if (text == "always") return o;
  if (text == "never") {
    o.policy = FsyncPolicy::kNever;
    return o;
  }
  constexpr std::string_view kInterval = "interval:";
  if (text.substr(0, kInterval.size()) == kInterval) {
    std::string_view ms = text.substr(kInterval.size());
    int64_t v = 0;
    auto [end, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), v);
    if (ec == std::errc() && end == ms.data() + ms.size() && !ms.empty() && v >= 1) {
      o.policy = FsyncPolicy::kInterval;
      o.interval_ms = v;
      return o;
    }
  }
  return Status::InvalidArgument(
      "fsync policy must be always, interval:<ms> (ms >= 1) or never, got '" + std::string(text) +
      "'");
}

std::string FsyncOptionsToString(const FsyncOptions& o) {
  switch (o.policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kNever:
      return "never";
    case FsyncPolicy::kInterval:
      return "interval:" + std::to_string(o.interval_ms);
  }
  return "always";
}

}  // namespace eragon::channel
