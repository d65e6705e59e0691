#include "dispatch/delivery_window.h"

#include <algorithm>

namespace eragon::dispatch {

DeliveryWindow::DeliveryWindow(uint32_t partitions, bool ordered)
    : ordered_(ordered), parts_(partitions) {}

Slot* DeliveryWindow::Find(const SlotKey& key) {
  if (key.partition == kRedrivePartition) {
    auto it = redrives_.find(key.offset);
    return it == redrives_.end() ? nullptr : &it->second;
  }
  if (key.partition >= parts_.size()) return nullptr;
  auto& w = parts_[key.partition].slots;
  auto it = w.find(key.offset);
  return it == w.end() ? nullptr : &it->second;
}

void DeliveryWindow::StartAt(uint32_t p, uint64_t at) {
  parts_[p].committed = parts_[p].read_pos = at;
}

void DeliveryWindow::ReadTo(uint32_t p, uint64_t next) {
  PartitionWindow& part = parts_[p];
  part.read_pos = next;
  if (part.slots.empty()) part.committed = next;
}

Slot* DeliveryWindow::Add(uint32_t p, uint64_t offset, Slot slot, bool* head) {
  auto [it, inserted] = parts_[p].slots.emplace(offset, std::move(slot));
  if (!inserted) return nullptr;
  ++size_;
  bytes_ += WindowBytesOf(*it->second.event);
  *head = true;
  if (ordered_) {
    std::deque<SlotKey>& q = entity_queue_[it->second.event->entity_id];
    q.push_back({p, offset});
    *head = q.size() == 1;  // otherwise it waits for the entity's earlier events
  }
  return &it->second;
}

SlotKey DeliveryWindow::AddRedrive(Slot slot) {
  const uint64_t id = next_redrive_id_++;
  redrives_.emplace(id, std::move(slot));
  return {kRedrivePartition, id};
}

std::optional<SlotKey> DeliveryWindow::Remove(const SlotKey& key, const Slot& slot) {
  if (key.partition == kRedrivePartition) {
    redrives_.erase(key.offset);
    return std::nullopt;
  }
  std::optional<SlotKey> next;
  if (ordered_) {
    auto q = entity_queue_.find(slot.event->entity_id);
    if (q != entity_queue_.end()) {
      auto pos = std::find(q->second.begin(), q->second.end(), key);
      if (pos != q->second.end()) q->second.erase(pos);
      if (q->second.empty()) {
        entity_queue_.erase(q);
      } else {
        next = q->second.front();
      }
    }
  }
  PartitionWindow& part = parts_[key.partition];
  auto it = part.slots.find(key.offset);
  if (it != part.slots.end()) {
    bytes_ -= std::min(bytes_, WindowBytesOf(*it->second.event));
    part.slots.erase(it);
    --size_;
  }
  part.committed = part.slots.empty() ? part.read_pos : part.slots.begin()->first;
  return next;
}

void DeliveryWindow::Unpause() {
  if (paused_.empty()) return;
  ready_.insert(ready_.begin(), paused_.begin(), paused_.end());
  paused_.clear();
}

void DeliveryWindow::Clear() {
  for (PartitionWindow& part : parts_) part.slots.clear();
  size_ = 0;
  bytes_ = 0;
  entity_queue_.clear();
  ready_.clear();
  pull_ready_.clear();
  paused_.clear();
}

void DeliveryWindow::DropPartition(uint32_t p) {
  PartitionWindow& part = parts_[p];
  for (const auto& [offset, slot] : part.slots) {
    bytes_ -= std::min(bytes_, WindowBytesOf(*slot.event));
    --size_;
    if (ordered_) entity_queue_.erase(slot.event->entity_id);  // one partition per entity
  }
  part.slots.clear();
  auto of_p = [p](const SlotKey& k) { return k.partition == p; };
  std::erase_if(ready_, of_p);
  std::erase_if(pull_ready_, of_p);
  std::erase_if(paused_, of_p);
}

int64_t DeliveryWindow::OldestLogTs() const {
  int64_t oldest = INT64_MAX;
  for (const PartitionWindow& part : parts_) {
    if (!part.slots.empty()) oldest = std::min(oldest, part.slots.begin()->second.log_ts);
  }
  return oldest;
}

}  // namespace eragon::dispatch
