// Parsing for the push client, kept apart from the Beast code so it is cheap to test:
// endpoint URLs (core/push_url.h), Retry-After values and the header-safety rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/push_url.h"
#include "eragon/status.h"

namespace eragon::dispatch {

// The endpoint URL parser (PushUrl, ParsePushUrl) lives in core/push_url.h, shared with
// the consumer route codec.
using ::eragon::ParsePushUrl;
using ::eragon::PushUrl;

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
