// ConsumerWorker: pull delivery — fetches lease messages (PullLeases), acks, nacks and
// expired leases.
#include <algorithm>

#include "dispatch/consumer_worker.h"

namespace eragon::dispatch {

void ConsumerWorker::ExpireLeases(int64_t now) {
  SlotKey key;
  uint64_t tag = 0;
  while (leases_.PopExpired(now, &key, &tag)) {
    Slot* slot = window_.Find(key);
    if (!PullLeases::Current(slot, tag)) continue;
    slot->last_error = "not acknowledged within the ack timeout";
    RecordAttempt(key, *slot, AttemptKind::kTimeout, 0, slot->last_error, now);
    if (RetryPull(key, *slot, now, 0)) {
      slot->state = SlotState::kQueued;
      window_.pull_ready().push_back(key);
    }
  }
}

// A pull delivery that failed (its lease expired, or it was nacked): dropped with its
// route, dead after max_attempts, otherwise its retry is recorded (due delay_ms from now)
// and true is returned for the caller to queue it.
bool ConsumerWorker::RetryPull(const SlotKey& key, Slot& slot, int64_t now, int64_t delay_ms) {
  AttemptFailed(slot, now);
  const config::ConsumerRoute* route = RouteOf(slot);
  if (route == nullptr) {
    Complete(key, slot);
    return false;
  }
  if (slot.attempts >= route->retry.max_attempts) {
    Dead(key, slot, now);
    return false;
  }
  slot.next_at = now + std::max<int64_t>(0, delay_ms);
  PersistRetrying(key, slot);
  Observe("retry");
  return true;
}

bool ConsumerWorker::HasPullReady() {
  std::lock_guard lock(mu_);
  return !window_.pull_ready().empty();
}

void ConsumerWorker::Fetch(size_t max, int64_t ack_timeout_ms, std::vector<PulledMessage>* out) {
  std::lock_guard lock(mu_);
  const int64_t now = ctx_.clock->WallMs();
  std::deque<SlotKey>& pull_ready = window_.pull_ready();
  while (!pull_ready.empty() && out->size() < max) {
    SlotKey key = pull_ready.front();
    pull_ready.pop_front();
    Slot* slot = window_.Find(key);
    if (slot == nullptr || slot->state != SlotState::kQueued || !Delivers(key.partition)) continue;
    const config::ConsumerRoute* route = RouteOf(*slot);
    if (route == nullptr) {
      Complete(key, *slot);
      continue;
    }
    if (!route->enabled) {  // held until the route is enabled again (SetRoutes)
      window_.paused().push_back(key);
      continue;
    }
    if (route->type != config::DeliveryType::kPull) {  // the route became http
      slot->pull = false;
      window_.ready().push_back(key);
      continue;
    }
    if (!CheckDedup(key, *slot, *route, now)) continue;
    ++slot->attempts;
    slot->state = SlotState::kInFlight;
    slot->tag = window_.NewTag();
    slot->sent_ms = now;
    RecordAttempt(key, *slot, AttemptKind::kFetch, 0, {}, now);
    leases_.Lease(key, slot->tag, now + ack_timeout_ms);
    PulledMessage& m = out->emplace_back();
    PullLeases::AppendAckId(key, slot->tag, topic_name(), &m.ack_id);
    m.attempt = slot->attempts;
    m.event = slot->event;
  }
}

bool ConsumerWorker::Ack(uint32_t partition, uint64_t offset, uint64_t tag) {
  AckRef a{partition, offset, tag};
  return AckMany({&a, 1}) == 1;
}

size_t ConsumerWorker::AckMany(std::span<AckRef> acks) {
  std::lock_guard lock(mu_);
  const int64_t now = ctx_.clock->WallMs();
  size_t acked = 0;
  for (AckRef& a : acks) {
    SlotKey key{a.partition, a.offset};
    Slot* slot = window_.Find(key);
    if (!PullLeases::Current(slot, a.tag)) continue;
    a.acked = true;
    slot->last_status = 200;
    RecordAttempt(key, *slot, AttemptKind::kAck, 200, {}, now);
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
    st = FlushPending(/*sync=*/false, /*with_attempts=*/true);
  }
  RequestPump();
  if (!st.ok()) return st;
  return ctx_.store->Sync();
}

bool ConsumerWorker::Nack(uint32_t partition, uint64_t offset, uint64_t tag, int64_t delay_ms) {
  {
    std::lock_guard lock(mu_);
    SlotKey key{partition, offset};
    Slot* slot = window_.Find(key);
    if (!PullLeases::Current(slot, tag)) return false;
    const int64_t now = ctx_.clock->WallMs();
    slot->last_error = "nacked";
    RecordAttempt(key, *slot, AttemptKind::kNack, 0, slot->last_error, now);
    if (RetryPull(key, *slot, now, delay_ms)) {
      MakeEligible(key, *slot);
      if (slot->state == SlotState::kQueued) {  // no delay: back to the front of the pull queue
        window_.ready().pop_back();
        window_.pull_ready().push_front(key);
      }
    }
  }
  RequestPump();
  return true;
}

}  // namespace eragon::dispatch
