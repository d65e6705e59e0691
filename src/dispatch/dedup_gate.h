// DedupGate: which dedup keys a ConsumerWorker is delivering right now, so that two copies
// of one key (read together, before either is claimed) reach the consumer once.
//
// Owns: the keys held by a slot in flight with the slots parked behind each, and the keys
// of deliveries whose claim is in the worker's pending batch (still held: a copy checked
// before the batch is written would miss the claim in the store).
//
// Invariants: a key is held by at most one slot; a parked slot is handed back (Release,
// Written) exactly once, when its key's holder is done and, for a delivered holder, its
// claim is written. The store lookup (is the key claimed?) is the caller's, between
// IsHeld/Park and Hold.
//
// A plain object: no lock, no I/O. The worker calls it under its mutex.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "config/config_store.h"
#include "dispatch/delivery_window.h"
#include "eragon/event.h"

namespace eragon::dispatch {

class DedupGate {
 public:
  // The key the store claims for `event` (the event type is part of the store's key):
  // "i" + event id for event_id, "e" + entity id for entity_event.
  static std::string StoreKey(const Event& event, config::DedupMode mode);
  // The key this gate holds: event type, NUL, StoreKey.
  static std::string HoldKey(const Event& event, config::DedupMode mode);

  // Parks `key` behind the holder of `hold` and returns true; false when no slot holds it.
  bool Park(const std::string& hold, const SlotKey& key);
  // The caller's slot holds `hold` from now on. REQUIRES: no slot holds it.
  void Hold(const std::string& hold);
  // The holder of `hold` is done without a claim to wait for (dead, dropped, skipped):
  // the slots parked behind it are appended to *parked, in the order they parked.
  void Release(const std::string& hold, std::vector<SlotKey>* parked);
  // The holder was delivered: its claim is in the pending batch; the key stays held.
  void HoldUntilWritten(std::string hold) { written_wait_.push_back(std::move(hold)); }
  // The pending batch was written: every key held until then is released (Release).
  void Written(std::vector<SlotKey>* parked);

  // Replay or seek: every key held by a slot goes with the slots (keys held until a write
  // stay until it).
  void ClearHolders() { holders_.clear(); }
  size_t held() const { return holders_.size(); }

 private:
  std::unordered_map<std::string, std::vector<SlotKey>> holders_;  // key -> parked slots
  std::vector<std::string> written_wait_;
};

}  // namespace eragon::dispatch
