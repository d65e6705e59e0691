#include "sdk/kafka_offsets.h"

#include <chrono>

namespace eragon::sdk {

PartitionPtr KafkaOffsets::Assign(int32_t partition) {
  std::lock_guard lock(mu_);
  PartitionPtr& p = assigned_[partition];
  if (p == nullptr || p->revoked) p = std::make_shared<PartitionState>(partition);
  return p;
}

std::vector<PartitionPtr> KafkaOffsets::Assigned() const {
  std::lock_guard lock(mu_);
  std::vector<PartitionPtr> out;
  for (const auto& [partition, p] : assigned_) out.push_back(p);
  return out;
}

PartitionPtr KafkaOffsets::Find(int32_t partition) const {
  std::lock_guard lock(mu_);
  auto it = assigned_.find(partition);
  return it == assigned_.end() ? nullptr : it->second;
}

void KafkaOffsets::Received(PartitionState& p, int64_t offset) {
  std::lock_guard lock(mu_);
  p.pending.emplace(offset, false);
}

void KafkaOffsets::Finish(PartitionState& p, int64_t offset) {
  std::lock_guard lock(mu_);
  MarkDone(p, offset);
}

void KafkaOffsets::ReachedEnd(PartitionState& p, int64_t end) {
  std::lock_guard lock(mu_);
  if (end > p.end) p.end = end;
  if (p.pending.empty() && p.end > p.commit_to) p.commit_to = p.end;
}

void KafkaOffsets::MarkDone(PartitionState& p, int64_t offset) {
  auto it = p.pending.find(offset);
  if (it == p.pending.end()) return;
  it->second = true;
  // Records of a partition are received in offset order: the map's front is the oldest
  // not yet committed; advance over every done one.
  while (!p.pending.empty() && p.pending.begin()->second) {
    p.commit_to = p.pending.begin()->first + 1;
    p.pending.erase(p.pending.begin());
  }
  if (p.pending.empty() && p.end > p.commit_to) p.commit_to = p.end;
}

bool KafkaOffsets::BeginRun(PartitionState& p) {
  std::lock_guard lock(mu_);
  if (p.revoked || stopping_) return false;
  ++p.running;
  return true;
}

void KafkaOffsets::EndRun(PartitionState& p, int64_t offset, bool done) {
  std::lock_guard lock(mu_);
  if (done) MarkDone(p, offset);
  --p.running;
  cv_.notify_all();
}

bool KafkaOffsets::WaitBeforeRetry(PartitionState& p, int64_t ms) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return p.revoked || stopping_; });
}

std::vector<PartitionOffset> KafkaOffsets::Revoke(const std::vector<int32_t>& partitions) {
  std::unique_lock lock(mu_);
  std::vector<PartitionPtr> gone;
  for (int32_t partition : partitions) {
    auto it = assigned_.find(partition);
    if (it == assigned_.end()) continue;
    it->second->revoked = true;
    gone.push_back(it->second);
    assigned_.erase(it);
  }
  cv_.notify_all();  // retry sleeps of these partitions end now
  cv_.wait(lock, [&] {
    for (const PartitionPtr& p : gone) {
      if (p->running > 0) return false;
    }
    return true;
  });
  std::vector<PartitionOffset> out;
  for (const PartitionPtr& p : gone) {
    if (p->commit_to > p->committed) out.emplace_back(p->partition, p->commit_to);
  }
  return out;
}

std::vector<PartitionOffset> KafkaOffsets::ToCommit() const {
  std::lock_guard lock(mu_);
  std::vector<PartitionOffset> out;
  for (const auto& [partition, p] : assigned_) {
    if (p->commit_to > p->committed) out.emplace_back(partition, p->commit_to);
  }
  return out;
}

void KafkaOffsets::Committed(const std::vector<PartitionOffset>& offsets) {
  std::lock_guard lock(mu_);
  for (const auto& [partition, offset] : offsets) {
    auto it = assigned_.find(partition);
    if (it != assigned_.end() && it->second->committed < offset) it->second->committed = offset;
  }
}

void KafkaOffsets::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

}  // namespace eragon::sdk
