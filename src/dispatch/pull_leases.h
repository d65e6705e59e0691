// PullLeases: the messages a ConsumerWorker has handed to pull fetches and not yet seen
// acked, nacked or expired, and the ack ids that name them.
//
// Owns: the leases (slot, tag) by expiry. An ack id is "partition.offset.tag.topic"; the
// tag is the slot's delivery tag (DeliveryWindow::NewTag), new at every delivery, so an id
// of an earlier delivery (acked, expired, nacked, replayed) no longer matches: Current
// tells a live id from a stale one.
//
// A lease is not durable (a restart delivers leased messages again); only acks are, and
// they are the worker's to write. A plain object: no lock, no I/O; time is passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dispatch/deadline_queue.h"
#include "dispatch/delivery_window.h"

namespace eragon::dispatch {

class PullLeases {
 public:
  // Leases the slot's delivery `tag` until until_ms.
  void Lease(const SlotKey& key, uint64_t tag, int64_t until_ms) { due_.Add(until_ms, key, tag); }
  // A lease that ran out at or before now_ms, removed; false when none did. The caller
  // checks Current (the message may have been acked since).
  bool PopExpired(int64_t now_ms, SlotKey* key, uint64_t* tag) {
    return due_.PopDue(now_ms, key, tag);
  }
  int64_t NextExpiry() const { return due_.Next(); }
  size_t size() const { return due_.size(); }
  void Clear() { due_.Clear(); }

  // Whether `tag` names the delivery in flight of `slot` (nullptr: the slot is gone).
  static bool Current(const Slot* slot, uint64_t tag) {
    return slot != nullptr && slot->state == SlotState::kInFlight && slot->tag == tag;
  }
  // Appends "partition.offset.tag.topic" to *out in one allocation (Dispatcher::Ack
  // parses it).
  static void AppendAckId(const SlotKey& key, uint64_t tag, const std::string& topic,
                          std::string* out);

  // An ack id taken apart; nullopt for anything AppendAckId cannot have written (the
  // caller skips it: an unknown id acks nothing).
  struct AckId {
    uint32_t partition = 0;
    uint64_t offset = 0;
    uint64_t tag = 0;
    std::string topic;
  };
  static std::optional<AckId> ParseAckId(std::string_view id);

 private:
  DeadlineQueue due_;
};

}  // namespace eragon::dispatch
