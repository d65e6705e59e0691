// Parsing for the push client, kept apart from the Beast code so it is cheap to test:
// endpoint URLs, Retry-After values and the header-safety rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "eragon/status.h"

namespace eragon::dispatch {

struct PushUrl {
  bool tls = false;    // https
  std::string host;    // lower-case name, IPv4 literal, or IPv6 literal without brackets
  uint16_t port = 0;   // explicit, or 80 / 443
  std::string target;  // path and query as sent in the request line; "/" when empty
  bool host_is_ip = false;
  // The Host header value: the host (bracketed when IPv6) and ":port" unless default.
  std::string HostHeader() const;
  // "http://host:port" or "https://[v6]:port": the key of a connection pool.
  std::string EndpointKey() const;
};

// Parses "http[s]://host[:port][/path][?query][#fragment]" (scheme case-insensitive; the
// fragment is dropped). InvalidArgument, the message starting "invalid url: ", for other
// schemes, user info, an empty or malformed host, a bad port, or bytes that may not
// appear in a request line (controls, space, non-ASCII).
Result<PushUrl> ParsePushUrl(std::string_view url);

// Retry-After (RFC 9110 section 10.2.3): delta-seconds, or an HTTP-date (IMF-fixdate,
// RFC 850 or asctime form) turned into a delay from `now_ms` (ms since the Unix epoch),
// clamped at 0. nullopt when malformed.
std::optional<int64_t> ParseRetryAfterMs(std::string_view value, int64_t now_ms);

// Seconds since the Unix epoch of an HTTP-date, or nullopt.
std::optional<int64_t> ParseHttpDate(std::string_view value);

// A header value may be sent when it has no CR, LF or NUL (the rest is the server's
// business); a name must be an RFC 9110 token.
bool IsSafeHeaderValue(std::string_view value);
bool IsValidHeaderName(std::string_view name);

}  // namespace eragon::dispatch
