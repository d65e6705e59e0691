// ConsumerWorker: routes and start positions, reading the log into the window, admission,
// eligibility, completion and positions. Delivery is in worker_delivery.cc, pull in
// worker_pull.cc, the admin operations (replay, seek, redrive, state, stats) in
// worker_admin.cc.
#include "dispatch/consumer_worker.h"

#include <algorithm>
#include <random>
#include <utility>

namespace eragon::dispatch {

namespace {
constexpr size_t kReadBatch = 512;
constexpr size_t kReadBytes = 4 << 20;
}  // namespace

ConsumerWorker::ConsumerWorker(std::string consumer, bool ordered, WorkerContext ctx)
    : consumer_(std::move(consumer)),
      ctx_(std::move(ctx)),
      window_(ctx_.topic->partitions(), ordered),
      retry_(std::random_device{}()) {}

void ConsumerWorker::SetRoutes(std::map<std::string, config::ConsumerRoute> routes) {
  std::lock_guard lock(mu_);
  routes_ = std::move(routes);
  ++routes_gen_;
  CompileFilters();
  ForgetStreaks();
  if (!initialized_) {
    if (split_) {  // cluster mode: the group says which partitions, and from where
      for (const auto& a : std::exchange(early_assigned_, {})) AssignLocked(a);
    } else {
      InitPositions();
    }
    // Redrives requested before a restart go on (the marks are removed when they end).
    redrives_in_store_ = true;
    LoadRedrives();
    initialized_ = true;
  }
  window_.Unpause();  // a route may be enabled again: look at them once more
  RequestPump();
}

// Compiles the filters of routes_ whose text changed (the text was validated when the
// route was put; one that no longer compiles delivers every event rather than none).
void ConsumerWorker::CompileFilters() {
  std::map<std::string, std::shared_ptr<const filter::Filter>, std::less<>> next;
  for (const auto& [type, route] : routes_) {
    if (route.filter.empty()) continue;
    auto old = filters_.find(type);
    if (old != filters_.end() && old->second->source() == route.filter) {
      next.emplace(type, old->second);
    } else if (Result<filter::Filter> f = filter::Filter::Compile(route.filter); f.ok()) {
      next.emplace(type, std::make_shared<const filter::Filter>(std::move(*f)));
    }
  }
  filters_ = std::move(next);
}

void ConsumerWorker::RequestPump() {
  dirty_.store(true, std::memory_order_release);
  if (ctx_.wake) ctx_.wake();
}

// Writes the pending batch, then lets copies waiting for its dedup claims look again. A
// batch refused for want of space is kept and tried again by a later Pump (a second
// later: no spinning), so it is written once space is back; any other failed write is not
// retried: those events may be delivered again (at-least-once). Either way the
// dispatcher does not commit positions past them (TakeCommitted reports none).
Status ConsumerWorker::FlushPending(bool sync, bool with_attempts) {
  Status st = Status::Ok();
  if (!attempts_.empty() && (with_attempts || attempts_.bytes() >= kMaxAttemptBytes)) {
    pending_.AppendAttempts(attempts_);
    attempts_.Clear();
  }
  if (!pending_.empty()) {
    st = ctx_.store->Write(pending_, sync);
    // Kept and tried again a second later: a full disk, or a cluster's PostgreSQL out of
    // reach (a dead letter or a dedup claim must not be dropped; positions wait for it).
    pending_refused_ = st.code() == Code::kStorageFull || st.code() == Code::kUnavailable;
    if (!pending_refused_) pending_.Clear();
  }
  if (pending_refused_) return st;  // the dedup claims are not written: copies wait
  dedup_.Written(&parked_);
  RequeueParked();
  return st;
}

// Where a partition without a committed position starts: `earliest` at the first
// retained record; `latest` at the first record published since the route was created,
// not since this worker noticed it (events published right after the route's 201 are
// delivered, however long the dispatcher took to pick the route up).
uint64_t ConsumerWorker::FreshStart(uint32_t p) {
  bool earliest = false;
  int64_t since = INT64_MAX;
  for (const auto& [type, route] : routes_) {
    earliest |= route.start == config::StartAt::kEarliest;
    if (route.created_at > 0) since = std::min(since, route.created_at);
  }
  if (earliest) return ctx_.topic->StartOffset(p);
  if (since != INT64_MAX) {
    Result<uint64_t> at = ctx_.topic->OffsetForTime(p, since);
    if (at.ok()) return *at;
  }
  return ctx_.topic->DurableEnd(p);
}

// Committed positions from the PositionStore; a partition without one starts per the
// routes' `start` (FreshStart) and is committed at once, so a restart keeps that choice.
void ConsumerWorker::InitPositions() {
  std::vector<channel::PositionStore::Entry> fresh;
  for (uint32_t p = 0; p < window_.partitions(); ++p) {
    std::optional<uint64_t> pos = ctx_.positions->Get(topic_name(), consumer_, p);
    uint64_t start = ctx_.topic->StartOffset(p);
    uint64_t at = pos ? std::max(*pos, start) : FreshStart(p);
    window_.StartAt(p, at);
    PartitionWindow& part = window_.partition(p);
    // Only states at or above the position matter: reads start there, and a replay
    // below it removes the states it passes over first.
    part.state_end = ctx_.store->StateEnd(consumer_, topic_name(), p, at);
    if (!pos) fresh.push_back({topic_name(), consumer_, p, at});
    part.last_committed = at;
  }
  if (!fresh.empty()) ctx_.positions->Commit(fresh).ok();
}

const config::ConsumerRoute* ConsumerWorker::RouteOf(Slot& slot) {
  if (slot.route_gen != routes_gen_) {
    auto it = routes_.find(slot.event->event_type);
    slot.route = it == routes_.end() ? nullptr : &it->second;
    slot.route_gen = routes_gen_;
  }
  return slot.route;
}

// Reads the log without holding mu_ (a read of a few hundred records of one partition
// scans the records of every partition between them: long enough that fetches and acks
// waiting for the lock would stall behind it). Only the loop thread fills, so nothing else
// moves read_pos forward meanwhile; a replay or seek may move it anywhere, and then the
// records read are dropped and the next pass reads from the new position.
void ConsumerWorker::Fill(std::unique_lock<std::mutex>& lock) {
  std::vector<CachedRecord> recs;
  for (uint32_t p = 0; p < window_.partitions() && window_.room() > 0; ++p) {
    if (!Delivers(p)) continue;
    PartitionWindow& part = window_.partition(p);
    const uint64_t end = ctx_.topic->DurableEnd(p);
    if (part.read_pos < ctx_.topic->StartOffset(p)) {  // retention passed us
      window_.ReadTo(p, ctx_.topic->StartOffset(p));
    }
    while (part.read_pos < end && window_.room() > 0) {
      const size_t want = std::min<size_t>(kReadBatch, window_.room());
      const uint64_t from = part.read_pos;
      const uint64_t gen = ownership_gen_;
      recs.clear();
      lock.unlock();
      Status st = ctx_.records->Read(p, from, want, kReadBytes, &recs);
      lock.lock();
      // A replay, seek or rebalance moved it while we read.
      if (part.read_pos != from || ownership_gen_ != gen) break;
      if (!st.ok() || recs.empty()) break;  // corruption is reported by the log's reads
      // Only Fill adds to the window, so it still has room for `want`.
      const int64_t now = ctx_.clock->WallMs();
      for (const CachedRecord& rec : recs) {
        if (rec.event) Admit(p, rec, now);
        part.read_pos = rec.offset + 1;
      }
      window_.ReadTo(p, part.read_pos);
    }
  }
  if (filtered_unreported_ > 0) {
    Observe("filtered", filtered_unreported_);
    filtered_unreported_ = 0;
  }
}

// One record read from the log: skipped (not routed, done before a restart, duplicate) or
// added to the window.
void ConsumerWorker::Admit(uint32_t p, const CachedRecord& rec, int64_t now) {
  auto route_it = routes_.find(rec.event->event_type);
  if (route_it == routes_.end()) return;
  const config::ConsumerRoute& route = route_it->second;
  if (!route.filter.empty() && Filtered(route, p, rec)) return;
  const PartitionWindow& part = window_.partition(p);
  Slot slot;
  slot.route = &route;
  slot.route_gen = routes_gen_;
  slot.log_ts = rec.timestamp_ms;
  slot.ignore_dedup = rec.offset < part.ignore_dedup_below;
  std::optional<DeliveryState> st;
  if (rec.offset < part.state_end)
    st = ctx_.store->GetState(consumer_, topic_name(), p, rec.offset);
  if (st) {
    if (st->state != DeliveryStateKind::kRetrying) return;  // finished before a restart
    slot.attempts = st->attempts;
    slot.next_at = st->next_attempt_at;
    slot.last_status = st->last_status;
    slot.last_error = st->last_error;
  }
  slot.event = rec.event;
  // An early check, so duplicates take no window slot; CheckDedup decides before sending.
  if (route.dedup != config::DedupMode::kNone && !slot.ignore_dedup &&
      ctx_.store->DedupClaimed(consumer_, slot.event->event_type,
                               DedupGate::StoreKey(*slot.event, route.dedup), now)) {
    SkipDuplicate(p, rec.offset);
    return;
  }
  bool head = false;
  Slot* added = window_.Add(p, rec.offset, std::move(slot), &head);
  if (added != nullptr && head) MakeEligible({p, rec.offset}, *added);
}

void ConsumerWorker::SkipDuplicate(uint32_t partition, uint64_t offset) {
  DeliveryState st;
  st.state = DeliveryStateKind::kSkippedDuplicate;
  pending_.PutState(consumer_, topic_name(), partition, offset, st);
  Observe("skipped_duplicate");
}

bool ConsumerWorker::Filtered(const config::ConsumerRoute& route, uint32_t partition,
                              const CachedRecord& rec) {
  auto f = filters_.find(route.event_type);
  if (f == filters_.end() || f->second->Matches(*rec.event)) return false;
  if (rec.offset < window_.partition(partition).state_end) {
    std::optional<DeliveryState> old =
        ctx_.store->GetState(consumer_, topic_name(), partition, rec.offset);
    if (old && old->state != DeliveryStateKind::kRetrying) return true;  // done before a restart
  }
  DeliveryState st;
  st.state = DeliveryStateKind::kFiltered;
  pending_.PutState(consumer_, topic_name(), partition, rec.offset, st);
  ++filtered_unreported_;
  return true;
}

// Right before an event is pushed or leased: a key is claimed only at the 2xx/ack, so two
// copies read before the first is delivered would both pass the check in Admit. The first
// copy holds the key until it is done; later copies park and are checked again then.
// Returns true when the slot may go; otherwise it was skipped (completed) or parked.
bool ConsumerWorker::CheckDedup(const SlotKey& key, Slot& slot, const config::ConsumerRoute& route,
                                int64_t now) {
  if (route.dedup == config::DedupMode::kNone || slot.ignore_dedup || !slot.dedup_hold.empty()) {
    return true;
  }
  std::string hold = DedupGate::HoldKey(*slot.event, route.dedup);
  if (dedup_.Park(hold, key)) {
    slot.state = SlotState::kParked;
    return false;
  }
  if (ctx_.store->DedupClaimed(consumer_, slot.event->event_type,
                               DedupGate::StoreKey(*slot.event, route.dedup), now)) {
    if (key.partition != kRedrivePartition) SkipDuplicate(key.partition, key.offset);
    Complete(key, slot);
    return false;
  }
  dedup_.Hold(hold);
  slot.dedup_hold = std::move(hold);
  return true;
}

// The holder of a dedup key is done: every copy waiting for it is checked again.
void ConsumerWorker::ReleaseDedup(Slot& slot) {
  if (slot.dedup_hold.empty()) return;
  std::string hold = std::move(slot.dedup_hold);
  slot.dedup_hold.clear();
  dedup_.Release(hold, &parked_);
  RequeueParked();
}

void ConsumerWorker::RequeueParked() {
  for (const SlotKey& k : parked_) {
    if (Slot* s = window_.Find(k); s != nullptr && s->state == SlotState::kParked) {
      s->state = SlotState::kQueued;
      window_.ready().push_back(k);
    }
  }
  parked_.clear();
}

void ConsumerWorker::MakeEligible(const SlotKey& key, Slot& slot) {
  slot.state = SlotState::kQueued;
  if (slot.next_at > ctx_.clock->WallMs()) {
    slot.state = SlotState::kWaiting;
    slot.tag = window_.NewTag();
    retry_.Wait(key, slot.tag, slot.next_at);
    return;
  }
  window_.ready().push_back(key);
}

void ConsumerWorker::ReleaseTimers(int64_t now) {
  SlotKey key;
  uint64_t tag = 0;
  while (retry_.PopDue(now, &key, &tag)) {
    Slot* slot = window_.Find(key);
    if (slot == nullptr || slot->state != SlotState::kWaiting || slot->tag != tag) continue;
    slot->state = SlotState::kQueued;
    window_.ready().push_back(key);
  }
}

// A finished event leaves the window; its entity's next event becomes eligible, and the
// partition's committed position moves up to the oldest event still in the window.
void ConsumerWorker::Complete(const SlotKey& key, Slot& slot) {
  ReleaseDedup(slot);
  std::optional<SlotKey> next = window_.Remove(key, slot);
  if (!next) return;
  if (Slot* n = window_.Find(*next); n != nullptr && n->state == SlotState::kQueued) {
    MakeEligible(*next, *n);
  }
}

std::vector<channel::PositionStore::Entry> ConsumerWorker::TakeCommitted() {
  std::lock_guard lock(mu_);
  // The states of every event below the positions reported here are in pending_ or
  // written: write them, so the dispatcher's Sync covers them before the commit. Not
  // written (a full disk): no position moves past them.
  if (!FlushPending(false, /*with_attempts=*/true).ok()) return {};
  std::vector<channel::PositionStore::Entry> out;
  for (uint32_t p = 0; p < window_.partitions(); ++p) {
    PartitionWindow& part = window_.partition(p);
    if (part.committed == part.last_committed || !Delivers(p)) continue;
    part.last_committed = part.committed;
    out.push_back({topic_name(), consumer_, p, part.committed});
  }
  return out;
}

void ConsumerWorker::Observe(const char* outcome, uint64_t count) {
  if (ctx_.observer && ctx_.observer->outcome) ctx_.observer->outcome(consumer_, outcome, count);
}

}  // namespace eragon::dispatch
