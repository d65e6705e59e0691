#include "sdk/queue_core.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace eragon::sdk {

QueueCore::QueueCore(uint64_t max_records, uint64_t max_bytes) {
  // A limit of 0 would refuse everything but the first record; treat it as 1.
  usage_.max_records = std::max<uint64_t>(max_records, 1);
  usage_.max_bytes = std::max<uint64_t>(max_bytes, 1);
}

size_t QueueCore::Take(std::unique_lock<std::mutex>& lock, size_t max_records,
                       std::chrono::milliseconds wait, std::vector<QueuedRecord>* out) {
  if (head_ == pending_.size() && !closed_ && wait.count() > 0) {
    taker_waiting_ = true;
    not_empty_.wait_for(lock, wait, [this] { return head_ < pending_.size() || closed_; });
    taker_waiting_ = false;
  }
  const size_t n = std::min(max_records, pending_.size() - head_);
  if (n == 0) return 0;
  for (size_t i = head_; i < head_ + n; ++i)
    window_.Add(pending_[i].seq, pending_[i].payload.size());
  if (head_ == 0 && n == pending_.size() && out->empty()) {
    out->swap(pending_);  // the caller's (empty) vector keeps its capacity for the next round
    pending_.clear();
    return n;
  }
  std::move(pending_.begin() + static_cast<ptrdiff_t>(head_),
            pending_.begin() + static_cast<ptrdiff_t>(head_ + n), std::back_inserter(*out));
  head_ += n;
  if (head_ == pending_.size()) {
    pending_.clear();
    head_ = 0;
  }
  return n;
}

QueueStats QueueCore::Stats(uint64_t next_seq, std::optional<uint64_t> unready_seq) const {
  QueueStats s;
  s.records = usage_.records;
  s.bytes = usage_.bytes;
  s.next_seq = next_seq;
  s.oldest_seq = !window_.empty()          ? window_.front_seq()
                 : head_ < pending_.size() ? pending_[head_].seq
                                           : unready_seq.value_or(next_seq);
  return s;
}

void QueueCore::Close() {
  closed_ = true;
  space_.notify_all();
  not_empty_.notify_all();
}

Status QueueCore::Full(std::chrono::milliseconds block_for) const {
  return Status::ResourceExhausted(
      "event queue full: " + std::to_string(usage_.records) + " events (" +
      std::to_string(usage_.bytes) + " bytes) wait for the server's acknowledgement; limits " +
      std::to_string(usage_.max_records) + " events / " + std::to_string(usage_.max_bytes) +
      " bytes; gave up after blocking " + std::to_string(block_for.count()) + " ms");
}

Status QueueCore::UnknownSeqs(size_t unknown) {
  return Status::InvalidArgument(std::to_string(unknown) +
                                 " seq(s) passed to Done were not taken or already done");
}

}  // namespace eragon::sdk
