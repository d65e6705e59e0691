#include "saga/saga_instance.h"

#include <algorithm>

#include "core/uuid.h"

namespace eragon::saga {

Instance Instance::Start(const SagaDef& def, int64_t version, const Event& trigger, int64_t now_ms,
                         const std::string& secret) {
  Instance in;
  in.saga = def.name;
  in.id = trigger.entity_id;
  in.version = version;
  in.def = def;
  in.started_at = now_ms;
  in.trigger_data = trigger.data;
  in.history.push_back({"", trigger.event_type, trigger.id, now_ms, ""});
  in.StartStep(now_ms, secret);
  return in;
}

void Instance::StartStep(int64_t now_ms, const std::string& secret) {
  const SagaStep& s = def.steps[step];
  Queue("command/" + s.name, s.command, s.name, now_ms, secret);
  deadline_ms = now_ms + s.timeout_ms;
  updated_at = now_ms;
}

void Instance::Queue(const std::string& what, const std::string& type, const std::string& step_name,
                     int64_t now_ms, const std::string& secret) {
  PendingEvent e{SagaEventId(secret, saga, id, what), type, OutgoingData(), false};
  history.push_back({step_name, type, e.id, now_ms, ""});
  pending.push_back(std::move(e));
}

bool Instance::Seen(const std::string& event_id) const {
  return std::any_of(history.begin(), history.end(),
                     [&](const HistoryEntry& h) { return h.event_id == event_id; });
}

namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The step of `def` whose success or failure lists `type`, or -1.
int StepReplying(const SagaDef& def, const std::string& type) {
  for (size_t i = 0; i < def.steps.size(); ++i) {
    if (Contains(def.steps[i].success, type) || Contains(def.steps[i].failure, type)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

ReplyOutcome Instance::OnReply(const Event& reply, int64_t now_ms, const std::string& secret) {
  if (Seen(reply.id)) return ReplyOutcome::kSeen;
  if (running()) {
    const SagaStep& s = def.steps[step];
    if (Contains(s.success, reply.event_type)) {
      history.push_back({s.name, reply.event_type, reply.id, now_ms, ""});
      replies.emplace_back(s.name, reply.data);
      if (++step < def.steps.size()) {
        StartStep(now_ms, secret);
      } else {
        step = def.steps.size() - 1;
        state = "completed";
        deadline_ms = 0;
        updated_at = now_ms;
        Queue("completed", def.completed, "", now_ms, secret);
      }
      return ReplyOutcome::kApplied;
    }
    if (Contains(s.failure, reply.event_type)) {
      history.push_back({s.name, reply.event_type, reply.id, now_ms, ""});
      Fail("step '" + s.name + "' failed: " + reply.event_type, now_ms, secret);
      return ReplyOutcome::kApplied;
    }
  }
  const int k = StepReplying(def, reply.event_type);
  if (k < 0) return ReplyOutcome::kUnrelated;
  history.push_back(
      {def.steps[k].name, reply.event_type, reply.id, now_ms, running() ? "duplicate" : "late"});
  updated_at = now_ms;
  return ReplyOutcome::kRecorded;
}

bool Instance::OnTimeout(int64_t now_ms, const std::string& secret) {
  if (!running() || deadline_ms == 0 || now_ms < deadline_ms) return false;
  const SagaStep& s = def.steps[step];
  history.push_back({s.name, "", "", now_ms, "timeout"});
  Fail("step '" + s.name + "' timed out after " + std::to_string(s.timeout_ms) + " ms", now_ms,
       secret);
  return true;
}

void Instance::Fail(const std::string& reason, int64_t now_ms, const std::string& secret) {
  for (size_t k = step; k-- > 0;) {
    const SagaStep& s = def.steps[k];
    if (!s.compensation.empty())
      Queue("compensation/" + s.name, s.compensation, s.name, now_ms, secret);
  }
  Queue("failed", def.failed, "", now_ms, secret);
  std::string data;
  JsonWriter w(&data);
  w.BeginObject().Key("saga").String(saga).Key("instance").String(id);
  w.Key("step").String(def.steps[step].name).Key("reason").String(reason).EndObject();
  // The id src/platform's PlatformEventId(secret, type, "<saga>/<instance>") gives, so the
  // occurrence is one event whichever path reports it.
  const std::string key = std::string("platform/") + kSagaFailedType + "/" + saga + "/" + id;
  pending.push_back({KeyedEventId(secret, key), kSagaFailedType, data, true});
  state = "failed";
  deadline_ms = 0;
  updated_at = now_ms;
}

std::string Instance::OutgoingData() const {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  std::string_view t = TrimJsonWhitespace(trigger_data);
  if (!t.empty() && t.front() == '{') {
    for (auto& [key, value] : RawObjectMembers(t)) {
      if (key == "\"replies\"") continue;
      // Key("") ends `out` with `"":`; that literal becomes the key exactly as sent.
      w.Key("");
      out.resize(out.size() - 3);
      out.append(key).push_back(':');
      w.Raw(value);
    }
  } else {
    w.Key("trigger").Raw(t.empty() ? "null" : t);
  }
  w.Key("replies").BeginObject();
  for (const auto& [step_name, data] : replies) w.Key(step_name).Raw(data);
  w.EndObject().EndObject();
  return out;
}

}  // namespace eragon::saga
