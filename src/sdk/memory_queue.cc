// The bounded in-memory EventQueue (event_queue.h).
//
// Design for many producer threads and one drainer: Enqueue is a short critical section
// (push_back into a vector, counters) and wakes the drainer only when it is asleep; Take
// swaps the whole pending vector out when it may take everything, so the drainer costs
// the enqueuers one lock hand-off per batch rather than per record.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "eragon/event_queue.h"
#include "sdk/queue_usage.h"
#include "sdk/queue_window.h"

namespace eragon {
namespace {

class MemoryQueue final : public EventQueue {
 public:
  explicit MemoryQueue(MemoryQueueOptions o) {
    usage_.max_records = std::max<uint64_t>(o.max_records, 1);
    usage_.max_bytes = std::max<uint64_t>(o.max_bytes, 1);
  }
  ~MemoryQueue() override { Close(); }

  Result<uint64_t> Enqueue(std::string payload, std::shared_ptr<void> context,
                           std::chrono::milliseconds block_for) override {
    const uint64_t bytes = payload.size();
    std::unique_lock lock(mu_);
    if (closed_ || !usage_.Fits(bytes)) {
      ERAGON_RETURN_IF_ERROR(
          sdk::WaitForSpace(lock, space_, usage_, bytes, 1, block_for, [this] { return closed_; }));
    }
    const uint64_t seq = next_seq_++;
    usage_.Add(bytes);
    pending_.push_back(QueuedRecord{seq, std::move(payload), std::move(context)});
    if (taker_waiting_) {
      taker_waiting_ = false;
      lock.unlock();
      not_empty_.notify_one();
    }
    return seq;
  }

  Result<uint64_t> EnqueueBatch(std::vector<QueuedRecord> records,
                                std::chrono::milliseconds block_for) override {
    if (records.empty()) return Status::InvalidArgument("EnqueueBatch: no records");
    uint64_t bytes = 0;
    for (const QueuedRecord& r : records) bytes += r.payload.size();
    std::unique_lock lock(mu_);
    if (closed_ || !usage_.Fits(bytes, records.size())) {
      ERAGON_RETURN_IF_ERROR(sdk::WaitForSpace(lock, space_, usage_, bytes, records.size(),
                                               block_for, [this] { return closed_; }));
    }
    const uint64_t first = next_seq_;
    usage_.Add(bytes, records.size());
    for (QueuedRecord& r : records) {
      r.seq = next_seq_++;
      pending_.push_back(std::move(r));
    }
    if (taker_waiting_) {
      taker_waiting_ = false;
      lock.unlock();
      not_empty_.notify_one();
    }
    return first;
  }

  Status Take(size_t max_records, std::chrono::milliseconds wait,
              std::vector<QueuedRecord>* out) override {
    std::unique_lock lock(mu_);
    if (head_ == pending_.size() && !closed_ && wait.count() > 0) {
      taker_waiting_ = true;
      not_empty_.wait_for(lock, wait, [this] { return head_ < pending_.size() || closed_; });
      taker_waiting_ = false;
    }
    const size_t n = std::min(max_records, pending_.size() - head_);
    if (n == 0) return Status::Ok();
    for (size_t i = head_; i < head_ + n; ++i)
      window_.Add(pending_[i].seq, pending_[i].payload.size());
    if (head_ == 0 && n == pending_.size() && out->empty()) {
      out->swap(pending_);  // the caller's (empty) vector keeps its capacity for the next round
      pending_.clear();
      return Status::Ok();
    }
    std::move(pending_.begin() + static_cast<ptrdiff_t>(head_),
              pending_.begin() + static_cast<ptrdiff_t>(head_ + n), std::back_inserter(*out));
    head_ += n;
    if (head_ == pending_.size()) {
      pending_.clear();
      head_ = 0;
    }
    return Status::Ok();
  }

  Status Done(std::span<const uint64_t> seqs) override {
    std::lock_guard lock(mu_);
    size_t unknown = 0;
    for (uint64_t seq : seqs) {
      std::optional<uint64_t> bytes = window_.Remove(seq);
      if (!bytes) {
        ++unknown;
        continue;
      }
      usage_.Remove(*bytes);
    }
    if (usage_.space_waiters > 0) space_.notify_all();
    if (unknown > 0) {
      return Status::InvalidArgument(std::to_string(unknown) +
                                     " seq(s) passed to Done were not taken or already done");
    }
    return Status::Ok();
  }

  QueueStats Stats() const override {
    std::lock_guard lock(mu_);
    QueueStats s;
    s.records = usage_.records;
    s.bytes = usage_.bytes;
    s.next_seq = next_seq_;
    s.oldest_seq = !window_.empty()          ? window_.front_seq()
                   : head_ < pending_.size() ? pending_[head_].seq
                                             : next_seq_;
    return s;
  }

  void Close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    space_.notify_all();
    not_empty_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable not_empty_;  // Take waits here
  std::condition_variable space_;      // Enqueue waits here when full
  sdk::QueueUsage usage_;
  std::vector<QueuedRecord> pending_;  // [head_, size) not taken yet
  size_t head_ = 0;
  sdk::QueueWindow window_;
  uint64_t next_seq_ = 0;
  bool taker_waiting_ = false;
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<EventQueue> NewMemoryQueue(MemoryQueueOptions options) {
  return std::make_unique<MemoryQueue>(options);
}

}  // namespace eragon
