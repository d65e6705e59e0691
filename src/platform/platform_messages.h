// The platform events eragond itself raises, built from plain facts (so this component
// needs neither the dispatcher nor the server): entity id, data and occurrence key of each.
// The data fields are documented in docs/api.md "Platform events".
#pragma once

#include <cstdint>
#include <string_view>

#include "config/config_store.h"
#include "platform/platform_events.h"

namespace eragon::platform {

// One event that went dead for a consumer (a dead letter).
struct DeadLetterFacts {
  std::string_view consumer;
  std::string_view event_type;
  std::string_view event_id;
  std::string_view producer;
  std::string_view entity_id;
  std::string_view topic;
  uint32_t attempts = 0;
  int32_t last_status = 0;  // 0: no HTTP answer (or a pull consumer)
  std::string_view last_error;
  int64_t dead_at = 0;  // ms
};

// eragon.dead_lettered, entity id = the consumer. Key: consumer, event type, producer,
// event id and dead_at (a redriven event that goes dead again is another occurrence).
PlatformEvent DeadLettered(const DeadLetterFacts& f);

// eragon.circuit_opened / eragon.circuit_closed, entity id = the consumer. Key: consumer,
// topic and the time of the change.
PlatformEvent CircuitChanged(bool open, std::string_view consumer, std::string_view topic,
                             int64_t at_ms, std::string_view last_error);

// eragon.consumer_disabled for a route the server disabled (disabled_reason and
// disabled_at set), entity id = the consumer. Key: event type, consumer and disabled_at,
// so reporting it again (at every start, for routes still disabled) stores it once.
PlatformEvent ConsumerDisabled(const config::ConsumerRoute& route);

}  // namespace eragon::platform
