#include "sdk/queue_window.h"

namespace eragon::sdk {

void QueueWindow::Add(uint64_t seq, uint64_t bytes) {
  if (entries_.empty()) {
    front_seq_ = seq;
  } else {
    for (uint64_t next = front_seq_ + entries_.size(); next < seq; ++next) {
      entries_.push_back(kDone);
    }
  }
  entries_.push_back(bytes);
}

std::optional<uint64_t> QueueWindow::Remove(uint64_t seq) {
  if (entries_.empty() || seq < front_seq_ || seq - front_seq_ >= entries_.size()) {
    return std::nullopt;
  }
  uint64_t& slot = entries_[seq - front_seq_];
  if (slot == kDone) return std::nullopt;
  const uint64_t bytes = slot;
  slot = kDone;
  while (!entries_.empty() && entries_.front() == kDone) {
    entries_.pop_front();
    ++front_seq_;
  }
  return bytes;
}

}  // namespace eragon::sdk
