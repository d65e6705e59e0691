// ConsumerWorker: push delivery — the pump, sends and their answers, retries, dead
// letters and the circuit breaker (RetryScheduler holds its state).
#include <algorithm>

#include "dispatch/consumer_worker.h"
#include "dispatch/retry_policy.h"
#include "dispatch/webhook.h"

namespace eragon::dispatch {

namespace {
std::string ErrorOf(const PushResult& r) {
  if (!r.error.empty()) return r.error;
  std::string e = "HTTP " + std::to_string(r.status);
  if (!r.body_prefix.empty()) e += ": " + r.body_prefix.substr(0, 200);
  return e;
}
}  // namespace

int64_t ConsumerWorker::Pump() {
  dirty_.store(false, std::memory_order_release);
  std::unique_lock lock(mu_);
  if (!initialized_) return INT64_MAX;
  FlushPending(false).ok();
  // Cluster mode: redrives marked through another node (or left by a node that died) for
  // the partitions this node delivers are looked for every kRedriveCheckMs.
  if (split_ && ctx_.clock->MonoMs() - redrives_checked_ms_ >= kRedriveCheckMs) {
    redrives_checked_ms_ = ctx_.clock->MonoMs();
    redrives_in_store_ = true;
  }
  if (redrives_in_store_) LoadRedrives();
  Fill(lock);
  const int64_t now = ctx_.clock->WallMs();
  ReleaseTimers(now);
  ExpireLeases(now);
  if (draining_) {
    // Stopping: no new pushes; the answers of those out still count.
  } else if (retry_.circuit_open()) {
    SendProbe(now);
  } else {
    SendReady(now);
  }
  const bool have_ready = !window_.ready().empty();
  int64_t next = std::min({retry_.NextTimer(), leases_.NextExpiry(), retry_.ProbeDue(have_ready)});
  if (have_ready && next_send_ns_ > ctx_.clock->MonoNs()) next = std::min(next, now + 1);
  // What this pass changed (a lease expired into a dead letter, a duplicate skipped) is
  // written by the next Pump: ask for it at once, or it would wait for an unrelated wake-up
  // (the next position commit; never, with a clock that stands still).
  // A batch the store refused for want of space is tried again a second later.
  if (!pending_.empty()) next = std::min(next, pending_refused_ ? now + 1000 : now);
  pump_at_.store(next, std::memory_order_release);
  return next;
}

// Starts pushes for ready events (pull ones move to the pull queue) while the consumer's
// max_in_flight and rate limit allow.
void ConsumerWorker::SendReady(int64_t now) {
  std::deque<SlotKey>& ready = window_.ready();
  while (!ready.empty()) {
    SlotKey key = ready.front();
    Slot* slot = window_.Find(key);
    if (slot == nullptr || slot->state != SlotState::kQueued || !Delivers(key.partition)) {
      ready.pop_front();  // a revoking partition's slot waits to be dropped
      continue;
    }
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {  // route removed: nothing to deliver any more
      ready.pop_front();
      Complete(key, *slot);
      continue;
    }
    if (!route->enabled) {  // paused: hold the position, let other routes' events go
      ready.pop_front();
      window_.paused().push_back(key);
      continue;
    }
    if (route->type == config::DeliveryType::kPull) {
      ready.pop_front();
      if (!CheckDedup(key, *slot, *route, now)) continue;
      slot->pull = true;
      window_.pull_ready().push_back(key);
      continue;
    }
    if (in_flight_ >= route->max_in_flight) break;
    if (route->rate_limit_per_s > 0 && ctx_.clock->MonoNs() < next_send_ns_) break;
    ready.pop_front();
    if (!CheckDedup(key, *slot, *route, now)) continue;
    if (route->rate_limit_per_s > 0) {
      int64_t mono = ctx_.clock->MonoNs();
      next_send_ns_ =
          std::max(next_send_ns_, mono - 1'000'000'000) + 1'000'000'000 / route->rate_limit_per_s;
    }
    Send(key, *slot, now);
  }
}

// While the circuit is open: one probe at a time, with backoff, not counted as an attempt.
// The consumer's pull routes on this topic have no endpoint: their events move on to the
// pull queue instead of waiting behind the probe.
void ConsumerWorker::SendProbe(int64_t now) {
  bool may_probe = retry_.MayProbe(now);
  std::deque<SlotKey>& ready = window_.ready();
  std::deque<SlotKey> held;
  while (!ready.empty()) {
    SlotKey key = ready.front();
    ready.pop_front();
    Slot* slot = window_.Find(key);
    if (slot == nullptr || slot->state != SlotState::kQueued || !Delivers(key.partition)) continue;
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {
      Complete(key, *slot);
    } else if (!route->enabled) {
      window_.paused().push_back(key);
    } else if (route->type == config::DeliveryType::kPull) {
      slot->pull = true;
      window_.pull_ready().push_back(key);
    } else if (!may_probe) {
      held.push_back(key);
    } else if (CheckDedup(key, *slot, *route, now)) {
      slot->probe = true;
      may_probe = false;
      Send(key, *slot, now);
    }
  }
  ready = std::move(held);
}

void ConsumerWorker::Send(const SlotKey& key, Slot& slot, int64_t now) {
  const config::ConsumerRoute& route = *RouteOf(slot);
  if (!slot.probe) ++slot.attempts;
  slot.state = SlotState::kInFlight;
  slot.tag = window_.NewTag();
  slot.sent_ms = now;
  if (slot.probe) retry_.ProbeSent(slot.tag);
  Result<PushRequest> req =
      BuildPush(*slot.event, route, std::max<uint32_t>(slot.attempts, 1), now);
  if (!req.ok()) {  // cannot be sent at all: dead at once
    slot.last_error = req.status().message();
    RecordAttempt(key, slot, slot.probe ? AttemptKind::kProbe : AttemptKind::kPush, 0,
                  slot.last_error, now);
    if (slot.probe) {
      slot.probe = false;
      retry_.ProbeNotSent();
    }
    Dead(key, slot, now);
    return;
  }
  ++in_flight_;
  std::weak_ptr<ConsumerWorker> weak = weak_from_this();
  uint64_t tag = slot.tag;
  ctx_.push->Send(std::move(*req), [weak, key, tag](PushResult r) {
    if (auto self = weak.lock()) self->OnPushDone(key, tag, std::move(r));
  });
}

void ConsumerWorker::OnPushDone(SlotKey key, uint64_t tag, PushResult result) {
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    const AnswerClass answer = ClassifyAnswer(result.status);
    const bool was_open = retry_.circuit_open();
    // The probe is identified by its tag, not by its slot: after a replay or seek the
    // slot may be gone or hold another delivery, and the circuit must not wait forever
    // for a probe answer that was already dropped. Any 2xx: the endpoint is up.
    retry_.Answered(tag, answer == AnswerClass::kDelivered);
    Slot* slot = window_.Find(key);
    if (slot != nullptr && slot->state == SlotState::kInFlight && slot->tag == tag) {
      const int64_t now = ctx_.clock->WallMs();
      const bool probe = slot->probe;
      slot->probe = false;
      slot->last_status = result.status;
      RecordAttempt(key, *slot, probe ? AttemptKind::kProbe : AttemptKind::kPush, result.status,
                    answer == AnswerClass::kDelivered ? std::string() : ErrorOf(result), now);
      switch (answer) {
        case AnswerClass::kDelivered:
          retry_.EndStreak();
          Deliver(key, *slot, now);
          break;
        case AnswerClass::kRetryable:
          AttemptFailed(*slot, now);
          if (probe) {
            retry_.ProbeFailed(now);
            slot->state = SlotState::kQueued;
            slot->last_error = ErrorOf(result);
            window_.ready().push_front(key);
          } else {
            OnRetryable(key, *slot, result.status, ErrorOf(result), result.retry_after_ms, now);
          }
          break;
        case AnswerClass::kDead:
          retry_.EndStreak();
          slot->last_error = ErrorOf(result);
          AttemptFailed(*slot, now);
          if (probe) retry_.CloseCircuit();  // the endpoint answers: it is up
          Dead(key, *slot, now);
          break;
      }
    }
    if (was_open && !retry_.circuit_open()) ReportCircuit(false, ctx_.clock->WallMs(), "");
  }
  RequestPump();
}

void ConsumerWorker::OnRetryable(const SlotKey& key, Slot& slot, int32_t status, std::string error,
                                 std::optional<int64_t> retry_after_ms, int64_t now) {
  slot.last_status = status;
  slot.last_error = std::move(error);
  if (retry_.circuit_open()) {  // the outage is known: this attempt does not count
    --slot.attempts;
    slot.state = SlotState::kQueued;
    window_.ready().push_back(key);
    return;
  }
  if (retry_.CountFailure(key, slot.event->entity_id)) {
    slot.state = SlotState::kQueued;
    window_.ready().push_back(key);
    OpenCircuit(now);
    ReportCircuit(true, now, slot.last_error);
    return;
  }
  const config::ConsumerRoute* route = RouteOf(slot);
  if (route == nullptr) {  // route removed meanwhile: nothing to deliver any more
    Complete(key, slot);
  } else if (slot.attempts >= route->retry.max_attempts) {
    Dead(key, slot, now);
  } else {
    ScheduleRetry(key, slot, retry_after_ms, now);
  }
}

// Failures on many entities in a row: the endpoint is down, not the events. Refund the
// streak's attempts and hold everything until a probe gets a 2xx.
void ConsumerWorker::OpenCircuit(int64_t now) {
  int64_t initial = 500;
  if (!routes_.empty()) initial = routes_.begin()->second.retry.initial_backoff_ms;
  std::vector<SlotKey> streak;
  retry_.OpenCircuit(now, initial, &streak);
  for (const SlotKey& k : streak) {
    Slot* s = window_.Find(k);
    if (s == nullptr || s->attempts == 0) continue;
    --s->attempts;
    if (s->state == SlotState::kWaiting) {  // pull it out of its retry wait
      s->state = SlotState::kQueued;
      s->next_at = 0;
      window_.ready().push_back(k);
    }
    PersistRetrying(k, *s);  // the refund survives a restart
  }
}

void ConsumerWorker::ScheduleRetry(const SlotKey& key, Slot& slot,
                                   std::optional<int64_t> retry_after_ms, int64_t now) {
  const config::ConsumerRoute* route = RouteOf(slot);
  const int64_t delay =
      retry_.DelayMs(route ? &route->retry : nullptr, slot.attempts, retry_after_ms);
  slot.state = SlotState::kWaiting;
  slot.next_at = now + delay;
  slot.tag = window_.NewTag();
  retry_.Wait(key, slot.tag, slot.next_at);
  PersistRetrying(key, slot);
  Observe("retry");
}

// The retry schedule is durable: a restart resumes with these attempts and this time.
void ConsumerWorker::PersistRetrying(const SlotKey& key, const Slot& slot) {
  if (key.partition == kRedrivePartition) return;
  DeliveryState st;
  st.state = DeliveryStateKind::kRetrying;
  st.attempts = slot.attempts;
  st.last_status = slot.last_status;
  st.last_error = slot.last_error;
  st.next_attempt_at = slot.next_at;
  pending_.PutState(consumer_, topic_name(), key.partition, key.offset, st);
}

// A state for a log position; one ahead of read_pos (a redriven event after a seek back)
// raises state_end, so Admit looks it up when the read gets there.
void ConsumerWorker::PutState(const SlotKey& at, const DeliveryState& st) {
  if (at.partition >= window_.partitions()) return;
  PartitionWindow& part = window_.partition(at.partition);
  if (at.offset >= part.read_pos && at.offset >= part.state_end) part.state_end = at.offset + 1;
  pending_.PutState(consumer_, topic_name(), at.partition, at.offset, st);
}

// Records the delivery (state, dedup claim, a redriven dead letter's removal) in pending_
// and completes the event. Its dedup key stays held until pending_ is written.
void ConsumerWorker::Deliver(const SlotKey& key, Slot& slot, int64_t now) {
  const config::ConsumerRoute* route = RouteOf(slot);
  if (route != nullptr && route->dedup != config::DedupMode::kNone) {
    pending_.ClaimDedup(consumer_, slot.event->event_type,
                        DedupGate::StoreKey(*slot.event, route->dedup), now,
                        route->dedup_ttl_hours * 3'600'000);
  }
  if (!slot.dedup_hold.empty()) {
    dedup_.HoldUntilWritten(std::move(slot.dedup_hold));
    slot.dedup_hold.clear();
  }
  if (key.partition == kRedrivePartition) {
    pending_.RemoveDead(slot.dead_key);
    pending_.UnmarkRedrive(consumer_, topic_name(), slot.dead_key);
  }
  // A redriven event's state is its log position's, so GET /v1/events/{id} shows it.
  const SlotKey at = key.partition == kRedrivePartition ? slot.origin : key;
  if (at.partition != kRedrivePartition) {
    DeliveryState st;
    st.state = DeliveryStateKind::kDelivered;
    st.attempts = std::max<uint32_t>(slot.attempts, 1);
    st.last_status = slot.last_status;
    st.delivered_at = now;
    PutState(at, st);
  }
  Observe("delivered");
  AttemptSucceeded(slot);
  if (ctx_.observer && ctx_.observer->latency && slot.log_ts > 0) {
    ctx_.observer->latency(consumer_, std::max<int64_t>(0, now - slot.log_ts) / 1000.0);
  }
  Complete(key, slot);
}

void ConsumerWorker::Dead(const SlotKey& key, Slot& slot, int64_t now) {
  DeadLetter d;
  d.event = *slot.event;
  d.topic = topic_name();
  const SlotKey at = key.partition == kRedrivePartition ? slot.origin : key;
  d.partition = at.partition;
  d.offset = at.offset;
  d.attempts = slot.attempts;
  d.last_status = slot.last_status;
  d.last_error = slot.last_error;
  d.dead_at = now;
  if (!slot.dead_key.empty()) {
    pending_.RemoveDead(slot.dead_key);
    pending_.UnmarkRedrive(consumer_, topic_name(), slot.dead_key);
  }
  pending_.PutDead(consumer_, d);
  ReportDead(d);
  if (at.partition != kRedrivePartition) {
    DeliveryState st;
    st.state = DeliveryStateKind::kDead;
    st.attempts = slot.attempts;
    st.last_status = slot.last_status;
    st.last_error = slot.last_error;
    PutState(at, st);
  }
  Observe("dead");
  Complete(key, slot);
}

}  // namespace eragon::dispatch
