// UUIDs per RFC 9562: version 7 for event ids, version 5 for deterministic ids
// (schedule ticks). Text form is lower-case 8-4-4-4-12.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "eragon/clock.h"

namespace eragon {

using UuidBytes = std::array<uint8_t, 16>;

// RFC 9562 Appendix A.2 NameSpace_DNS and NameSpace_URL (for tests and interop).
inline constexpr UuidBytes kNamespaceDns = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                            0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
inline constexpr UuidBytes kNamespaceUrl = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                            0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

// A new UUIDv7: 48-bit Unix ms from clock->WallMs(), version 7, a 12-bit counter in rand_a
// (method 1 of RFC 9562 section 6.2) and 62 random bits from OpenSSL's CSPRNG. Ids made
// by one process sort in creation order, also within a millisecond and when the wall
// clock steps back (the last timestamp is kept until the clock passes it). Thread-safe.
std::string NewUuidV7(Clock* clock);

// The UUIDv5 (SHA-1) of `name` in namespace `ns`.
std::string UuidV5(const UuidBytes& ns, std::string_view name);

// The event id of schedule `schedule_name`'s tick at `tick_ms`, keyed with the install's
// secret so that no other service can predict it: the first 16 bytes of
// HMAC-SHA256(install_secret, schedule_name + "/" + decimal tick_ms) as a UUIDv8
// (version 8, RFC 9562 variant). The same secret gives the same id on every start.
std::string ScheduleEventId(std::string_view install_secret, std::string_view schedule_name,
                            int64_t tick_ms);

// The id of an event saga `saga` publishes for instance `instance_id`; `what` names the
// event within the instance ("command/<step>", "compensation/<step>", "completed", ...).
// Keyed like ScheduleEventId, so a restart derives the same id and no service can predict it.
std::string SagaEventId(std::string_view install_secret, std::string_view saga,
                        std::string_view instance_id, std::string_view what);

// The first 16 bytes of HMAC-SHA256(install_secret, name) as a UUIDv8.
std::string KeyedEventId(std::string_view install_secret, std::string_view name);

std::string FormatUuid(const UuidBytes& bytes);
// Parses the 8-4-4-4-12 hex form (either case); nullopt otherwise.
std::optional<UuidBytes> ParseUuid(std::string_view text);

// The Unix ms stored in a UUIDv7's first 48 bits; nullopt when `text` is not a UUIDv7.
std::optional<int64_t> UuidV7Timestamp(std::string_view text);

}  // namespace eragon
