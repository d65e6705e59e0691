// The producer's queue record: one event, ready to send. Layout (version 1):
//   [u8 version = 1][u8 id length][id][u16 LE entity length][entity id]
//   [u8 traceparent length][traceparent][the event's JSON object, as sent]
// The JSON is built once at Publish, so a batch body is the records' JSON joined with
// commas. The version byte lets a later SDK read an older backup.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon::sdk {

// Checks `event` against API.md's rules (type, entity id, id when set, data JSON,
// traceparent when set). Errors name the field.
Status ValidateEvent(const Event& event);

// REQUIRES: ValidateEvent(event).ok(), event.id and event.occurred_at set.
std::string EncodeEventRecord(const Event& event);

// Offsets into a record's payload.
struct EventRecordView {
  uint32_t id_off = 0, id_len = 0;
  uint32_t entity_off = 0, entity_len = 0;
  uint32_t tp_off = 0, tp_len = 0;
  uint32_t json_off = 0, json_len = 0;

  std::string_view id(std::string_view p) const { return p.substr(id_off, id_len); }
  std::string_view entity(std::string_view p) const { return p.substr(entity_off, entity_len); }
  std::string_view traceparent(std::string_view p) const { return p.substr(tp_off, tp_len); }
  std::string_view json(std::string_view p) const { return p.substr(json_off, json_len); }
};

// kCorruption for a payload this SDK cannot read.
Result<EventRecordView> DecodeEventRecord(std::string_view payload);

}  // namespace eragon::sdk
