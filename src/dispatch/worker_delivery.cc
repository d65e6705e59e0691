// ConsumerWorker: delivery — push sends and their answers, retries, dead letters, the
// circuit breaker, and pull leases, acks and nacks.
#include <algorithm>
#include <charconv>

#include "dispatch/consumer_worker.h"
#include "dispatch/retry_policy.h"
#include "dispatch/webhook.h"

namespace eragon::dispatch {

namespace {
constexpr int64_t kMaxProbeBackoffMs = 60'000;

// "partition.offset.tag.topic" (Dispatcher::Ack parses it), in one allocation.
void AppendAckId(const SlotKey& key, uint64_t tag, const std::string& topic, std::string* out) {
  char buf[64];
  char* p = std::to_chars(buf, buf + 20, key.partition).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 20, key.offset).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 20, tag).ptr;
  *p++ = '.';
  out->reserve(out->size() + (p - buf) + topic.size());
  out->append(buf, p).append(topic);
}

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
  Fill(lock);
  const int64_t now = ctx_.clock->WallMs();
  ReleaseTimers(now);
  ExpireLeases(now);
  if (circuit_open_) {
    SendProbe(now);
  } else {
    SendReady(now);
  }
  int64_t next = INT64_MAX;
  if (!timers_.empty()) next = std::min(next, timers_.begin()->first);
  if (!leases_.empty()) next = std::min(next, leases_.begin()->first);
  // A probe is due only when there is an event to probe with: a probe time in the past
  // with an empty queue would have the loop pump this worker without pause.
  if (circuit_open_ && !probe_in_flight_ && !ready_.empty()) next = std::min(next, probe_at_);
  if (!ready_.empty() && next_send_ns_ > ctx_.clock->MonoNs()) next = std::min(next, now + 1);
  pump_at_.store(next, std::memory_order_release);
  return next;
}

// Starts pushes for ready events (pull ones move to the pull queue) while the consumer's
// max_in_flight and rate limit allow.
void ConsumerWorker::SendReady(int64_t now) {
  while (!ready_.empty()) {
    SlotKey key = ready_.front();
    Slot* slot = Find(key);
    if (slot == nullptr || slot->state != SlotState::kQueued) {
      ready_.pop_front();
      continue;
    }
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {  // route removed: nothing to deliver any more
      ready_.pop_front();
      Complete(key, *slot);
      continue;
    }
    if (!route->enabled) {  // paused: hold the position, let other routes' events go
      ready_.pop_front();
      paused_.push_back(key);
      continue;
    }
    if (route->type == config::DeliveryType::kPull) {
      ready_.pop_front();
      if (!CheckDedup(key, *slot, *route, now)) continue;
      slot->pull = true;
      pull_ready_.push_back(key);
      continue;
    }
    if (in_flight_ >= route->max_in_flight) break;
    if (route->rate_limit_per_s > 0 && ctx_.clock->MonoNs() < next_send_ns_) break;
    ready_.pop_front();
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
  bool may_probe = !probe_in_flight_ && now >= probe_at_;
  std::deque<SlotKey> held;
  while (!ready_.empty()) {
    SlotKey key = ready_.front();
    ready_.pop_front();
    Slot* slot = Find(key);
    if (slot == nullptr || slot->state != SlotState::kQueued) continue;
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {
      Complete(key, *slot);
    } else if (!route->enabled) {
      paused_.push_back(key);
    } else if (route->type == config::DeliveryType::kPull) {
      slot->pull = true;
      pull_ready_.push_back(key);
    } else if (!may_probe) {
      held.push_back(key);
    } else if (CheckDedup(key, *slot, *route, now)) {
      slot->probe = true;
      probe_in_flight_ = true;
      may_probe = false;
      Send(key, *slot, now);
    }
  }
  ready_ = std::move(held);
}

void ConsumerWorker::Send(const SlotKey& key, Slot& slot, int64_t now) {
  const config::ConsumerRoute& route = *RouteOf(slot);
  if (!slot.probe) ++slot.attempts;
  slot.state = SlotState::kInFlight;
  slot.tag = next_tag_++;
  if (slot.probe) probe_tag_ = slot.tag;
  Result<PushRequest> req =
      BuildPush(*slot.event, route, std::max<uint32_t>(slot.attempts, 1), now);
  if (!req.ok()) {  // cannot be sent at all: dead at once
    slot.last_error = req.status().message();
    if (slot.probe) {
      slot.probe = false;
      probe_in_flight_ = false;
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
    // The probe is identified by its tag, not by its slot: after a replay or seek the
    // slot may be gone or hold another delivery, and the circuit must not wait forever
    // for a probe answer that was already dropped.
    if (probe_in_flight_ && tag == probe_tag_) probe_in_flight_ = false;
    const bool up = ClassifyAnswer(result.status) == AnswerClass::kDelivered;
    if (up) circuit_open_ = false;  // any 2xx: the endpoint is up
    Slot* slot = Find(key);
    if (slot != nullptr && slot->state == SlotState::kInFlight && slot->tag == tag) {
      const int64_t now = ctx_.clock->WallMs();
      const bool probe = slot->probe;
      slot->probe = false;
      slot->last_status = result.status;
      switch (ClassifyAnswer(result.status)) {
        case AnswerClass::kDelivered:
          streak_entities_.clear();
          streak_slots_.clear();
          Deliver(key, *slot, now);
          break;
        case AnswerClass::kRetryable:
          if (probe) {
            probe_backoff_ms_ = std::min(probe_backoff_ms_ * 2, kMaxProbeBackoffMs);
            probe_at_ = now + probe_backoff_ms_;
            slot->state = SlotState::kQueued;
            slot->last_error = ErrorOf(result);
            ready_.push_front(key);
          } else {
            OnRetryable(key, *slot, result.status, ErrorOf(result), result.retry_after_ms, now);
          }
          break;
        case AnswerClass::kDead:
          streak_entities_.clear();
          streak_slots_.clear();
          slot->last_error = ErrorOf(result);
          if (probe) circuit_open_ = false;  // the endpoint answers: it is up
          Dead(key, *slot, now);
          break;
      }
    }
  }
  RequestPump();
}

void ConsumerWorker::OnRetryable(const SlotKey& key, Slot& slot, int32_t status, std::string error,
                                 std::optional<int64_t> retry_after_ms, int64_t now) {
  slot.last_status = status;
  slot.last_error = std::move(error);
  if (circuit_open_) {  // the outage is known: this attempt does not count
    --slot.attempts;
    slot.state = SlotState::kQueued;
    ready_.push_back(key);
    return;
  }
  streak_entities_.insert(slot.event->entity_id);
  streak_slots_.push_back(key);
  if (streak_entities_.size() >= kCircuitEntities) {
    slot.state = SlotState::kQueued;
    ready_.push_back(key);
    OpenCircuit(now);
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
  circuit_open_ = true;
  for (const SlotKey& k : streak_slots_) {
    Slot* s = Find(k);
    if (s == nullptr || s->attempts == 0) continue;
    --s->attempts;
    if (s->state == SlotState::kWaiting) {  // pull it out of its retry wait
      s->state = SlotState::kQueued;
      s->next_at = 0;
      ready_.push_back(k);
    }
    PersistRetrying(k, *s);  // the refund survives a restart
  }
  streak_entities_.clear();
  streak_slots_.clear();
  int64_t initial = 500;
  if (!routes_.empty())
    initial = std::max<int64_t>(1, routes_.begin()->second.retry.initial_backoff_ms);
  probe_backoff_ms_ = initial;
  probe_at_ = now + probe_backoff_ms_;
}

void ConsumerWorker::ScheduleRetry(const SlotKey& key, Slot& slot,
                                   std::optional<int64_t> retry_after_ms, int64_t now) {
  const config::ConsumerRoute* route = RouteOf(slot);
  int64_t delay = route ? RetryDelayMs(route->retry, slot.attempts, retry_after_ms, rng_) : 1000;
  slot.state = SlotState::kWaiting;
  slot.next_at = now + delay;
  slot.tag = next_tag_++;
  timers_.emplace(slot.next_at, std::make_pair(key, slot.tag));
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
  if (at.partition >= parts_.size()) return;
  Partition& part = parts_[at.partition];
  if (at.offset >= part.read_pos && at.offset >= part.state_end) part.state_end = at.offset + 1;
  pending_.PutState(consumer_, topic_name(), at.partition, at.offset, st);
}

// Records the delivery (state, dedup claim, a redriven dead letter's removal) in pending_
// and completes the event. Its dedup key stays held until pending_ is written.
void ConsumerWorker::Deliver(const SlotKey& key, Slot& slot, int64_t now) {
  const config::ConsumerRoute* route = RouteOf(slot);
  if (route != nullptr && route->dedup != config::DedupMode::kNone) {
    pending_.ClaimDedup(consumer_, slot.event->event_type, DedupKey(slot, *route), now,
                        route->dedup_ttl_hours * 3'600'000);
  }
  if (!slot.dedup_hold.empty()) {
    pending_holds_.push_back(std::move(slot.dedup_hold));
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

// ---- pull ----

void ConsumerWorker::ExpireLeases(int64_t now) {
  while (!leases_.empty() && leases_.begin()->first <= now) {
    auto [key, tag] = leases_.begin()->second;
    leases_.erase(leases_.begin());
    Slot* slot = Find(key);
    if (slot == nullptr || slot->state != SlotState::kInFlight || slot->tag != tag) continue;
    slot->last_error = "not acknowledged within the ack timeout";
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {
      Complete(key, *slot);
    } else if (slot->attempts >= route->retry.max_attempts) {
      Dead(key, *slot, now);
    } else {
      slot->state = SlotState::kQueued;
      slot->next_at = now;
      PersistRetrying(key, *slot);
      pull_ready_.push_back(key);
    }
  }
}

bool ConsumerWorker::HasPullReady() {
  std::lock_guard lock(mu_);
  return !pull_ready_.empty();
}

void ConsumerWorker::Fetch(size_t max, int64_t ack_timeout_ms, std::vector<PulledMessage>* out) {
  std::lock_guard lock(mu_);
  const int64_t now = ctx_.clock->WallMs();
  while (!pull_ready_.empty() && out->size() < max) {
    SlotKey key = pull_ready_.front();
    pull_ready_.pop_front();
    Slot* slot = Find(key);
    if (slot == nullptr || slot->state != SlotState::kQueued) continue;
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {
      Complete(key, *slot);
      continue;
    }
    if (!route->enabled) {  // held until the route is enabled again (SetRoutes)
      paused_.push_back(key);
      continue;
    }
    if (route->type != config::DeliveryType::kPull) {  // the route became http
      slot->pull = false;
      ready_.push_back(key);
      continue;
    }
    if (!CheckDedup(key, *slot, *route, now)) continue;
    ++slot->attempts;
    slot->state = SlotState::kInFlight;
    slot->tag = next_tag_++;
    leases_.emplace(now + ack_timeout_ms, std::make_pair(key, slot->tag));
    PulledMessage& m = out->emplace_back();
    AppendAckId(key, slot->tag, topic_name(), &m.ack_id);
    m.attempt = slot->attempts;
    m.event = slot->event;
  }
}

bool ConsumerWorker::Ack(uint32_t partition, uint64_t offset, uint64_t tag) {
  const AckRef a{partition, offset, tag};
  return AckMany({&a, 1}) == 1;
}

size_t ConsumerWorker::AckMany(std::span<const AckRef> acks) {
  std::lock_guard lock(mu_);
  const int64_t now = ctx_.clock->WallMs();
  size_t acked = 0;
  for (const AckRef& a : acks) {
    SlotKey key{a.partition, a.offset};
    Slot* slot = Find(key);
    if (slot == nullptr || slot->state != SlotState::kInFlight || slot->tag != a.tag) continue;
    slot->last_status = 200;
    Deliver(key, *slot, now);
    ++acked;
  }
  return acked;
}

// The acks (and everything pending before them, in order) are fsynced before the caller
// answers; the window moved, so the next Pump may read more. The write happens under the
// mutex (in order with every other change of this worker); the fsync does not: once the
// batch is in the WAL, any fsync that starts later covers it, whoever asks for it.
Status ConsumerWorker::FlushAcks() {
  Status st;
  {
    std::lock_guard lock(mu_);
    // A Pump may have written the acks already, without fsync: the sync below covers them.
    st = FlushPending(/*sync=*/false);
  }
  RequestPump();
  if (!st.ok()) return st;
  return ctx_.store->Sync();
}

bool ConsumerWorker::Nack(uint32_t partition, uint64_t offset, uint64_t tag, int64_t delay_ms) {
  {
    std::lock_guard lock(mu_);
    SlotKey key{partition, offset};
    Slot* slot = Find(key);
    if (slot == nullptr || slot->state != SlotState::kInFlight || slot->tag != tag) return false;
    const int64_t now = ctx_.clock->WallMs();
    slot->last_error = "nacked";
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {
      Complete(key, *slot);
    } else if (slot->attempts >= route->retry.max_attempts) {
      Dead(key, *slot, now);
    } else {
      slot->next_at = now + std::max<int64_t>(0, delay_ms);
      PersistRetrying(key, *slot);
      MakeEligible(key, *slot);
      if (slot->state == SlotState::kQueued) {  // no delay: back to the front of the pull queue
        ready_.pop_back();
        pull_ready_.push_front(key);
      }
    }
  }
  RequestPump();
  return true;
}

}  // namespace eragon::dispatch
