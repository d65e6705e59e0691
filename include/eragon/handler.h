// Handlers: what a consumer runs for each event delivered to it, by the pull loop
// (eragon/consumer.h) or by an HTTP push (eragon/push_receiver.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon {

// One delivery of one event to this consumer.
struct Delivery {
  Event event;
  // 1 for the first delivery; later deliveries (after a failure, a nack or an ack
  // timeout) count up. Handlers that must not repeat work dedupe on event.id.
  uint32_t attempt = 1;
};

// A handler's verdict on one delivery.
//  - Ok: processed. Pull: acked. Push: 200.
//  - An error: not processed. Pull: nacked with ConsumerOptions::nack_delay_ms, so the
//    event comes again (until the route's retry.max_attempts, then it goes dead). Push:
//    the Status code picks the HTTP answer as eragond's own API does — kInvalidArgument /
//    kInvalidJson 400, kNotFound / kUnknownEventType 404, kPermissionDenied 403,
//    kConflict / kAlreadyExists 409, kTooLarge 413 (4xx: eragond does not retry, the event
//    goes to the dead-letter queue: use these for events that can never succeed);
//    kResourceExhausted 429, kUnavailable / kIOError / kReadOnly 503, anything else 500
//    (eragond retries with backoff).
// A handler that throws counts as Status::Internal with the exception's what().
// Handlers run on the consumer's threads, several at once when concurrency > 1 (never
// two events of one entity at once): what they share must be thread-safe.
using Handler = std::function<Status(const Delivery&)>;

// Handlers by event type, and an optional default for the other types. Registration is
// not thread-safe (do it before the consumer starts); Run is, once registration is done.
class HandlerSet {
 public:
  // Registers `handler` for `event_type`, replacing an earlier one.
  void On(std::string event_type, Handler handler);
  // Registers the handler for types without their own (replacing an earlier default).
  void OnAny(Handler handler);
  bool empty() const { return by_type_.empty() && !default_; }

  // Runs the handler for delivery.event.event_type, or the default. UnknownEventType when
  // neither exists; Internal when the handler throws.
  Status Run(const Delivery& delivery) const;

 private:
  std::map<std::string, Handler, std::less<>> by_type_;
  Handler default_;
};

}  // namespace eragon
