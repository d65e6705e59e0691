#include "core/event_codec.h"

#include <cctype>
#include <optional>

#include "core/names.h"
#include "core/time_format.h"

namespace eragon {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// One member of a validated object: the unescaped key from the DOM, the DOM value and
// the value's exact bytes in the body.
struct Member {
  std::string_view key;
  element value;
  std::string_view raw;
};

Result<std::vector<Member>> MembersOf(element object, std::string_view raw) {
  std::vector<std::pair<std::string_view, std::string_view>> spans = RawObjectMembers(raw);
  std::vector<Member> out;
  out.reserve(spans.size());
  simdjson::dom::object obj;
  if (object.get_object().get(obj)) return Status::Internal("MembersOf: not an object");
  size_t i = 0;
  for (simdjson::dom::key_value_pair kv : obj) {
    if (i >= spans.size()) break;
    out.push_back({kv.key, kv.value, spans[i].second});
    ++i;
  }
  if (out.size() != spans.size() || i != spans.size()) {
    return Status::Internal("JSON member scan disagrees with the parser");
  }
  return out;
}

Status Invalid(std::string_view prefix, std::string_view field, std::string_view why) {
  std::string m(prefix);
  m += field;
  m += ": ";
  m += why;
  return Status::InvalidArgument(std::move(m));
}

Status CheckSize(std::string_view raw, std::string_view what, const PublishLimits& limits) {
  if (raw.size() <= limits.max_event_bytes) return Status::Ok();
  return Status::TooLarge(std::string(what) + " is " + std::to_string(raw.size()) +
                          " bytes, over the limit of " + std::to_string(limits.max_event_bytes) +
                          " bytes per event");
}

// Tracks which known fields were seen, to refuse a field given twice.
class Seen {
 public:
  Status Mark(std::string_view prefix, std::string_view key) {
    for (std::string_view k : keys_) {
      if (k == key) return Invalid(prefix, key, "appears more than once");
    }
    keys_.push_back(key);
    return Status::Ok();
  }

 private:
  std::vector<std::string_view> keys_;
};

Result<std::string_view> StringField(const Member& m, std::string_view prefix) {
  std::string_view s;
  if (m.value.get_string().get(s)) return Invalid(prefix, m.key, "must be a string");
  return s;
}

Status ReadEventType(const Member& m, std::string_view prefix, Event* e) {
  ERAGON_ASSIGN_OR_RETURN(std::string_view s, StringField(m, prefix));
  if (!IsValidEventType(s))
    return Invalid(prefix, m.key, "must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  e->event_type = s;
  return Status::Ok();
}

Status ReadEntityId(const Member& m, std::string_view prefix, Event* e) {
  ERAGON_ASSIGN_OR_RETURN(std::string_view s, StringField(m, prefix));
  ERAGON_RETURN_IF_ERROR(ValidateEntityId(s, std::string(prefix) + std::string(m.key)));
  e->entity_id = s;
  return Status::Ok();
}

Status ReadId(const Member& m, std::string_view prefix, Event* e) {
  ERAGON_ASSIGN_OR_RETURN(std::string_view s, StringField(m, prefix));
  if (!IsValidEventId(s)) return Invalid(prefix, m.key, "must match ^[A-Za-z0-9._:-]{1,128}$");
  e->id = s;
  return Status::Ok();
}

Status ReadOccurredAt(const Member& m, std::string_view prefix, Event* e) {
  int64_t v = 0;
  if (m.value.type() != element_type::INT64 || m.value.get_int64().get(v) || v < 0) {
    return Invalid(prefix, m.key, "must be a non-negative integer (ms since the Unix epoch)");
  }
  e->occurred_at = v;
  return Status::Ok();
}

// "body: must be <what>" for a lone event, "events[3]: must be <what>" in a batch.
Status NotAnObject(std::string_view prefix, std::string_view what) {
  std::string where =
      prefix.empty() ? std::string("body") : std::string(prefix.substr(0, prefix.size() - 1));
  return Status::InvalidArgument(where + ": must be " + std::string(what));
}

Status ParseEragonEvent(element value, std::string_view raw, std::string_view prefix, Event* e) {
  if (!value.is_object()) return NotAnObject(prefix, "a JSON object");
  ERAGON_ASSIGN_OR_RETURN(std::vector<Member> members, MembersOf(value, raw));
  Seen seen;
  bool has_data = false;
  for (const Member& m : members) {
    if (m.key == "event_type") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_RETURN_IF_ERROR(ReadEventType(m, prefix, e));
    } else if (m.key == "entity_id") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_RETURN_IF_ERROR(ReadEntityId(m, prefix, e));
    } else if (m.key == "id") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_RETURN_IF_ERROR(ReadId(m, prefix, e));
    } else if (m.key == "occurred_at") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_RETURN_IF_ERROR(ReadOccurredAt(m, prefix, e));
    } else if (m.key == "data") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      e->data = m.raw;
      has_data = true;
    }
  }
  if (e->event_type.empty()) return Invalid(prefix, "event_type", "required");
  if (e->entity_id.empty()) return Invalid(prefix, "entity_id", "required");
  if (!has_data) return Invalid(prefix, "data", "required (any JSON value)");
  return Status::Ok();
}

Status ParseCloudEvent(element value, std::string_view raw, std::string_view prefix, Event* e) {
  if (!value.is_object()) return NotAnObject(prefix, "a CloudEvents JSON object");
  ERAGON_ASSIGN_OR_RETURN(std::vector<Member> members, MembersOf(value, raw));
  Seen seen;
  bool has_specversion = false;
  bool has_data = false;
  for (const Member& m : members) {
    if (m.key == "specversion") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      std::string_view s;
      if (m.value.get_string().get(s) || s != "1.0") {
        return Invalid(prefix, m.key, "must be \"1.0\"");
      }
      has_specversion = true;
    } else if (m.key == "type") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_RETURN_IF_ERROR(ReadEventType(m, prefix, e));
    } else if (m.key == "subject") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_RETURN_IF_ERROR(ReadEntityId(m, prefix, e));
    } else if (m.key == "id") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_RETURN_IF_ERROR(ReadId(m, prefix, e));
    } else if (m.key == "time") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_ASSIGN_OR_RETURN(std::string_view s, StringField(m, prefix));
      std::optional<int64_t> ms = ParseRfc3339Ms(s);
      if (!ms) return Invalid(prefix, m.key, "must be an RFC 3339 timestamp after 1970");
      e->occurred_at = *ms;
    } else if (m.key == "data") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      e->data = m.raw;
      has_data = true;
    } else if (m.key == "data_base64") {
      return Invalid(prefix, m.key, "binary data is not supported; send JSON in data");
    } else if (m.key == "traceparent") {
      ERAGON_RETURN_IF_ERROR(seen.Mark(prefix, m.key));
      ERAGON_ASSIGN_OR_RETURN(std::string_view s, StringField(m, prefix));
      if (!IsValidTraceparent(s)) return Invalid(prefix, m.key, "must be a W3C traceparent");
      e->traceparent = s;
    }
  }
  if (!has_specversion) return Invalid(prefix, "specversion", "required (\"1.0\")");
  if (e->event_type.empty()) return Invalid(prefix, "type", "required");
  if (e->entity_id.empty()) return Invalid(prefix, "subject", "required (the entity id)");
  if (!has_data) e->data = "null";
  return Status::Ok();
}

// The media type without parameters, lower-cased.
std::string MediaType(std::string_view content_type) {
  size_t semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  std::string out(t);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

using EventParser = Status (*)(element, std::string_view, std::string_view, Event*);

// A JSON array of events: count limits, size limits, then each event's fields.
Status ParseEventArray(element array, std::string_view raw, std::string_view name,
                       EventParser parse, const PublishLimits& limits, ParsedPublish* out) {
  simdjson::dom::array elements;
  if (array.get_array().get(elements)) {
    return Status::InvalidArgument(std::string(name.empty() ? "body" : name) +
                                   ": must be an array of events");
  }
  std::vector<std::string_view> spans = RawArrayElements(raw);
  const std::string base = name.empty() ? "" : std::string(name);
  if (spans.size() > limits.max_batch_events) {
    return Status::TooLarge("a batch holds at most " + std::to_string(limits.max_batch_events) +
                            " events; this one has " + std::to_string(spans.size()));
  }
  if (spans.empty()) {
    return Status::InvalidArgument((base.empty() ? std::string("body") : base) + ": must hold 1.." +
                                   std::to_string(limits.max_batch_events) + " events");
  }
  for (size_t i = 0; i < spans.size(); ++i) {
    ERAGON_RETURN_IF_ERROR(CheckSize(spans[i], base + "[" + std::to_string(i) + "]", limits));
  }
  out->events.resize(spans.size());
  out->batch = true;
  size_t i = 0;
  for (element ev : elements) {
    if (i >= spans.size()) return Status::Internal("JSON array scan disagrees with the parser");
    ERAGON_RETURN_IF_ERROR(
        parse(ev, spans[i], base + "[" + std::to_string(i) + "].", &out->events[i]));
    ++i;
  }
  if (i != spans.size()) return Status::Internal("JSON array scan disagrees with the parser");
  return Status::Ok();
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;  // overflows 64 bits
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetBytes(std::string_view* in, std::string* out) {
  uint64_t len;
  if (!GetVarint(in, &len) || len > in->size()) return false;
  out->assign(in->data(), len);
  in->remove_prefix(len);
  return true;
}

constexpr uint8_t kRecordVersion = 1;

}  // namespace

Result<ParsedPublish> ParsePublishBody(std::string_view body, std::string_view content_type,
                                       const PublishLimits& limits) {
  if (body.size() > limits.max_body_bytes) {
    return Status::TooLarge("the body is " + std::to_string(body.size()) +
                            " bytes, over the limit of " + std::to_string(limits.max_body_bytes));
  }
  ERAGON_ASSIGN_OR_RETURN(element root, ParseJson(body));
  const std::string_view text = TrimJsonWhitespace(body);
  const std::string media = MediaType(content_type);
  ParsedPublish out;
  if (media == "application/cloudevents-batch+json") {
    ERAGON_RETURN_IF_ERROR(ParseEventArray(root, text, "", ParseCloudEvent, limits, &out));
    return out;
  }
  if (media == "application/cloudevents+json") {
    ERAGON_RETURN_IF_ERROR(CheckSize(text, "the event", limits));
    out.events.resize(1);
    ERAGON_RETURN_IF_ERROR(ParseCloudEvent(root, text, "", &out.events[0]));
    return out;
  }
  if (!root.is_object()) {
    return Status::InvalidArgument(
        "body: must be a JSON object: one event, or {\"events\": [event, ...]}");
  }
  ERAGON_ASSIGN_OR_RETURN(std::vector<Member> members, MembersOf(root, text));
  for (const Member& m : members) {
    if (m.key == "events") {
      ERAGON_RETURN_IF_ERROR(
          ParseEventArray(m.value, m.raw, "events", ParseEragonEvent, limits, &out));
      return out;
    }
  }
  ERAGON_RETURN_IF_ERROR(CheckSize(text, "the event", limits));
  out.events.resize(1);
  ERAGON_RETURN_IF_ERROR(ParseEragonEvent(root, text, "", &out.events[0]));
  return out;
}

void EventToJson(const Event& e, JsonWriter& w) {
  w.BeginObject();
  w.Key("id").String(e.id);
  w.Key("event_type").String(e.event_type);
  w.Key("entity_id").String(e.entity_id);
  w.Key("producer").String(e.producer);
  w.Key("occurred_at").Int(e.occurred_at);
  w.Key("data").Raw(e.data.empty() ? std::string_view("null") : std::string_view(e.data));
  if (!e.traceparent.empty()) w.Key("traceparent").String(e.traceparent);
  w.EndObject();
}

std::string EventToJson(const Event& e) {
  std::string out;
  out.reserve(e.data.size() + e.entity_id.size() + 160);
  JsonWriter w(&out);
  EventToJson(e, w);
  return out;
}

void CloudEventToJson(const Event& e, JsonWriter& w) {
  w.BeginObject();
  w.Key("specversion").String("1.0");
  w.Key("id").String(e.id);
  w.Key("source").String("/eragon/" + e.producer);
  w.Key("type").String(e.event_type);
  w.Key("subject").String(e.entity_id);
  w.Key("time").String(FormatRfc3339Ms(e.occurred_at < 0 ? 0 : e.occurred_at));
  w.Key("datacontenttype").String("application/json");
  w.Key("data").Raw(e.data.empty() ? std::string_view("null") : std::string_view(e.data));
  if (!e.traceparent.empty()) w.Key("traceparent").String(e.traceparent);
  w.EndObject();
}

std::string CloudEventToJson(const Event& e) {
  std::string out;
  out.reserve(e.data.size() + e.entity_id.size() + 240);
  JsonWriter w(&out);
  CloudEventToJson(e, w);
  return out;
}

void EncodeEventRecord(const Event& e, std::string* out) {
  out->reserve(out->size() + 16 + e.id.size() + e.event_type.size() + e.entity_id.size() +
               e.producer.size() + e.traceparent.size() + e.data.size() + 6 * 3);
  out->push_back(static_cast<char>(kRecordVersion));
  const auto t = static_cast<uint64_t>(e.occurred_at);
  PutVarint(out, (t << 1) ^ static_cast<uint64_t>(e.occurred_at >> 63));
  PutBytes(out, e.id);
  PutBytes(out, e.event_type);
  PutBytes(out, e.entity_id);
  PutBytes(out, e.producer);
  PutBytes(out, e.traceparent);
  PutBytes(out, e.data);
}

Result<Event> DecodeEventRecord(std::string_view in) {
  if (in.empty()) return Status::Corruption("event record is empty");
  if (static_cast<uint8_t>(in[0]) != kRecordVersion) {
    return Status::Corruption("event record has unknown version " +
                              std::to_string(static_cast<uint8_t>(in[0])));
  }
  in.remove_prefix(1);
  Event e;
  uint64_t zigzag;
  if (!GetVarint(&in, &zigzag)) return Status::Corruption("event record: bad occurred_at");
  e.occurred_at = static_cast<int64_t>(zigzag >> 1) ^ -static_cast<int64_t>(zigzag & 1);
  if (!GetBytes(&in, &e.id) || !GetBytes(&in, &e.event_type) || !GetBytes(&in, &e.entity_id) ||
      !GetBytes(&in, &e.producer) || !GetBytes(&in, &e.traceparent) || !GetBytes(&in, &e.data)) {
    return Status::Corruption("event record is truncated or has a bad field length");
  }
  if (!in.empty()) {
    return Status::Corruption("event record has " + std::to_string(in.size()) + " trailing bytes");
  }
  return e;
}

}  // namespace eragon
