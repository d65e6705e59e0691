#include "platform/platform_events.h"

#include <algorithm>
#include <cstring>

#include "core/hash.h"
#include "core/uuid.h"

namespace eragon::platform {

bool IsPlatformEventType(std::string_view event_type) {
  return std::find(std::begin(kEventTypes), std::end(kEventTypes), event_type) !=
         std::end(kEventTypes);
}

std::string PlatformEventId(std::string_view install_secret, std::string_view event_type,
                            std::string_view key) {
  std::string name = "platform/";
  name += event_type;
  name.push_back('/');
  name += key;
  const std::string mac = HmacSha256(install_secret, name);
  UuidBytes b;
  std::memcpy(b.data(), mac.data(), b.size());
  b[6] = static_cast<uint8_t>(0x80 | (b[6] & 0x0F));  // version 8
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));  // RFC 9562 variant
  return FormatUuid(b);
}

}  // namespace eragon::platform
