#include "dispatch/dedup_gate.h"

namespace eragon::dispatch {

std::string DedupGate::StoreKey(const Event& event, config::DedupMode mode) {
  if (mode == config::DedupMode::kEventId) return "i" + event.id;
  return "e" + event.entity_id;  // entity_event: the type is part of the store key
}

std::string DedupGate::HoldKey(const Event& event, config::DedupMode mode) {
  std::string k = event.event_type;
  k.push_back('\0');
  k += StoreKey(event, mode);
  return k;
}

bool DedupGate::Park(const std::string& hold, const SlotKey& key) {
  auto it = holders_.find(hold);
  if (it == holders_.end()) return false;
  it->second.push_back(key);
  return true;
}

void DedupGate::Hold(const std::string& hold) { holders_.emplace(hold, std::vector<SlotKey>{}); }

void DedupGate::Release(const std::string& hold, std::vector<SlotKey>* parked) {
  auto it = holders_.find(hold);
  if (it == holders_.end()) return;
  if (parked->empty()) {
    parked->swap(it->second);
  } else {
    parked->insert(parked->end(), it->second.begin(), it->second.end());
  }
  holders_.erase(it);
}

void DedupGate::Written(std::vector<SlotKey>* parked) {
  if (written_wait_.empty()) return;
  std::vector<std::string> holds = std::move(written_wait_);
  written_wait_.clear();
  for (const std::string& hold : holds) Release(hold, parked);
}

}  // namespace eragon::dispatch
