// Instance <-> SagaInstanceRow (its doc JSON), and the API's instance JSON.
#include <string_view>

#include "saga/saga_instance.h"

namespace eragon::saga {
namespace {

using simdjson::dom::element;

void HistoryToJson(const std::vector<HistoryEntry>& history, JsonWriter& w) {
  w.BeginArray();
  for (const HistoryEntry& h : history) {
    w.BeginObject().Key("step").String(h.step).Key("event_type").String(h.event_type);
    w.Key("event_id").String(h.event_id).Key("at").Int(h.at);
    if (!h.note.empty()) w.Key("note").String(h.note);
    w.EndObject();
  }
  w.EndArray();
}

std::string Str(element e, std::string_view key) {
  std::string_view s;
  if (e[key].get_string().get(s)) return std::string();
  return std::string(s);
}

int64_t Int(element e, std::string_view key) {
  int64_t v = 0;
  if (e[key].get_int64().get(v)) return 0;
  return v;
}

// The raw text of member `key` of the raw object `object`.
std::string_view RawMember(std::string_view object, std::string_view key) {
  for (auto& [k, v] : RawObjectMembers(object)) {
    if (k.size() == key.size() + 2 && k.substr(1, key.size()) == key) return v;
  }
  return {};
}

void ReadDoc(std::string_view doc, element root, Instance* in) {
  in->trigger_data = std::string(RawMember(doc, "trigger"));
  for (auto& [k, v] : RawObjectMembers(RawMember(doc, "replies"))) {
    in->replies.emplace_back(std::string(k.substr(1, k.size() - 2)), std::string(v));
  }
  simdjson::dom::array history;
  if (!root["history"].get_array().get(history)) {
    for (element h : history) {
      in->history.push_back(
          {Str(h, "step"), Str(h, "event_type"), Str(h, "event_id"), Int(h, "at"), Str(h, "note")});
    }
  }
  std::vector<std::string_view> raw_pending = RawArrayElements(RawMember(doc, "pending"));
  for (std::string_view p : raw_pending) {
    PendingEvent e;
    e.data = std::string(RawMember(p, "data"));
    in->pending.push_back(std::move(e));
  }
  simdjson::dom::array pending;
  size_t i = 0;
  if (!root["pending"].get_array().get(pending)) {
    for (element p : pending) {
      if (i >= in->pending.size()) break;
      in->pending[i].id = Str(p, "id");
      in->pending[i].event_type = Str(p, "event_type");
      bool platform = false;
      in->pending[i++].platform = !p["platform"].get_bool().get(platform) && platform;
    }
  }
}

}  // namespace

config::SagaInstanceRow Instance::ToRow() const {
  config::SagaInstanceRow r{
      saga,       id, state, static_cast<int64_t>(step), deadline_ms, !pending.empty(), started_at,
      updated_at, "", ""};
  JsonWriter dw(&r.definition);
  dw.BeginObject().Key("version").Int(version).Key("definition");
  SagaDefToJson(def, dw);
  dw.EndObject();
  JsonWriter w(&r.doc);
  w.BeginObject().Key("trigger").Raw(trigger_data.empty() ? "null" : trigger_data);
  w.Key("replies").BeginObject();
  for (const auto& [name, data] : replies) w.Key(name).Raw(data);
  w.EndObject().Key("history");
  HistoryToJson(history, w);
  w.Key("pending").BeginArray();
  for (const PendingEvent& e : pending) {
    w.BeginObject().Key("id").String(e.id).Key("event_type").String(e.event_type);
    w.Key("platform").Bool(e.platform).Key("data").Raw(e.data).EndObject();
  }
  w.EndArray().EndObject();
  return r;
}

Result<Instance> Instance::FromRow(const config::SagaInstanceRow& r) {
  Instance in;
  in.saga = r.saga;
  in.id = r.id;
  in.state = r.state;
  in.step = static_cast<size_t>(r.step);
  in.deadline_ms = r.deadline_ms;
  in.started_at = r.started_at;
  in.updated_at = r.updated_at;
  {
    ERAGON_ASSIGN_OR_RETURN(element root, ParseJson(r.definition));
    in.version = Int(root, "version");
    std::string_view def = RawMember(TrimJsonWhitespace(r.definition), "definition");
    ERAGON_ASSIGN_OR_RETURN(in.def, ParseSagaDef(def, r.saga));
  }
  ERAGON_ASSIGN_OR_RETURN(element root, ParseJson(r.doc));
  ReadDoc(TrimJsonWhitespace(r.doc), root, &in);
  if (in.def.steps.empty() || in.step >= in.def.steps.size()) {
    return Status::Corruption("saga instance " + r.saga + "/" + r.id + ": step out of range");
  }
  return in;
}

void Instance::ToJson(JsonWriter& w) const {
  w.BeginObject().Key("id").String(id).Key("saga").String(saga).Key("state").String(state);
  w.Key("step").String(def.steps[step].name).Key("version").Int(version);
  w.Key("started_at").Int(started_at).Key("updated_at").Int(updated_at);
  w.Key("deadline_at");
  if (deadline_ms > 0) {
    w.Int(deadline_ms);
  } else {
    w.Null();
  }
  w.Key("history");
  HistoryToJson(history, w);
  w.EndObject();
}

}  // namespace eragon::saga
