#include "sdk/producer_record.h"

#include "core/json.h"
#include "core/names.h"

namespace eragon::sdk {

Status ValidateEvent(const Event& e) {
  if (!IsValidEventType(e.event_type)) {
    return Status::InvalidArgument("event_type: must match ^[a-z0-9][a-z0-9_.-]{0,127}$, got '" +
                                   e.event_type.substr(0, 140) + "'");
  }
  ERAGON_RETURN_IF_ERROR(ValidateEntityId(e.entity_id));
  if (!e.id.empty() && !IsValidEventId(e.id)) {
    return Status::InvalidArgument("id: must match ^[A-Za-z0-9._:-]{1,128}$");
  }
  if (e.occurred_at < 0) return Status::InvalidArgument("occurred_at: must not be negative");
  if (TrimJsonWhitespace(e.data).empty()) {
    return Status::InvalidArgument("data: required (any JSON value)");
  }
  Status s = ValidateJson(e.data);
  if (!s.ok()) return Status(s.code(), "data: " + s.message());
  if (!e.traceparent.empty() && !IsValidTraceparent(e.traceparent)) {
    return Status::InvalidArgument("traceparent: not a W3C traceparent");
  }
  if (e.traceparent.size() > 255) {
    return Status::InvalidArgument("traceparent: longer than 255 bytes");
  }
  return Status::Ok();
}

std::string EncodeEventRecord(const Event& e) {
  std::string out;
  out.reserve(64 + e.id.size() * 2 + e.entity_id.size() * 2 + e.traceparent.size() +
              e.event_type.size() + e.data.size());
  out.push_back(1);
  out.push_back(static_cast<char>(e.id.size()));
  out.append(e.id);
  out.push_back(static_cast<char>(e.entity_id.size() & 0xff));
  out.push_back(static_cast<char>(e.entity_id.size() >> 8));
  out.append(e.entity_id);
  out.push_back(static_cast<char>(e.traceparent.size()));
  out.append(e.traceparent);
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("id").String(e.id);
  w.Key("event_type").String(e.event_type);
  w.Key("entity_id").String(e.entity_id);
  w.Key("occurred_at").Int(e.occurred_at);
  w.Key("data").Raw(TrimJsonWhitespace(e.data));
  w.EndObject();
  return out;
}

Result<EventRecordView> DecodeEventRecord(std::string_view p) {
  auto bad = [] { return Status::Corruption("event queue record in an unknown format"); };
  EventRecordView v;
  size_t pos = 0;
  auto byte = [&](size_t at) { return static_cast<uint8_t>(p[at]); };
  if (p.size() < 2 || byte(0) != 1) return bad();
  v.id_len = byte(1);
  v.id_off = 2;
  pos = 2 + v.id_len;
  if (pos + 2 > p.size()) return bad();
  v.entity_len = byte(pos) | (uint32_t{byte(pos + 1)} << 8);
  v.entity_off = static_cast<uint32_t>(pos + 2);
  pos = v.entity_off + v.entity_len;
  if (pos + 1 > p.size()) return bad();
  v.tp_len = byte(pos);
  v.tp_off = static_cast<uint32_t>(pos + 1);
  pos = v.tp_off + v.tp_len;
  if (pos >= p.size() || p[pos] != '{') return bad();
  v.json_off = static_cast<uint32_t>(pos);
  v.json_len = static_cast<uint32_t>(p.size() - pos);
  return v;
}

}  // namespace eragon::sdk
