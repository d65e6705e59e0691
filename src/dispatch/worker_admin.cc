// ConsumerWorker: the admin operations — replay, seek, redrive — and what the API shows
// of a worker (an event's state, stats).
#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "dispatch/consumer_worker.h"

namespace eragon::dispatch {

void ConsumerWorker::ResetWindow() {
  window_.Clear();
  dedup_.ClearHolders();
  retry_.Clear();
  leases_.Clear();
  // Redriven dead letters are not part of the window: the queues and timers just cleared
  // held some of them, so make those eligible again (a push in flight keeps its answer;
  // a pull lease is dropped: a new tag makes its ack id stale and it is fetched again).
  for (auto& [id, slot] : window_.redrives()) {
    if (slot.state == SlotState::kInFlight && !slot.pull) continue;
    slot.tag = window_.NewTag();
    MakeEligible({kRedrivePartition, id}, slot);
  }
}

// The partitions a replay or seek moves: all of them; in cluster mode those this node
// owns now (each node moves its own, API.md "Running a cluster").
std::vector<uint32_t> ConsumerWorker::MovablePartitions() const {
  std::vector<uint32_t> out;
  for (uint32_t p = 0; p < window_.partitions(); ++p) {
    if (!split_ || owned_[p] == kOwned) out.push_back(p);
  }
  return out;
}

Status ConsumerWorker::Replay(int64_t from_ms, bool ignore_dedup, Moved* moved) {
  std::lock_guard lock(mu_);
  const std::vector<uint32_t> parts = MovablePartitions();
  std::vector<uint64_t> to(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    ERAGON_ASSIGN_OR_RETURN(to[i], ctx_.topic->OffsetForTime(parts[i], from_ms));
  }
  FlushPending(false).ok();  // before RemoveStates: a later write would bring states back
  ResetWindow();
  for (size_t i = 0; i < parts.size(); ++i) {
    PartitionWindow& part = window_.partition(parts[i]);
    uint64_t old_read = part.read_pos;
    if (to[i] < old_read) {
      ERAGON_RETURN_IF_ERROR(
          ctx_.store->RemoveStates(consumer_, topic_name(), parts[i], to[i], old_read));
    }
    part.ignore_dedup_below = ignore_dedup ? std::max(old_read, part.ignore_dedup_below) : 0;
    window_.StartAt(parts[i], to[i]);
  }
  if (moved != nullptr) *moved = {parts.size(), window_.partitions()};
  RequestPump();
  return Status::Ok();
}

Status ConsumerWorker::Seek(int64_t to_ms, Moved* moved) {
  std::lock_guard lock(mu_);
  const std::vector<uint32_t> parts = MovablePartitions();
  std::vector<uint64_t> to(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (to_ms < 0) {
      to[i] = ctx_.topic->DurableEnd(parts[i]);
    } else {
      ERAGON_ASSIGN_OR_RETURN(to[i], ctx_.topic->OffsetForTime(parts[i], to_ms));
    }
  }
  FlushPending(false).ok();  // before RemoveStates: a later write would bring states back
  ResetWindow();
  for (size_t i = 0; i < parts.size(); ++i) {
    PartitionWindow& part = window_.partition(parts[i]);
    uint64_t lo = std::min(part.committed, to[i]);
    uint64_t hi = std::max(part.read_pos, to[i]);
    ERAGON_RETURN_IF_ERROR(ctx_.store->RemoveStates(consumer_, topic_name(), parts[i], lo, hi));
    part.ignore_dedup_below = 0;
    window_.StartAt(parts[i], to[i]);
  }
  if (moved != nullptr) *moved = {parts.size(), window_.partitions()};
  RequestPump();
  return Status::Ok();
}

void ConsumerWorker::RedrivesMarked() {
  std::lock_guard lock(mu_);
  redrives_in_store_ = true;
  LoadRedrives();
  RequestPump();
}

// Tops the redrives in memory up to kMaxRedrivesInMemory from the store's marks (in mark
// order, skipping those already here). The pending batch is written first: a redrive that
// ended has removed its mark there, and must not be loaded again.
void ConsumerWorker::LoadRedrives() {
  if (window_.redrives().size() >= kMaxRedrivesInMemory / 2) return;
  if (!pending_.empty() && !FlushPending(false).ok()) return;  // try again next pump
  // Cluster mode: the redrives of the events in the partitions this node delivers (the
  // marks name them); none while it delivers none.
  std::vector<uint32_t> owned;
  if (split_) {
    for (uint32_t p = 0; p < window_.partitions(); ++p) {
      if (owned_[p] == kOwned) owned.push_back(p);
    }
    if (owned.empty()) return;
  }
  std::unordered_set<std::string_view> held;
  for (const auto& [id, slot] : window_.redrives()) held.insert(slot.dead_key);
  const size_t limit = kMaxRedrivesInMemory + held.size();
  std::vector<DeadLetter> page =
      ctx_.store->ListRedrives(consumer_, topic_name(), limit, split_ ? &owned : nullptr);
  redrives_in_store_ = page.size() >= limit;
  std::vector<DeadLetter> fresh;
  for (DeadLetter& d : page) {
    if (held.count(d.key) == 0 && held.size() + fresh.size() < kMaxRedrivesInMemory) {
      fresh.push_back(std::move(d));
    }
  }
  if (fresh.size() + held.size() >= kMaxRedrivesInMemory) redrives_in_store_ = true;
  AddRedrives(std::move(fresh));
}

void ConsumerWorker::AddRedrives(std::vector<DeadLetter> dead) {
  for (DeadLetter& d : dead) {
    Slot slot;
    slot.event = std::make_shared<const Event>(std::move(d.event));
    slot.ignore_dedup = true;
    slot.dead_key = d.key;
    if (d.topic == topic_name()) slot.origin = {d.partition, d.offset};
    const SlotKey key = window_.AddRedrive(std::move(slot));
    MakeEligible(key, *window_.Find(key));
  }
}

std::optional<DeliveryState> ConsumerWorker::StateOf(uint32_t partition, uint64_t offset) {
  std::lock_guard lock(mu_);
  FlushPending(false).ok();  // a finished event's state may still be pending
  // In a cluster the window only knows the partitions this node delivers: another
  // node's share is answered from the shared store.
  if (partition < window_.partitions() && Delivers(partition)) {
    PartitionWindow& part = window_.partition(partition);
    auto it = part.slots.find(offset);
    if (it != part.slots.end()) {
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
  s.circuit_open = retry_.circuit_open();
  s.window = window_.size();
  s.redrives = window_.redrives().size();
  for (uint32_t p = 0; p < window_.partitions(); ++p) {
    if (!Delivers(p)) continue;  // cluster mode: another node's share
    uint64_t end = ctx_.topic->DurableEnd(p);
    const uint64_t committed = window_.partition(p).committed;
    if (end > committed) s.lag_events += end - committed;
  }
  const int64_t oldest = window_.OldestLogTs();
  if (oldest != INT64_MAX) s.lag_ms = std::max<int64_t>(0, ctx_.clock->WallMs() - oldest);
  return s;
}

void ConsumerWorker::RecordAttempt(const SlotKey& key, const Slot& slot, AttemptKind kind,
                                   int32_t status, std::string_view error, int64_t now) {
  if (!ctx_.record_attempts) return;
  const SlotKey at = key.partition == kRedrivePartition ? slot.origin : key;
  if (at.partition == kRedrivePartition) return;  // a dead letter without a log position
  AttemptFields r;
  r.kind = kind;
  r.attempt = std::max<uint32_t>(slot.attempts, 1);
  const bool sent = kind == AttemptKind::kPush || kind == AttemptKind::kProbe;
  r.at = sent ? slot.sent_ms : now;
  r.duration_ms = kind == AttemptKind::kFetch ? 0 : std::max<int64_t>(0, now - slot.sent_ms);
  r.status = status;
  r.error = error;
  if (ctx_.node != nullptr) r.node = *ctx_.node;
  attempts_.AddAttempt(consumer_, topic_name(), at.partition, at.offset, r);
}

std::vector<AttemptRecord> ConsumerWorker::AttemptsOf(uint32_t partition, uint64_t offset) {
  {
    std::lock_guard lock(mu_);
    FlushPending(false, /*with_attempts=*/true).ok();  // the latest may not be written
  }
  return ctx_.store->Attempts(consumer_, topic_name(), partition, offset);
}

// Retention removes whole segments from a partition's start: the histories of the
// offsets below the new start go with them (one range delete per partition that moved).
void ConsumerWorker::SweepAttempts() {
  std::lock_guard lock(mu_);
  if (!initialized_) return;
  FlushPending(false, /*with_attempts=*/true).ok();  // none may land behind the sweep
  attempts_swept_.resize(window_.partitions(), 0);
  for (uint32_t p = 0; p < window_.partitions(); ++p) {
    const uint64_t start = ctx_.topic->StartOffset(p);
    if (start <= attempts_swept_[p]) continue;
    if (ctx_.store->RemoveAttempts(consumer_, topic_name(), p, attempts_swept_[p], start).ok()) {
      attempts_swept_[p] = start;
    }
  }
}

}  // namespace eragon::dispatch
