#include "channel/kafka/kafka_record.h"

#include "core/event_codec.h"
#include "core/json.h"

namespace eragon::channel::kafka {

std::string KafkaValueOf(const Event& event) { return EventToJson(event); }

rd_kafka_headers_t* KafkaHeadersOf(const Event& event) {
  rd_kafka_headers_t* h = rd_kafka_headers_new(4);
  auto add = [h](const char* name, const std::string& v) {
    rd_kafka_header_add(h, name, -1, v.data(), static_cast<ssize_t>(v.size()));
  };
  add("eragon-event-id", event.id);
  add("eragon-event-type", event.event_type);
  add("eragon-producer", event.producer);
  if (!event.traceparent.empty()) add("traceparent", event.traceparent);
  return h;
}

namespace {

// A JSON string member's value; kCorruption when it is not a string.
Status StringField(simdjson::dom::element v, std::string_view name, std::string* out) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) {
    return Status::Corruption("kafka record: '" + std::string(name) + "' is not a string");
  }
  out->assign(s);
  return Status::Ok();
}

Status ReadMembers(std::string_view text, Event* e) {
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::element root, ParseJson(text));
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return Status::Corruption("kafka record: the value is not a JSON object");
  }
  for (auto [key, value] : object) {
    if (key == "id") ERAGON_RETURN_IF_ERROR(StringField(value, key, &e->id));
    if (key == "event_type") ERAGON_RETURN_IF_ERROR(StringField(value, key, &e->event_type));
    if (key == "entity_id") ERAGON_RETURN_IF_ERROR(StringField(value, key, &e->entity_id));
    if (key == "producer") ERAGON_RETURN_IF_ERROR(StringField(value, key, &e->producer));
    if (key == "traceparent") ERAGON_RETURN_IF_ERROR(StringField(value, key, &e->traceparent));
    if (key == "occurred_at") {
      int64_t t = 0;
      if (value.get_int64().get(t) != simdjson::SUCCESS) {
        return Status::Corruption("kafka record: 'occurred_at' is not an integer");
      }
      e->occurred_at = t;
    }
  }
  // `data` byte-for-byte: its raw span in the (validated) text.
  for (const auto& [key, raw] : RawObjectMembers(TrimJsonWhitespace(text))) {
    if (key == "\"data\"") e->data.assign(raw);
  }
  return Status::Ok();
}

}  // namespace

Result<Event> EventOfKafkaRecord(const rd_kafka_message_t& msg) {
  std::string_view text(static_cast<const char*>(msg.payload), msg.payload ? msg.len : 0);
  Event e;
  Status st = ReadMembers(text, &e);
  if (!st.ok()) {
    return Status::Corruption("kafka record at partition " + std::to_string(msg.partition) +
                              " offset " + std::to_string(msg.offset) + ": " + st.message());
  }
  if (e.entity_id.empty() && msg.key != nullptr) {
    e.entity_id.assign(static_cast<const char*>(msg.key), msg.key_len);
  }
  if (e.event_type.empty() || e.entity_id.empty()) {
    return Status::Corruption("kafka record at partition " + std::to_string(msg.partition) +
                              " offset " + std::to_string(msg.offset) +
                              ": no event_type or entity_id");
  }
  if (e.id.empty()) {
    e.id = "kafka-" + std::to_string(msg.partition) + "-" + std::to_string(msg.offset);
  }
  if (e.occurred_at == 0) e.occurred_at = rd_kafka_message_timestamp(&msg, nullptr);
  if (e.data.empty()) e.data = "null";
  return e;
}

}  // namespace eragon::channel::kafka
