// ConsumerWorker in cluster mode: the partitions its consumer group assigns to this node
// (API.md "Running a cluster"; channel::PartitionOwner). Only owned partitions are read,
// pushed and fetched; a revoked one stops starting deliveries, lets those in flight end
// (up to kRevokeWaitMs), reports its contiguous done position for the member to commit
// and forgets its slots. An assigned one starts from the group's position.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "dispatch/consumer_worker.h"

namespace eragon::dispatch {

void ConsumerWorker::SplitWork() {
  std::lock_guard lock(mu_);
  split_ = true;
  owned_.assign(window_.partitions(), kNotOwned);
}

size_t ConsumerWorker::DeliveringPartitions() {
  std::lock_guard lock(mu_);
  if (!split_) return window_.partitions();
  return std::count(owned_.begin(), owned_.end(), kOwned);
}

std::vector<channel::PositionStore::Entry> ConsumerWorker::Assign(
    std::span<const channel::PartitionOwner::Assigned> partitions) {
  std::lock_guard lock(mu_);
  if (!split_) {
    split_ = true;
    owned_.assign(window_.partitions(), kNotOwned);
  }
  for (const channel::PartitionOwner::Assigned& a : partitions) {
    if (a.partition >= window_.partitions()) continue;
    if (!initialized_) {  // the routes (and so the start of a fresh partition) come first
      early_assigned_.push_back(a);
    } else {
      AssignLocked(a);
    }
  }
  RequestPump();
  return {};  // a fresh start is reported by TakeCommitted, through the member
}

// Starts partition a.partition at the group's position, or per the routes' `start` when
// the group has none (that choice is committed with the next positions).
void ConsumerWorker::AssignLocked(const channel::PartitionOwner::Assigned& a) {
  const uint32_t p = a.partition;
  // Kafka in cluster mode fetches only the partitions followed (once per ownership).
  if (owned_[p] != kOwned) ctx_.topic->Follow(p, true);
  DropPartition(p);
  const uint64_t at =
      a.committed ? std::max(*a.committed, ctx_.topic->StartOffset(p)) : FreshStart(p);
  window_.StartAt(p, at);
  PartitionWindow& part = window_.partition(p);
  part.state_end = ctx_.store->StateEnd(consumer_, topic_name(), p, at);
  part.ignore_dedup_below = 0;
  part.last_committed = a.committed ? at : UINT64_MAX;
  owned_[p] = kOwned;
  ++ownership_gen_;
  redrives_in_store_ = true;  // the marks of this partition's events are this node's now
}

void ConsumerWorker::Drain() {
  std::lock_guard lock(mu_);
  draining_ = true;
}

bool ConsumerWorker::PushesInFlight() {
  std::lock_guard lock(mu_);
  return in_flight_ > 0;
}

bool ConsumerWorker::InFlightOn(std::span<const uint32_t> partitions) {
  for (uint32_t p : partitions) {
    if (p >= window_.partitions()) continue;
    for (const auto& [offset, slot] : window_.partition(p).slots) {
      if (slot.state == SlotState::kInFlight) return true;
    }
  }
  return false;
}

std::vector<channel::PositionStore::Entry> ConsumerWorker::Revoke(
    std::span<const uint32_t> partitions, bool lost) {
  std::unique_lock lock(mu_);
  if (!split_) return {};
  std::erase_if(early_assigned_, [&](const channel::PartitionOwner::Assigned& a) {
    return std::find(partitions.begin(), partitions.end(), a.partition) != partitions.end();
  });
  for (uint32_t p : partitions) {
    if (p < window_.partitions() && owned_[p] == kOwned) owned_[p] = kRevoking;
  }
  ++ownership_gen_;
  // Answers still count (and move the position) while the partitions are revoking.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kRevokeWaitMs);
  while (!lost && InFlightOn(partitions) && std::chrono::steady_clock::now() < deadline) {
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    lock.lock();
  }
  if (lost || InFlightOn(partitions)) {  // an operator wants to know why events came twice
    std::fprintf(stderr,
                 "eragond: consumer %s, topic %s: %zu partition(s) %s; deliveries in flight "
                 "on them are delivered again by the next owner\n",
                 consumer_.c_str(), topic_name().c_str(), partitions.size(),
                 lost ? "lost (the group went on without this node's commit)"
                      : "revoked while pushes were still out");
  }
  // The states below the positions handed over are durable before the member commits.
  const bool written = FlushPending(/*sync=*/true, /*with_attempts=*/true).ok();
  std::vector<channel::PositionStore::Entry> out;
  for (uint32_t p : partitions) {
    if (p >= window_.partitions() || owned_[p] != kRevoking) continue;
    PartitionWindow& part = window_.partition(p);
    if (!lost && written) out.push_back({topic_name(), consumer_, p, part.committed});
    DropPartition(p);
    part.last_committed = part.committed;
    owned_[p] = kNotOwned;
    ctx_.topic->Follow(p, false);
  }
  ++ownership_gen_;
  return out;
}

void ConsumerWorker::DropPartition(uint32_t p) {
  for (auto& [offset, slot] : window_.partition(p).slots) ReleaseDedup(slot);
  window_.DropPartition(p);
}

}  // namespace eragon::dispatch
