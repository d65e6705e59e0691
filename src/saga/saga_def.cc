#include "saga/saga_def.h"

#include <map>

#include "core/names.h"

namespace eragon::saga {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

Status Invalid(const std::string& field, std::string_view why) {
  return Status::InvalidArgument(field + ": " + std::string(why));
}

Result<std::string> TypeField(object o, const std::string& key, const std::string& field,
                              bool required) {
  element e;
  if (o.at_key(key).get(e) || e.is_null()) {
    if (required) return Invalid(field, "is required");
    return std::string();
  }
  std::string_view s;
  if (e.get_string().get(s)) return Invalid(field, "must be a string");
  if (!IsValidEventType(s)) return Invalid(field, "must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  return std::string(s);
}

Result<std::vector<std::string>> TypeList(object o, const std::string& key,
                                          const std::string& field, bool required) {
  element e;
  std::vector<std::string> out;
  if (o.at_key(key).get(e) || e.is_null()) {
    if (required) return Invalid(field, "is required (a non-empty list of event types)");
    return out;
  }
  simdjson::dom::array a;
  if (e.get_array().get(a)) return Invalid(field, "must be a list of event types");
  for (element item : a) {
    std::string_view s;
    if (item.get_string().get(s) || !IsValidEventType(s)) {
      return Invalid(field, "must be a list of event types matching ^[a-z0-9][a-z0-9_.-]{0,127}$");
    }
    out.emplace_back(s);
  }
  if (required && out.empty()) return Invalid(field, "must name at least one event type");
  return out;
}

Result<SagaStep> ParseStep(element e, const std::string& at) {
  object o;
  if (e.get_object().get(o)) return Invalid(at, "must be an object");
  SagaStep s;
  element name;
  std::string_view n;
  if (o.at_key("name").get(name) || name.get_string().get(n)) {
    return Invalid(at + ".name", "is required (a string)");
  }
  if (!IsValidEventType(n) || n.size() > 64) {
    return Invalid(at + ".name", "must match ^[a-z0-9][a-z0-9_.-]{0,63}$");
  }
  s.name = std::string(n);
  ERAGON_ASSIGN_OR_RETURN(s.command, TypeField(o, "command", at + ".command", true));
  ERAGON_ASSIGN_OR_RETURN(s.success, TypeList(o, "success", at + ".success", true));
  ERAGON_ASSIGN_OR_RETURN(s.failure, TypeList(o, "failure", at + ".failure", false));
  ERAGON_ASSIGN_OR_RETURN(s.compensation,
                          TypeField(o, "compensation", at + ".compensation", false));
  element t;
  if (!o.at_key("timeout_ms").get(t) && !t.is_null()) {
    int64_t ms = 0;
    if (t.get_int64().get(ms) || ms < 1 || ms > kMaxStepTimeoutMs) {
      return Invalid(at + ".timeout_ms",
                     "must be an integer from 1 to " + std::to_string(kMaxStepTimeoutMs));
    }
    s.timeout_ms = ms;
  }
  return s;
}

Result<std::vector<SagaStep>> ParseSteps(object o) {
  element e;
  simdjson::dom::array a;
  if (o.at_key("steps").get(e) || e.get_array().get(a) || a.size() == 0) {
    return Invalid("steps", "is required (a non-empty list of steps)");
  }
  if (a.size() > kMaxSteps) return Invalid("steps", "at most 64 steps");
  std::vector<SagaStep> steps;
  std::set<std::string> names;
  for (element item : a) {
    const std::string at = "steps[" + std::to_string(steps.size()) + "]";
    ERAGON_ASSIGN_OR_RETURN(SagaStep s, ParseStep(item, at));
    if (!names.insert(s.name).second) {
      return Invalid(at + ".name", "'" + s.name + "' names two steps");
    }
    steps.push_back(std::move(s));
  }
  return steps;
}

// A published type that the saga also consumes would feed its own events back into it.
Status CheckNoCycle(const SagaDef& d) {
  std::map<std::string, std::string> consumed{{d.trigger, "trigger"}};
  for (size_t i = 0; i < d.steps.size(); ++i) {
    const std::string at = "steps[" + std::to_string(i) + "]";
    for (const std::string& t : d.steps[i].success) consumed.emplace(t, at + ".success");
    for (const std::string& t : d.steps[i].failure) consumed.emplace(t, at + ".failure");
  }
  auto check = [&](const std::string& type, const std::string& field) -> Status {
    auto it = consumed.find(type);
    if (it == consumed.end()) return Status::Ok();
    return Invalid(field,
                   "'" + type + "' is also consumed by the saga (" + it->second + "): a cycle");
  };
  for (size_t i = 0; i < d.steps.size(); ++i) {
    const std::string at = "steps[" + std::to_string(i) + "]";
    ERAGON_RETURN_IF_ERROR(check(d.steps[i].command, at + ".command"));
    if (!d.steps[i].compensation.empty()) {
      ERAGON_RETURN_IF_ERROR(check(d.steps[i].compensation, at + ".compensation"));
    }
  }
  ERAGON_RETURN_IF_ERROR(check(d.completed, "completed"));
  return check(d.failed, "failed");
}

void TypeArray(JsonWriter& w, const std::vector<std::string>& types) {
  w.BeginArray();
  for (const std::string& t : types) w.String(t);
  w.EndArray();
}

}  // namespace

std::set<std::string> SagaDef::PublishedTypes() const {
  std::set<std::string> out{completed, failed};
  for (const SagaStep& s : steps) {
    out.insert(s.command);
    if (!s.compensation.empty()) out.insert(s.compensation);
  }
  return out;
}

std::set<std::string> SagaDef::ReplyTypes() const {
  std::set<std::string> out;
  for (const SagaStep& s : steps) {
    out.insert(s.success.begin(), s.success.end());
    out.insert(s.failure.begin(), s.failure.end());
  }
  return out;
}

bool IsValidSagaName(std::string_view name) {
  return name.size() <= 59 && IsValidServiceName(name);
}

Result<SagaDef> ParseSagaDef(std::string_view body, std::string name) {
  if (!IsValidSagaName(name)) {
    return Invalid("name", "'" + name + "' must match ^[a-z0-9][a-z0-9-]{0,58}$");
  }
  ERAGON_ASSIGN_OR_RETURN(element root, ParseJson(body));
  object o;
  if (root.get_object().get(o)) return Invalid("body", "must be a JSON object");
  ERAGON_RETURN_IF_ERROR(CheckUniqueKeys(root));
  SagaDef d;
  d.name = std::move(name);
  element given;
  std::string_view body_name;
  if (!o.at_key("name").get(given) && !given.is_null() &&
      (given.get_string().get(body_name) || body_name != d.name)) {
    return Invalid("name", "does not match the path (\"" + d.name + "\")");
  }
  ERAGON_ASSIGN_OR_RETURN(d.trigger, TypeField(o, "trigger", "trigger", true));
  ERAGON_ASSIGN_OR_RETURN(d.steps, ParseSteps(o));
  ERAGON_ASSIGN_OR_RETURN(d.completed, TypeField(o, "completed", "completed", true));
  ERAGON_ASSIGN_OR_RETURN(d.failed, TypeField(o, "failed", "failed", true));
  ERAGON_RETURN_IF_ERROR(CheckNoCycle(d));
  return d;
}

void SagaDefToJson(const SagaDef& d, JsonWriter& w) {
  w.BeginObject().Key("name").String(d.name).Key("trigger").String(d.trigger);
  w.Key("steps").BeginArray();
  for (const SagaStep& s : d.steps) {
    w.BeginObject().Key("name").String(s.name).Key("command").String(s.command);
    w.Key("success");
    TypeArray(w, s.success);
    w.Key("failure");
    TypeArray(w, s.failure);
    w.Key("compensation");
    if (s.compensation.empty()) {
      w.Null();
    } else {
      w.String(s.compensation);
    }
    w.Key("timeout_ms").Int(s.timeout_ms).EndObject();
  }
  w.EndArray();
  w.Key("completed").String(d.completed).Key("failed").String(d.failed).EndObject();
}

std::string SagaDefToJson(const SagaDef& d) {
  std::string out;
  JsonWriter w(&out);
  SagaDefToJson(d, w);
  return out;
}

}  // namespace eragon::saga
