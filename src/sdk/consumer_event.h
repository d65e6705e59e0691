// Events as eragond delivers them, back into eragon::Event: the `eragon` JSON form
// (EventToJson: pull messages and pushes with format eragon) and the CloudEvents 1.0
// structured form (pushes with format cloudevents), and the fetch answer of the pull API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/event.h"
#include "eragon/handler.h"
#include "eragon/status.h"

namespace eragon::sdk {

enum class EventFormat { kEragon, kCloudEvents };

// Parses one delivered event. Every field is checked as publish checks it (kInvalidJson,
// kInvalidArgument naming the field); `data` is kept byte-for-byte. `producer` comes from
// "producer" (eragon) or "source" = "/eragon/<producer>" (cloudevents); `traceparent` from
// its member when present and valid.
Result<Event> ParseDeliveredEvent(std::string_view json, EventFormat format);

// One message of a fetch answer. When its event could not be parsed, `status` says why
// and only `ack_id` is meaningful (the caller nacks it).
struct PulledMessage {
  std::string ack_id;
  Delivery delivery;
  Status status;
};

// Parses {"messages": [{"ack_id": "...", "attempt": n, "event": {...}}, ...]}. An error
// when the answer as a whole is not of that shape.
Result<std::vector<PulledMessage>> ParseFetchAnswer(std::string_view body);

}  // namespace eragon::sdk
