// SagaEngine: what happens to instances — triggers, replies, timeouts, publishing.
#include <cstdio>

#include "saga/saga_engine.h"

namespace eragon::saga {

Status SagaEngine::Handle(const Event& e) {
  if (auto it = triggers_.find(e.event_type); it != triggers_.end()) {
    for (const Trigger& t : it->second) ERAGON_RETURN_IF_ERROR(StartInstance(t, e));
  }
  if (reply_types_.count(e.event_type) != 0) return ApplyReply(e);
  return Status::Ok();
}

Status SagaEngine::StartInstance(const Trigger& t, const Event& e) {
  ERAGON_ASSIGN_OR_RETURN(auto existing, o_.store->sagas()->GetInstance(t.def.name, e.entity_id));
  if (existing) {
    // One instance per entity id: a redelivered or repeated trigger starts nothing.
    if (existing->doc.find(e.id) == std::string::npos) {
      std::lock_guard lock(mu_);
      ++stats_.triggers_ignored;
    }
    return Status::Ok();
  }
  Instance in = Instance::Start(t.def, t.version, e, o_.clock->WallMs(), o_.install_secret);
  {
    std::lock_guard lock(mu_);
    ++stats_.instances_started;
  }
  return Advance(in);
}

Status SagaEngine::ApplyReply(const Event& e) {
  ERAGON_ASSIGN_OR_RETURN(auto rows, o_.store->sagas()->FindInstances(e.entity_id));
  bool matched = false;
  for (const config::SagaInstanceRow& row : rows) {
    Result<Instance> in = Instance::FromRow(row);
    if (!in.ok()) {
      fprintf(stderr, "eragond: sagas: %s\n", in.status().ToString().c_str());
      continue;
    }
    const ReplyOutcome outcome = in->OnReply(e, o_.clock->WallMs(), o_.install_secret);
    if (outcome == ReplyOutcome::kUnrelated) continue;
    matched = true;
    if (outcome == ReplyOutcome::kSeen) continue;
    {
      std::lock_guard lock(mu_);
      ++(outcome == ReplyOutcome::kApplied ? stats_.replies_applied : stats_.replies_ignored);
    }
    ERAGON_RETURN_IF_ERROR(Advance(*in));
  }
  if (!matched) {
    std::lock_guard lock(mu_);
    ++stats_.replies_unknown_instance;
  }
  return Status::Ok();
}

Status SagaEngine::Advance(Instance& in) {
  ERAGON_RETURN_IF_ERROR(o_.store->sagas()->PutInstance(in.ToRow()));
  FaultPoint("transition stored");
  Track(in);
  return PublishPending(in);
}

Status SagaEngine::PublishPending(Instance& in) {
  const auto key = std::make_pair(in.saga, in.id);
  if (in.pending.empty()) return Status::Ok();
  for (const PendingEvent& p : in.pending) {
    Event e;
    e.id = p.id;
    e.event_type = p.event_type;
    e.entity_id = in.id;
    e.data = p.data;
    Status st = o_.publish(p.platform ? "eragon" : in.def.service(), e);
    if (!st.ok()) {
      // Kept in the store: retried every second (and on restart) until it is stored.
      unpublished_.insert(key);
      return Status::Ok();
    }
    FaultPoint("event published");
  }
  in.pending.clear();
  ERAGON_RETURN_IF_ERROR(o_.store->sagas()->PutInstance(in.ToRow()));
  unpublished_.erase(key);
  FaultPoint("events cleared");
  return Status::Ok();
}

// Publishes the events of every instance that stored some without publishing them (a
// crash, or a failed publish), and learns the deadlines of the running ones.
void SagaEngine::ResumePending() {
  Result<std::vector<config::SagaInstanceRow>> rows = o_.store->sagas()->ListActiveInstances();
  if (!rows.ok()) {
    fprintf(stderr, "eragond: sagas: %s\n", rows.status().ToString().c_str());
    return;
  }
  for (const config::SagaInstanceRow& row : *rows) {
    Result<Instance> in = Instance::FromRow(row);
    if (!in.ok()) {
      fprintf(stderr, "eragond: sagas: %s\n", in.status().ToString().c_str());
      continue;
    }
    Track(*in);
    if (Status st = PublishPending(*in); !st.ok()) {
      fprintf(stderr, "eragond: sagas: %s\n", st.ToString().c_str());
    }
  }
}

void SagaEngine::Track(const Instance& in) {
  const auto key = std::make_pair(in.saga, in.id);
  if (in.running() && in.deadline_ms > 0) {
    deadlines_[key] = in.deadline_ms;
  } else {
    deadlines_.erase(key);
  }
}

void SagaEngine::FireTimeouts() {
  const int64_t now = o_.clock->WallMs();
  std::vector<std::pair<std::string, std::string>> due;
  for (const auto& [key, deadline] : deadlines_) {
    if (deadline <= now) due.push_back(key);
  }
  for (const auto& [saga, id] : due) {
    deadlines_.erase({saga, id});
    auto row = o_.store->sagas()->GetInstance(saga, id);
    if (!row.ok() || !*row) continue;
    Result<Instance> in = Instance::FromRow(**row);
    if (!in.ok() || !in->OnTimeout(now, o_.install_secret)) {
      if (in.ok()) Track(*in);
      continue;
    }
    {
      std::lock_guard lock(mu_);
      ++stats_.timeouts;
    }
    if (Status st = Advance(*in); !st.ok()) {
      deadlines_[{saga, id}] = now;  // the store failed: try again
      fprintf(stderr, "eragond: sagas: timeout of %s/%s: %s\n", saga.c_str(), id.c_str(),
              st.ToString().c_str());
    }
  }
}

}  // namespace eragon::saga
