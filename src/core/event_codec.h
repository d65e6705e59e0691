// Events on the wire and on disk: the publish body (API.md "Publishing": one event, a
// batch, or CloudEvents 1.0 structured mode), the event's JSON form, the CloudEvents
// form used for `format: cloudevents` pushes, and the binary record the log stores.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon {

struct PublishLimits {
  size_t max_event_bytes = 1 << 20;  // the JSON text of one event (API.md default 1 MiB)
  size_t max_batch_events = 1000;    // events in one body
  size_t max_body_bytes = 8 << 20;   // the whole body (checked again here; 8 MiB)
};

struct ParsedPublish {
  std::vector<Event> events;
  bool batch = false;  // true for {"events": [...]} and CloudEvents batches
};

// Parses and validates a POST /v1/events body.
//
// `content_type` selects the form (parameters such as "; charset=utf-8" are ignored):
//  - "application/cloudevents+json": one CloudEvents 1.0 structured event. specversion
//    must be "1.0"; type -> event_type, subject -> entity_id, id -> id, time (RFC 3339)
//    -> occurred_at, data -> data (absent: null), traceparent extension -> traceparent.
//    data_base64 is refused (kInvalidArgument).
//  - "application/cloudevents-batch+json": a JSON array of such events.
//  - anything else: an Eragon event object, or {"events": [event, ...]}.
//
// The whole body is validated as JSON first (kInvalidJson: malformed, invalid UTF-8,
// nested deeper than 64). Then the limits (kTooLarge: more than max_batch_events events,
// an event's text over max_event_bytes, a body over max_body_bytes), then the fields
// (kInvalidArgument, the message naming the field, e.g. "events[3].entity_id: ...").
// Unknown fields and `producer` are ignored. `id` and `occurred_at` stay empty / 0 when
// absent: the caller fills them. `data` is kept byte-for-byte as sent.
Result<ParsedPublish> ParsePublishBody(std::string_view body,
                                       std::string_view content_type = "application/json",
                                       const PublishLimits& limits = {});

// The event as API.md shows it: id, event_type, entity_id, producer, occurred_at, data
// (spliced raw), and traceparent only when non-empty.
void EventToJson(const Event& event, JsonWriter& writer);
std::string EventToJson(const Event& event);

// CloudEvents 1.0 structured mode: specversion "1.0", id, source "/eragon/<producer>",
// type, subject (entity id), time (RFC 3339 UTC with ms), datacontenttype
// "application/json", data (raw), and traceparent when set.
void CloudEventToJson(const Event& event, JsonWriter& writer);
std::string CloudEventToJson(const Event& event);

// The binary record of one event as the log stores it. Layout, version 1:
//   u8 version (1) | varint zigzag(occurred_at) |
//   6 x (varint length, bytes): id, event_type, entity_id, producer, traceparent, data
// Appends to *out (does not clear it). Decoding never trusts the input: anything that is
// not exactly one well-formed record is kCorruption.
void EncodeEventRecord(const Event& event, std::string* out);
Result<Event> DecodeEventRecord(std::string_view record);

}  // namespace eragon
