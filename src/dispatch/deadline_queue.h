// DeadlineQueue: (slot, tag) pairs by the wall ms at which they fall due, for retry timers
// (RetryScheduler) and pull leases (PullLeases). An entry whose slot has moved on (another
// tag) is not removed; whoever pops it checks the tag. A plain object: no lock, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "dispatch/delivery_window.h"

namespace eragon::dispatch {

class DeadlineQueue {
 public:
  void Add(int64_t due_ms, const SlotKey& key, uint64_t tag) {
    due_.emplace(due_ms, std::make_pair(key, tag));
  }
  // The earliest entry due at or before now_ms, removed; false when none is due.
  bool PopDue(int64_t now_ms, SlotKey* key, uint64_t* tag) {
    if (due_.empty() || due_.begin()->first > now_ms) return false;
    *key = due_.begin()->second.first;
    *tag = due_.begin()->second.second;
    due_.erase(due_.begin());
    return true;
  }
  // When the earliest entry falls due; INT64_MAX when there is none.
  int64_t Next() const { return due_.empty() ? INT64_MAX : due_.begin()->first; }
  bool empty() const { return due_.empty(); }
  size_t size() const { return due_.size(); }
  void Clear() { due_.clear(); }

 private:
  std::multimap<int64_t, std::pair<SlotKey, uint64_t>> due_;
};

}  // namespace eragon::dispatch
