// DeliveryWindow: the events a ConsumerWorker has read from the log but not finished, per
// partition, and the queues that say which of them may go next.
//
// Owns: per partition the read position, the committed position and the slots of the
// events read (kMaxWindow at most in all), the slots of redriven dead letters (not part of
// the window's bound or positions), the entity queues of an ordered topic, the ready,
// pull-ready and paused queues, and the tag counter that names each delivery of a slot.
//
// Invariants:
//  - committed of a partition is the lowest offset still in its window, or its read
//    position when the window is empty: a position never passes an event not done.
//  - Ordered topics: of an entity's events only the oldest not done is eligible (Add says
//    whether a new event heads its entity; Remove hands over the next one).
//  - A key may sit in a queue after its slot changed state or left: whoever pops a key
//    checks the slot (Find, state, tag) before using it.
//
// A plain object: no lock, no I/O, no clock; the worker calls it under its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config_store.h"
#include "eragon/event.h"

namespace eragon::dispatch {

inline constexpr size_t kMaxWindow = 4096;
// The window is bounded in bytes too (of its events' data, ids and names): 4096 events of
// 1 MiB were 4 GiB per worker (issue 16: a dead consumer with `start: earliest` over 1 MiB
// events pushed RSS to ~1 GB). A read may overshoot it by one log read (4 MiB).
inline constexpr size_t kMaxWindowBytes = 64 << 20;
// What an event counts against kMaxWindowBytes.
inline size_t WindowBytesOf(const Event& e) {
  return e.data.size() + e.id.size() + e.entity_id.size() + e.event_type.size() +
         e.traceparent.size();
}

struct SlotKey {
  uint32_t partition = 0;  // kRedrivePartition for redriven dead letters
  uint64_t offset = 0;     // the redrive's id for those
  auto operator<=>(const SlotKey&) const = default;
};
inline constexpr uint32_t kRedrivePartition = 0xffffffffu;

// kQueued: in a queue (ready, pull-ready or paused), or behind its entity's head (ordered);
// kWaiting: on a retry timer; kParked: waits for another slot holding its dedup key.
enum class SlotState { kQueued, kInFlight, kWaiting, kParked };

// One event of the window (or one redriven dead letter) and where its delivery stands.
struct Slot {
  std::shared_ptr<const Event> event;  // shared with the RecordCache and other workers
  int64_t log_ts = 0;
  SlotState state = SlotState::kQueued;
  uint32_t attempts = 0;
  int64_t next_at = 0;
  int32_t last_status = 0;
  std::string last_error;
  uint64_t tag = 0;     // names the current delivery, timer or lease (DeliveryWindow::NewTag)
  int64_t sent_ms = 0;  // wall ms of the current push or fetch (attempt histories)
  bool probe = false;
  bool pull = false;
  bool ignore_dedup = false;
  std::string dead_key;                  // redrive: the dead letter it came from
  SlotKey origin{kRedrivePartition, 0};  // redrive: where the event is in the log
  std::string dedup_hold;                // the DedupGate key this slot holds, if any
  // The worker's route lookup while its route generation is route_gen (saves a
  // string-keyed lookup, and a touch of the cold event, per fetch and ack).
  const config::ConsumerRoute* route = nullptr;
  uint64_t route_gen = 0;
};

struct PartitionWindow {
  uint64_t committed = 0;
  uint64_t read_pos = 0;
  uint64_t last_committed = UINT64_MAX;  // what the worker last reported for commit
  uint64_t ignore_dedup_below = 0;       // replay with ignore_dedup
  // States exist only below this offset (found at start, raised when a redrive writes
  // one ahead of read_pos): above it a record read needs no store lookup.
  uint64_t state_end = UINT64_MAX;
  std::map<uint64_t, Slot> slots;
};

class DeliveryWindow {
 public:
  DeliveryWindow(uint32_t partitions, bool ordered);

  uint32_t partitions() const { return static_cast<uint32_t>(parts_.size()); }
  PartitionWindow& partition(uint32_t p) { return parts_[p]; }
  const PartitionWindow& partition(uint32_t p) const { return parts_[p]; }
  size_t size() const { return size_; }    // events in the window (redrives not counted)
  size_t bytes() const { return bytes_; }  // their WindowBytesOf
  // Events that may still be read: 0 once kMaxWindow events or kMaxWindowBytes are held.
  size_t room() const { return bytes_ >= kMaxWindowBytes ? 0 : kMaxWindow - size_; }

  // The slot of a window event or a redrive; nullptr when it is not (or no longer) there.
  Slot* Find(const SlotKey& key);

  // Reading of partition p starts (again) at `at`: read and committed position.
  void StartAt(uint32_t p, uint64_t at);
  // The records of p below `next` have been read (admitted or skipped).
  void ReadTo(uint32_t p, uint64_t next);
  // Adds the event at (p, offset); nullptr when that offset is in the window already.
  // *head: whether it may be made eligible now (ordered: it is its entity's oldest).
  // REQUIRES: room() > 0.
  Slot* Add(uint32_t p, uint64_t offset, Slot slot, bool* head);
  // Adds a redriven dead letter (outside the bound and the entity order).
  SlotKey AddRedrive(Slot slot);
  // Removes a finished slot (`slot` is *Find(key) and dies here). The committed position
  // moves up to the oldest event still in the window. Ordered: returns the entity's next
  // event, which the caller makes eligible if it is still kQueued.
  std::optional<SlotKey> Remove(const SlotKey& key, const Slot& slot);

  std::deque<SlotKey>& ready() { return ready_; }            // push events that may go
  std::deque<SlotKey>& pull_ready() { return pull_ready_; }  // for the next fetch
  // Events of a disabled route: they keep their window slot (the position holds) and
  // never block other routes' events. Unpause puts them back in front of ready().
  std::vector<SlotKey>& paused() { return paused_; }
  void Unpause();

  // Replay or seek: every window event and every queue goes (positions stay for the
  // caller to set); redrives stay, for the caller to queue again.
  void Clear();
  // Cluster mode, the partition went to another node: its slots, its keys in every queue
  // and its entities' queues go; its positions stay for the caller.
  void DropPartition(uint32_t p);
  std::map<uint64_t, Slot>& redrives() { return redrives_; }

  // The log time of the oldest event in the window (INT64_MAX when empty).
  int64_t OldestLogTs() const;
  uint64_t NewTag() { return next_tag_++; }

 private:
  const bool ordered_;
  std::vector<PartitionWindow> parts_;
  size_t size_ = 0;
  size_t bytes_ = 0;
  std::map<uint64_t, Slot> redrives_;
  uint64_t next_redrive_id_ = 1;
  uint64_t next_tag_ = 1;
  std::unordered_map<std::string, std::deque<SlotKey>> entity_queue_;  // ordered topics
  std::deque<SlotKey> ready_;
  std::deque<SlotKey> pull_ready_;
  std::vector<SlotKey> paused_;
};

}  // namespace eragon::dispatch
