#include "sdk/consumer_event.h"

#include "core/event_codec.h"
#include "core/json.h"
#include "core/names.h"

namespace eragon::sdk {
namespace {

// Delivered events carry a few fields more than published ones; the body limit of a push
// (8 MiB) is the real bound.
constexpr PublishLimits kDeliveredLimits{8u << 20, 1, 8u << 20};

// The raw text of member `key` of a validated JSON object, or "".
std::string_view RawMember(std::string_view object, std::string_view quoted_key) {
  for (const auto& [k, v] : RawObjectMembers(object)) {
    if (k == quoted_key) return v;
  }
  return {};
}

// A JSON string literal without escapes, unquoted; "" when it is not one (the values
// read this way, service names and traceparents, never need escapes).
std::string_view PlainString(std::string_view literal) {
  if (literal.size() < 2 || literal.front() != '"' || literal.back() != '"') return {};
  literal = literal.substr(1, literal.size() - 2);
  if (literal.find('\\') != std::string_view::npos) return {};
  return literal;
}

}  // namespace

Result<Event> ParseDeliveredEvent(std::string_view json, EventFormat format) {
  const bool ce = format == EventFormat::kCloudEvents;
  ERAGON_ASSIGN_OR_RETURN(
      ParsedPublish parsed,
      ParsePublishBody(json, ce ? "application/cloudevents+json" : "application/json",
                       kDeliveredLimits));
  if (parsed.batch || parsed.events.size() != 1) {
    return Status::InvalidArgument("body: must be one event, not a batch");
  }
  Event e = std::move(parsed.events[0]);
  if (e.id.empty()) return Status::InvalidArgument("id: required");
  const std::string_view text = TrimJsonWhitespace(json);
  std::string_view producer = PlainString(RawMember(text, ce ? "\"source\"" : "\"producer\""));
  if (ce && producer.starts_with("/eragon/")) producer.remove_prefix(8);
  if (IsValidServiceName(producer)) e.producer = producer;
  if (!ce) {
    std::string_view tp = PlainString(RawMember(text, "\"traceparent\""));
    if (IsValidTraceparent(tp)) e.traceparent = tp;
  }
  return e;
}

Result<std::vector<PulledMessage>> ParseFetchAnswer(std::string_view body) {
  simdjson::dom::parser parser;  // ParseDeliveredEvent uses the thread's own parser
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::element root, ParseJson(body, parser));
  simdjson::dom::array messages;
  if (root["messages"].get_array().get(messages) != simdjson::SUCCESS) {
    return Status::InvalidArgument("fetch answer: no \"messages\" array");
  }
  std::vector<std::string_view> raw =
      RawArrayElements(RawMember(TrimJsonWhitespace(body), "\"messages\""));
  if (raw.size() != messages.size()) return Status::Internal("fetch answer: messages miscounted");
  std::vector<PulledMessage> out;
  out.reserve(raw.size());
  size_t i = 0;
  for (simdjson::dom::element m : messages) {
    PulledMessage& pm = out.emplace_back();
    std::string_view ack_id;
    uint64_t attempt = 1;
    if (m["ack_id"].get_string().get(ack_id) != simdjson::SUCCESS || ack_id.empty()) {
      return Status::InvalidArgument("fetch answer: a message without ack_id");
    }
    pm.ack_id = ack_id;
    if (m["attempt"].get_uint64().get(attempt) == simdjson::SUCCESS && attempt > 0 &&
        attempt <= UINT32_MAX) {
      pm.delivery.attempt = static_cast<uint32_t>(attempt);
    }
    std::string_view event = RawMember(raw[i++], "\"event\"");
    Result<Event> e = event.empty() ? Result<Event>(Status::InvalidArgument("event: missing"))
                                    : ParseDeliveredEvent(event, EventFormat::kEragon);
    if (e.ok()) {
      pm.delivery.event = std::move(*e);
    } else {
      pm.status = Status(e.status().code(), "message " + pm.ack_id + ": " + e.status().message());
    }
  }
  return out;
}

}  // namespace eragon::sdk
