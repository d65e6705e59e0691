// RFC 3339 timestamps <-> milliseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eragon {

// Parses "2018-04-05T17:31:00Z", "2018-04-05t17:31:00.123456+02:00" and the like
// (RFC 3339 section 5.6; 'T', 't' or ' ' between date and time; fractions truncated to ms;
// a leap second 60 counts as 59.999). nullopt when malformed or before 1970.
std::optional<int64_t> ParseRfc3339Ms(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC. REQUIRES: ms >= 0.
std::string FormatRfc3339Ms(int64_t ms);

}  // namespace eragon
