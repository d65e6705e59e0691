// What one push of one event to one consumer looks like (API.md "HTTP push", "Formats
// and signing"): the body per `format`, the Eragon-* headers, Standard Webhooks
// signatures. (How an answer is classified and how long to wait before the next attempt:
// retry_policy.h.)
// Pure functions: no I/O, no clock of their own, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
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
//    While route.previous_secret signs too (now_ms < previous_secret_until), the header
//    holds both signatures, the current secret's first, space-separated.
// InvalidArgument for an unknown format, a malformed secret, or an event id or type
// that could not travel in a header (the publish path rejects those long before).
Result<PushRequest> BuildPush(const Event& event, const config::ConsumerRoute& route,
                              uint32_t attempt, int64_t now_ms);

// Signing and verifying live in core/webhook_signature.h (the SDK's push receiver
// verifies with the same code); these names keep the dispatcher's callers unchanged.
using ::eragon::DecodeWebhookSecret;
using ::eragon::SignWebhook;
using ::eragon::VerifyWebhookSignature;

}  // namespace eragon::dispatch
