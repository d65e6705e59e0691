// ConsumerWorker: reading the log into the window, eligibility, completion, positions and
// the admin operations (replay, seek, redrive). Delivery itself is in worker_delivery.cc.
#include "dispatch/consumer_worker.h"

#include <algorithm>

namespace eragon::dispatch {

namespace {
constexpr size_t kReadBatch = 512;
constexpr size_t kReadBytes = 4 << 20;
}  // namespace

ConsumerWorker::ConsumerWorker(std::string consumer, bool ordered, WorkerContext ctx)
    : consumer_(std::move(consumer)),
      ordered_(ordered),
      ctx_(std::move(ctx)),
      rng_(std::random_device{}()) {
  parts_.resize(ctx_.topic->partitions());
}

void ConsumerWorker::SetRoutes(std::map<std::string, config::ConsumerRoute> routes) {
  std::lock_guard lock(mu_);
  routes_ = std::move(routes);
  ++routes_gen_;
  if (!initialized_) {
    InitPositions();
    // Redrives requested before a restart go on (the marks are removed when they end).
    AddRedrives(ctx_.store->ListRedrives(consumer_, topic_name()));
    initialized_ = true;
  }
  if (!paused_.empty()) {  // a route may be enabled again: look at them once more
    ready_.insert(ready_.begin(), paused_.begin(), paused_.end());
    paused_.clear();
  }
  RequestPump();
}

void ConsumerWorker::RequestPump() {
  dirty_.store(true, std::memory_order_release);
  if (ctx_.wake) ctx_.wake();
}

// Writes the pending batch, then lets copies waiting for its dedup claims look again. A
// failed write is not retried: those events may be delivered again (at-least-once), and
// the dispatcher does not commit positions past them (its Sync fails too).
Status ConsumerWorker::FlushPending(bool sync) {
  Status st = Status::Ok();
  if (!pending_.empty()) {
    st = ctx_.store->Write(pending_, sync);
    pending_.Clear();
  }
  if (!pending_holds_.empty()) {
    std::vector<std::string> holds = std::move(pending_holds_);
    pending_holds_.clear();
    for (const std::string& hold : holds) ReleaseDedupKey(hold);
  }
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
  std::vector<log::PositionStore::Entry> fresh;
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    std::optional<uint64_t> pos = ctx_.positions->Get(topic_name(), consumer_, p);
    uint64_t start = ctx_.topic->StartOffset(p);
    uint64_t at = pos ? std::max(*pos, start) : FreshStart(p);
    parts_[p].committed = parts_[p].read_pos = at;
    // Only states at or above the position matter: reads start there, and a replay
    // below it removes the states it passes over first.
    parts_[p].state_end = ctx_.store->StateEnd(consumer_, topic_name(), p, at);
    if (!pos) fresh.push_back({topic_name(), consumer_, p, at});
    parts_[p].last_committed = at;
  }
  if (!fresh.empty()) ctx_.positions->Commit(fresh).ok();
}

ConsumerWorker::Slot* ConsumerWorker::Find(const SlotKey& key) {
  if (key.partition == kRedrivePartition) {
    auto it = redrives_.find(key.offset);
    return it == redrives_.end() ? nullptr : &it->second;
  }
  if (key.partition >= parts_.size()) return nullptr;
  auto& w = parts_[key.partition].window;
  auto it = w.find(key.offset);
  return it == w.end() ? nullptr : &it->second;
}

const config::ConsumerRoute* ConsumerWorker::RouteOf(Slot& slot) {
  if (slot.route_gen != routes_gen_) {
    auto it = routes_.find(slot.event->event_type);
    slot.route = it == routes_.end() ? nullptr : &it->second;
    slot.route_gen = routes_gen_;
  }
  return slot.route;
}

std::string ConsumerWorker::DedupKey(const Slot& slot, const config::ConsumerRoute& route) const {
  if (route.dedup == config::DedupMode::kEventId) return "i" + slot.event->id;
  return "e" + slot.event->entity_id;  // entity_event: the type is part of the store key
}

// Reads the log without holding mu_ (a read of a few hundred records of one partition
// scans the records of every partition between them: long enough that fetches and acks
// waiting for the lock would stall behind it). Only the loop thread fills, so nothing else
// moves read_pos forward meanwhile; a replay or seek may move it anywhere, and then the
// records read are dropped and the next pass reads from the new position.
void ConsumerWorker::Fill(std::unique_lock<std::mutex>& lock) {
  std::vector<CachedRecord> recs;
  for (uint32_t p = 0; p < parts_.size() && window_size_ < kMaxWindow; ++p) {
    Partition& part = parts_[p];
    const uint64_t end = ctx_.topic->DurableEnd(p);
    if (part.read_pos < ctx_.topic->StartOffset(p)) {  // retention passed us
      part.read_pos = ctx_.topic->StartOffset(p);
      if (part.window.empty()) part.committed = part.read_pos;
    }
    while (part.read_pos < end && window_size_ < kMaxWindow) {
      const size_t want = std::min<size_t>(kReadBatch, kMaxWindow - window_size_);
      const uint64_t from = part.read_pos;
      recs.clear();
      lock.unlock();
      Status st = ctx_.records->Read(p, from, want, kReadBytes, &recs);
      lock.lock();
      if (part.read_pos != from) break;     // a replay or seek moved it while we read
      if (!st.ok() || recs.empty()) break;  // corruption is reported by the log's reads
      // Only Fill adds to the window, so it still has room for `want`.
      const int64_t now = ctx_.clock->WallMs();
      for (const CachedRecord& rec : recs) {
        if (rec.event) Admit(p, rec, now);
        part.read_pos = rec.offset + 1;
      }
      if (part.window.empty()) part.committed = part.read_pos;
    }
  }
}

// One record read from the log: skipped (not routed, done before a restart, duplicate) or
// added to the window.
void ConsumerWorker::Admit(uint32_t p, const CachedRecord& rec, int64_t now) {
  auto route_it = routes_.find(rec.event->event_type);
  if (route_it == routes_.end()) return;
  const config::ConsumerRoute& route = route_it->second;
  Slot slot;
  slot.route = &route;
  slot.route_gen = routes_gen_;
  slot.log_ts = rec.timestamp_ms;
  slot.ignore_dedup = rec.offset < parts_[p].ignore_dedup_below;
  std::optional<DeliveryState> st;
  if (rec.offset < parts_[p].state_end)
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
      ctx_.store->DedupClaimed(consumer_, slot.event->event_type, DedupKey(slot, route), now)) {
    SkipDuplicate(p, rec.offset);
    return;
  }
  SlotKey key{p, rec.offset};
  auto [it, inserted] = parts_[p].window.emplace(rec.offset, std::move(slot));
  if (!inserted) return;
  ++window_size_;
  if (ordered_) {
    std::deque<SlotKey>& q = entity_queue_[it->second.event->entity_id];
    q.push_back(key);
    if (q.size() > 1) return;  // waits for the entity's earlier events
  }
  MakeEligible(key, it->second);
}

void ConsumerWorker::SkipDuplicate(uint32_t partition, uint64_t offset) {
  DeliveryState st;
  st.state = DeliveryStateKind::kSkippedDuplicate;
  pending_.PutState(consumer_, topic_name(), partition, offset, st);
  Observe("skipped_duplicate");
}

// Right before an event is pushed or leased: a key is claimed only at the 2xx/ack, so two
// copies read before the first is delivered would both pass the check in Admit. The first
// copy holds the key until it is done; later copies park and are checked again then.
// Returns true when the slot may go; otherwise it was skipped (completed) or parked.
bool ConsumerWorker::CheckDedup(const SlotKey& key, Slot& slot, const config::ConsumerRoute& route,
                                int64_t now) {
  if (route.dedup == config::DedupMode::kNone || slot.ignore_dedup || !slot.dedup_hold.empty())
    return true;
  std::string k = slot.event->event_type;
  k.push_back('\0');
  k += DedupKey(slot, route);
  if (auto it = dedup_wait_.find(k); it != dedup_wait_.end()) {
    slot.state = SlotState::kParked;
    it->second.push_back(key);
    return false;
  }
  if (ctx_.store->DedupClaimed(consumer_, slot.event->event_type, DedupKey(slot, route), now)) {
    if (key.partition != kRedrivePartition) SkipDuplicate(key.partition, key.offset);
    Complete(key, slot);
    return false;
  }
  dedup_wait_.emplace(k, std::vector<SlotKey>{});
  slot.dedup_hold = std::move(k);
  return true;
}

// The holder of a dedup key is done: every copy waiting for it is checked again.
void ConsumerWorker::ReleaseDedup(Slot& slot) {
  if (slot.dedup_hold.empty()) return;
  std::string hold = std::move(slot.dedup_hold);
  slot.dedup_hold.clear();
  ReleaseDedupKey(hold);
}

void ConsumerWorker::ReleaseDedupKey(const std::string& hold) {
  auto it = dedup_wait_.find(hold);
  if (it == dedup_wait_.end()) return;
  std::vector<SlotKey> waiting = std::move(it->second);
  dedup_wait_.erase(it);
  for (const SlotKey& k : waiting) {
    if (Slot* s = Find(k); s != nullptr && s->state == SlotState::kParked) {
      s->state = SlotState::kQueued;
      ready_.push_back(k);
    }
  }
}

void ConsumerWorker::MakeEligible(const SlotKey& key, Slot& slot) {
  slot.state = SlotState::kQueued;
  if (slot.next_at > ctx_.clock->WallMs()) {
    slot.state = SlotState::kWaiting;
    slot.tag = next_tag_++;
    timers_.emplace(slot.next_at, std::make_pair(key, slot.tag));
    return;
  }
  ready_.push_back(key);
}

void ConsumerWorker::ReleaseTimers(int64_t now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto [key, tag] = timers_.begin()->second;
    timers_.erase(timers_.begin());
    Slot* slot = Find(key);
    if (slot == nullptr || slot->state != SlotState::kWaiting || slot->tag != tag) continue;
    slot->state = SlotState::kQueued;
    ready_.push_back(key);
  }
}

// A finished event leaves the window; its entity's next event becomes eligible, and the
// partition's committed position moves up to the oldest event still in the window.
void ConsumerWorker::Complete(const SlotKey& key, Slot& slot) {
  ReleaseDedup(slot);
  if (key.partition == kRedrivePartition) {
    redrives_.erase(key.offset);
    return;
  }
  if (ordered_) {
    auto q = entity_queue_.find(slot.event->entity_id);
    if (q != entity_queue_.end()) {
      auto pos = std::find(q->second.begin(), q->second.end(), key);
      if (pos != q->second.end()) q->second.erase(pos);
      if (q->second.empty()) {
        entity_queue_.erase(q);
      } else {
        SlotKey next = q->second.front();
        if (Slot* n = Find(next); n != nullptr && n->state == SlotState::kQueued) {
          MakeEligible(next, *n);
        }
      }
    }
  }
  Partition& part = parts_[key.partition];
  part.window.erase(key.offset);
  --window_size_;
  part.committed = part.window.empty() ? part.read_pos : part.window.begin()->first;
}

std::vector<log::PositionStore::Entry> ConsumerWorker::TakeCommitted() {
  std::lock_guard lock(mu_);
  // The states of every event below the positions reported here are in pending_ or
  // written: write them, so the dispatcher's Sync covers them before the commit.
  FlushPending(false).ok();
  std::vector<log::PositionStore::Entry> out;
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    if (parts_[p].committed == parts_[p].last_committed) continue;
    parts_[p].last_committed = parts_[p].committed;
    out.push_back({topic_name(), consumer_, p, parts_[p].committed});
  }
  return out;
}

void ConsumerWorker::ResetWindow() {
  for (Partition& part : parts_) {
    window_size_ -= part.window.size();
    part.window.clear();
  }
  entity_queue_.clear();
  ready_.clear();
  pull_ready_.clear();
  paused_.clear();
  dedup_wait_.clear();
  timers_.clear();
  leases_.clear();
  streak_entities_.clear();
  streak_slots_.clear();
  // Redriven dead letters are not part of the window: the queues and timers just cleared
  // held some of them, so make those eligible again (a push in flight keeps its answer;
  // a pull lease is dropped: a new tag makes its ack id stale and it is fetched again).
  for (auto& [id, slot] : redrives_) {
    if (slot.state == SlotState::kInFlight && !slot.pull) continue;
    slot.tag = next_tag_++;
    MakeEligible({kRedrivePartition, id}, slot);
  }
}

Status ConsumerWorker::Replay(int64_t from_ms, bool ignore_dedup) {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> to(parts_.size());
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    ERAGON_ASSIGN_OR_RETURN(to[p], ctx_.topic->OffsetForTime(p, from_ms));
  }
  FlushPending(false).ok();  // before RemoveStates: a later write would bring states back
  ResetWindow();
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    Partition& part = parts_[p];
    uint64_t old_read = part.read_pos;
    if (to[p] < old_read) {
      ERAGON_RETURN_IF_ERROR(ctx_.store->RemoveStates(consumer_, topic_name(), p, to[p], old_read));
    }
    part.ignore_dedup_below = ignore_dedup ? std::max(old_read, part.ignore_dedup_below) : 0;
    part.committed = part.read_pos = to[p];
  }
  RequestPump();
  return Status::Ok();
}

Status ConsumerWorker::Seek(int64_t to_ms) {
  std::lock_guard lock(mu_);
  std::vector<uint64_t> to(parts_.size());
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    if (to_ms < 0) {
      to[p] = ctx_.topic->DurableEnd(p);
    } else {
      ERAGON_ASSIGN_OR_RETURN(to[p], ctx_.topic->OffsetForTime(p, to_ms));
    }
  }
  FlushPending(false).ok();  // before RemoveStates: a later write would bring states back
  ResetWindow();
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    Partition& part = parts_[p];
    uint64_t lo = std::min(part.committed, to[p]);
    uint64_t hi = std::max(part.read_pos, to[p]);
    ERAGON_RETURN_IF_ERROR(ctx_.store->RemoveStates(consumer_, topic_name(), p, lo, hi));
    part.ignore_dedup_below = 0;
    part.committed = part.read_pos = to[p];
  }
  RequestPump();
  return Status::Ok();
}

void ConsumerWorker::Redrive(std::vector<DeadLetter> dead) {
  std::lock_guard lock(mu_);
  AddRedrives(std::move(dead));
  RequestPump();
}

void ConsumerWorker::AddRedrives(std::vector<DeadLetter> dead) {
  for (DeadLetter& d : dead) {
    Slot slot;
    slot.event = std::make_shared<const Event>(std::move(d.event));
    slot.ignore_dedup = true;
    slot.dead_key = d.key;
    if (d.topic == topic_name()) slot.origin = {d.partition, d.offset};
    uint64_t id = next_redrive_id_++;
    auto [it, inserted] = redrives_.emplace(id, std::move(slot));
    MakeEligible({kRedrivePartition, id}, it->second);
  }
}

std::optional<DeliveryState> ConsumerWorker::StateOf(uint32_t partition, uint64_t offset) {
  std::lock_guard lock(mu_);
  FlushPending(false).ok();  // a finished event's state may still be pending
  if (partition < parts_.size()) {
    Partition& part = parts_[partition];
    auto it = part.window.find(offset);
    if (it != part.window.end()) {
      const Slot& s = it->second;
      DeliveryState st;
      st.attempts = s.attempts;
      st.last_status = s.last_status;
      st.last_error = s.last_error;
      st.next_attempt_at = s.state == SlotState::kWaiting ? s.next_at : 0;
      st.state = s.state == SlotState::kInFlight ? DeliveryStateKind::kInFlight
                 : s.attempts > 0                ? DeliveryStateKind::kRetrying
                                                 : DeliveryStateKind::kPending;
      return st;
    }
    if (offset >= part.read_pos) return DeliveryState{};  // not read yet: pending
  }
  return ctx_.store->GetState(consumer_, topic_name(), partition, offset);
}

ConsumerWorker::Stats ConsumerWorker::GetStats() {
  std::lock_guard lock(mu_);
  Stats s;
  s.circuit_open = circuit_open_;
  s.window = window_size_;
  int64_t oldest = INT64_MAX;
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    uint64_t end = ctx_.topic->DurableEnd(p);
    if (end > parts_[p].committed) s.lag_events += end - parts_[p].committed;
    if (!parts_[p].window.empty()) {
      oldest = std::min(oldest, parts_[p].window.begin()->second.log_ts);
    }
  }
  if (oldest != INT64_MAX) s.lag_ms = std::max<int64_t>(0, ctx_.clock->WallMs() - oldest);
  return s;
}

void ConsumerWorker::Observe(const char* outcome) {
  if (ctx_.observer && ctx_.observer->outcome) ctx_.observer->outcome(consumer_, outcome);
}

}  // namespace eragon::dispatch
