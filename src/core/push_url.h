// PushUrl: a consumer endpoint URL as the push client uses it. One parser for the push
// client (src/dispatch) and the consumer route codec (src/config), so a route PUT refuses
// exactly the URLs a push could never be sent to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eragon/status.h"

namespace eragon {

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

}  // namespace eragon
