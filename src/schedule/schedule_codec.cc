#include "schedule/schedule_codec.h"

#include <algorithm>
#include <vector>

#include "core/names.h"
#include "schedule/tick_spec.h"

namespace eragon::schedule {
namespace {

using simdjson::dom::element;

Status Invalid(std::string_view field, std::string_view why) {
  return Status::InvalidArgument(std::string(field) + ": " + std::string(why));
}

// The string at `key`; "" when absent or null.
Result<std::string> OptionalString(simdjson::dom::object object, std::string_view key) {
  element e;
  if (object.at_key(key).get(e) || e.is_null()) return std::string();
  std::string_view s;
  if (e.get_string().get(s)) return Invalid(key, "must be a string");
  return std::string(s);
}

Result<std::string> RequiredString(simdjson::dom::object object, std::string_view key) {
  element e;
  if (object.at_key(key).get(e) || e.is_null()) return Invalid(key, "is required");
  return OptionalString(object, key);
}

// The exact bytes of the first member named "data", found by pairing the DOM's members
// (unescaped keys) with the raw member spans (same order).
Result<std::string> RawData(simdjson::dom::object object, std::string_view body) {
  std::vector<std::pair<std::string_view, std::string_view>> spans =
      RawObjectMembers(TrimJsonWhitespace(body));
  size_t i = 0;
  for (simdjson::dom::key_value_pair kv : object) {
    if (i >= spans.size()) break;
    if (kv.key == "data") return std::string(spans[i].second);
    ++i;
  }
  return Invalid("data", "is required (any JSON value)");
}

}  // namespace

Result<config::Schedule> ParseSchedule(std::string_view body, std::string name) {
  if (!IsValidScheduleName(name)) {
    return Invalid("name", "'" + name + "' must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  }
  ERAGON_ASSIGN_OR_RETURN(element root, ParseJson(body));
  simdjson::dom::object object;
  if (root.get_object().get(object)) return Invalid("body", "must be a JSON object");
  ERAGON_RETURN_IF_ERROR(CheckUniqueKeys(root, "data"));  // data is kept as sent

  config::Schedule s;
  s.name = std::move(name);
  ERAGON_ASSIGN_OR_RETURN(std::string body_name, OptionalString(object, "name"));
  if (!body_name.empty() && body_name != s.name) {
    return Invalid("name", "does not match the path (\"" + s.name + "\")");
  }
  ERAGON_ASSIGN_OR_RETURN(s.event_type, RequiredString(object, "event_type"));
  if (!IsValidEventType(s.event_type)) {
    return Invalid("event_type", "must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  }
  ERAGON_ASSIGN_OR_RETURN(s.entity_id, RequiredString(object, "entity_id"));
  ERAGON_RETURN_IF_ERROR(ValidateEntityId(s.entity_id));
  ERAGON_ASSIGN_OR_RETURN(s.data, RawData(object, body));
  if (s.data.size() > kMaxScheduleDataBytes) {
    return Invalid("data", "is " + std::to_string(s.data.size()) + " bytes; at most " +
                               std::to_string(kMaxScheduleDataBytes));
  }
  ERAGON_ASSIGN_OR_RETURN(s.every, OptionalString(object, "every"));
  ERAGON_ASSIGN_OR_RETURN(s.cron, OptionalString(object, "cron"));
  ERAGON_RETURN_IF_ERROR(TickSpec::Parse(s.every, s.cron).status());
  return s;
}

void ScheduleToJson(const config::Schedule& s, int64_t now_ms, JsonWriter& w) {
  w.BeginObject();
  w.Key("name").String(s.name);
  w.Key("event_type").String(s.event_type);
  w.Key("entity_id").String(s.entity_id);
  w.Key("data").Raw(s.data);
  if (!s.every.empty()) w.Key("every").String(s.every);
  if (!s.cron.empty()) w.Key("cron").String(s.cron);
  w.Key("last_tick_ms").Int(s.last_tick_ms);
  std::optional<int64_t> next;
  if (Result<TickSpec> spec = TickSpec::Parse(s.every, s.cron); spec.ok()) {
    next = spec->NextTick(std::max(now_ms, s.last_tick_ms));
  }
  w.Key("next_tick_ms");
  if (next) {
    w.Int(*next);
  } else {
    w.Null();
  }
  w.Key("created_at").Int(s.created_at);
  w.Key("updated_at").Int(s.updated_at);
  w.EndObject();
}

std::string ScheduleToJson(const config::Schedule& s, int64_t now_ms) {
  std::string out;
  JsonWriter w(&out);
  ScheduleToJson(s, now_ms, w);
  return out;
}

}  // namespace eragon::schedule
