// The JSON bodies of the routing and service endpoints (API.md "The routing table",
// "Services and tokens"): parse + validate into config structs with API.md's defaults,
// and the echo form the API answers with.
//
// Parse errors: kInvalidJson for a body that is not JSON (or too deep); kInvalidArgument
// with a message that starts with the field's name ("retry.max_attempts: ...") for wrong
// types, unknown enum values, out-of-range numbers and invalid names. Unknown fields are
// ignored; null counts as absent (the default applies). created_at / updated_at are left
// 0 for the caller to set.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config_store.h"
#include "core/json.h"
#include "eragon/status.h"

namespace eragon::config {

// Limits beyond API.md's own, for numbers it leaves open (documented in the README).
inline constexpr int64_t kMaxTimeoutMs = 300'000;
inline constexpr uint32_t kMaxInFlight = 10'000;
inline constexpr uint32_t kMaxPartitions = 1024;
inline constexpr uint32_t kMaxAttempts = 10'000;
inline constexpr int64_t kMaxBackoffMs = 7LL * 24 * 3'600'000;  // a week
inline constexpr uint32_t kMaxRateLimitPerS = 1'000'000;
inline constexpr int64_t kMaxDedupTtlHours = 10LL * 365 * 24;  // ten years
inline constexpr size_t kMaxHeaders = 64;
inline constexpr size_t kMaxRetrySchedule = 100;  // delays in retry.schedule_ms
inline constexpr int64_t kMaxSecretOverlapMs = 30LL * 24 * 3'600'000;  // thirty days
inline constexpr int64_t kMaxDisableAfterMs = 365LL * 24 * 3'600'000;  // a year

// PUT /v1/routes/{event_type}/producer. `event_type` comes from the path; a body field
// "event_type" must match it. Defaults: channel "embedded", topic = event_type,
// ordered false, partitions 8. "producer" is required.
Result<ProducerRoute> ParseProducerRoute(std::string_view body, std::string event_type);

// PUT /v1/routes/{event_type}/consumers/{consumer}. Names come from the path (body fields
// "event_type" / "consumer", when present, must match). Defaults per API.md and the
// ConsumerRoute struct. A pull route's url is cleared.
Result<ConsumerRoute> ParseConsumerRoute(std::string_view body, std::string event_type,
                                         std::string consumer);

// PUT /v1/services/{name}: {"roles": [...]} with at least one of producer, consumer,
// admin. Returns the roles sorted and without repeats.
Result<std::vector<std::string>> ParseServiceRoles(std::string_view body);

// Echo forms. Producer: every field with event_type. Consumer: every field with
// event_type and consumer, the secret only as "has_secret", header values as "***".
void ProducerRouteToJson(const ProducerRoute& route, JsonWriter& w);
std::string ProducerRouteToJson(const ProducerRoute& route);
void ConsumerRouteToJson(const ConsumerRoute& route, JsonWriter& w);
std::string ConsumerRouteToJson(const ConsumerRoute& route);

// The API names of the route enums (config_store.h), in declaration order:
// ChannelKind embedded|kafka, DeliveryType http|pull|kafka, DedupMode
// none|entity_event|event_id, PushFormat eragon|cloudevents, StartAt latest|earliest.
// Defined for exactly those five enum types. RouteEnumName of a value outside the enum
// is "?"; ParseRouteEnum leaves *out alone and returns false for an unknown name.
template <typename E>
std::string_view RouteEnumName(E value);
template <typename E>
bool ParseRouteEnum(std::string_view name, E* out);

// Validation shared with the store's callers: "whsec_" + base64 of at least one byte.
bool IsValidWebhookSecret(std::string_view secret);
// A consumer endpoint the push client can use: ParsePushUrl (core/push_url.h) accepts it
// (http or https, a host, a port in 1..65535, no user info, no spaces or controls) and it
// is at most kMaxUrlBytes long. The error never repeats the URL: its user info, if any,
// is a secret.
inline constexpr size_t kMaxUrlBytes = 8192;
Status ValidateHttpUrl(std::string_view url);
// A header a consumer route may set: an RFC 9110 token name that the server does not set
// itself (Content-*, Host, Eragon-*, webhook-*, traceparent, ...), and a value without
// control characters other than tab.
Status ValidateRouteHeader(std::string_view name, std::string_view value);

}  // namespace eragon::config
