// What one push of one event to one consumer looks like (API.md "HTTP push", "Formats
// and signing"): the body per `format`, the Eragon-* headers, Standard Webhooks
// signatures, how an answer is classified and how long to wait before the next attempt.
// Pure functions: no I/O, no clock of their own, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "config/config_store.h"
#include "core/webhook_signature.h"
#include "dispatch/push_client.h"
#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon::dispatch {

// Builds attempt number `attempt` (1 = first) of pushing `event` to `route`.
//  - url and timeout from the route; body: `eragon` -> EventToJson, `cloudevents` ->
//    CloudEventToJson with Content-Type application/cloudevents+json.
//  - headers: Content-Type, User-Agent, Eragon-Event-Id, Eragon-Event-Type,
//    Eragon-Entity-Id (percent-encoded, PercentEncodeHeaderValue), Eragon-Attempt,
//    traceparent when the event has a valid one; then the route's own headers, except
//    those whose name is one of ours, a framing header (Host, Content-Length,
//    Transfer-Encoding, Connection), starts with "eragon-" or "webhook-", is not a token,
//    or whose value holds CR, LF or NUL: those are left out, never sent.
//  - when route.secret is set: webhook-id (event id), webhook-timestamp (now_ms in unix
//    seconds), webhook-signature (SignWebhook). A new timestamp and signature per attempt.
// InvalidArgument for an unknown format, a malformed secret, or an event id or type
// that could not travel in a header (the publish path rejects those long before).
Result<PushRequest> BuildPush(const Event& event, const config::ConsumerRoute& route,
                              uint32_t attempt, int64_t now_ms);

// Signing and verifying live in core/webhook_signature.h (the SDK's push receiver
// verifies with the same code); these names keep the dispatcher's callers unchanged.
using ::eragon::DecodeWebhookSecret;
using ::eragon::SignWebhook;
using ::eragon::VerifyWebhookSignature;

// API.md "HTTP push": 2xx delivered; 429, 5xx and 0 (no answer: timeout, connection
// failure) retried; 3xx, other 4xx and anything else not retried (dead).
enum class AnswerClass { kDelivered, kRetryable, kDead };
AnswerClass ClassifyAnswer(int status);

// How long to wait after failed attempt number `attempt` (1 = the first) before the next:
// full jitter, uniform(0, min(max_backoff_ms, initial_backoff_ms * 2^(attempt-1))) drawn
// from `rng`; with a Retry-After, max(that, retry_after_ms). Never above max_backoff_ms,
// never negative.
int64_t RetryDelayMs(const config::RetryPolicy& policy, uint32_t attempt,
                     std::optional<int64_t> retry_after_ms, std::mt19937_64& rng);

}  // namespace eragon::dispatch
