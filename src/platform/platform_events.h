// Platform events (API.md "Platform events"): events eragond publishes about itself, as
// producer `eragon` on topic `eragon.platform`, routable to consumers like any other type.
//
// Any component that has something to report (the dispatcher, the route disabler, the
// saga runner) holds a `PlatformEvents*` and calls `Publish`; the implementation
// (`PlatformPublisher`, platform_publisher.h) queues the event and stores it through the
// normal publish path on a thread of its own, so a caller never blocks or waits for a
// disk and may call it while holding its own locks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eragon::platform {

inline constexpr std::string_view kProducer = "eragon";
inline constexpr std::string_view kTopic = "eragon.platform";

inline constexpr std::string_view kConsumerDisabled = "eragon.consumer_disabled";
inline constexpr std::string_view kDeadLettered = "eragon.dead_lettered";
inline constexpr std::string_view kCircuitOpened = "eragon.circuit_opened";
inline constexpr std::string_view kCircuitClosed = "eragon.circuit_closed";
inline constexpr std::string_view kSagaFailed = "eragon.saga_failed";

// Every platform event type, in the order their producer routes are created.
inline constexpr std::string_view kEventTypes[] = {kConsumerDisabled, kDeadLettered, kCircuitOpened,
                                                   kCircuitClosed, kSagaFailed};

// True for the types above.
bool IsPlatformEventType(std::string_view event_type);

struct PlatformEvent {
  std::string event_type;  // one of the types above
  std::string entity_id;   // the consumer (or the saga instance for saga_failed)
  std::string data;        // one valid JSON value (an object), stored as given
  // Names this occurrence: the same occurrence reported again (after a restart, by
  // another node) has the same key, another one a different key. The event id is
  // PlatformEventId(install secret, event_type, key), so the publish dedup stores each
  // occurrence once. E.g. "<consumer>/<event type>/<event id>/<dead_at>" for a dead letter.
  std::string key;
  int64_t occurred_at = 0;  // ms since the epoch; 0 = when it is stored
};

// The id of a platform event: a UUIDv8 from HMAC-SHA256(install secret, "platform/" +
// event_type + "/" + key), like schedule tick ids: stable across restarts, unpredictable
// without the secret.
std::string PlatformEventId(std::string_view install_secret, std::string_view event_type,
                            std::string_view key);

class PlatformEvents {
 public:
  virtual ~PlatformEvents() = default;
  // Queues `event` for publication and returns at once. Never blocks on I/O or on the
  // publish path; safe from any thread, also while holding the caller's own locks.
  // Delivery into the log is best effort across a crash: an event still queued when the
  // process dies is lost unless its source reports it again (same key, same id).
  virtual void Publish(PlatformEvent event) = 0;
};

}  // namespace eragon::platform
