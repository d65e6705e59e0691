// The bounded in-memory EventQueue (event_queue.h).
//
// Design for many producer threads and one drainer: Enqueue is a short critical section
// (push_back into a vector, counters) and wakes the drainer only when it is asleep; Take
// swaps the whole pending vector out when it may take everything, so the drainer costs
// the enqueuers one lock hand-off per batch rather than per record. Take, Done, Stats,
// Close and the capacity wait are QueueCore's (shared with the file queue); a record is
// ready for Take as soon as it is enqueued.
#include <mutex>
#include <vector>

#include "eragon/event_queue.h"
#include "sdk/queue_core.h"

namespace eragon {
namespace {

class MemoryQueue final : public EventQueue {
 public:
  explicit MemoryQueue(MemoryQueueOptions o) : core_(o.max_records, o.max_bytes) {}
  ~MemoryQueue() override { Close(); }

  Result<uint64_t> Enqueue(std::string payload, std::shared_ptr<void> context,
                           std::chrono::milliseconds block_for) override {
    const uint64_t bytes = payload.size();
    std::unique_lock lock(mu_);
    ERAGON_RETURN_IF_ERROR(core_.WaitForSpace(lock, bytes, 1, block_for, [] { return false; }));
    const uint64_t seq = next_seq_++;
    core_.Reserve(bytes);
    core_.Push(QueuedRecord{seq, std::move(payload), std::move(context)});
    WakeTaker(lock);
    return seq;
  }

  Result<uint64_t> EnqueueBatch(std::vector<QueuedRecord> records,
                                std::chrono::milliseconds block_for) override {
    if (records.empty()) return Status::InvalidArgument("EnqueueBatch: no records");
    uint64_t bytes = 0;
    for (const QueuedRecord& r : records) bytes += r.payload.size();
    std::unique_lock lock(mu_);
    ERAGON_RETURN_IF_ERROR(
        core_.WaitForSpace(lock, bytes, records.size(), block_for, [] { return false; }));
    const uint64_t first = next_seq_;
    core_.Reserve(bytes, records.size());
    for (QueuedRecord& r : records) {
      r.seq = next_seq_++;
      core_.Push(std::move(r));
    }
    WakeTaker(lock);
    return first;
  }

  Status Take(size_t max_records, std::chrono::milliseconds wait,
              std::vector<QueuedRecord>* out) override {
    std::unique_lock lock(mu_);
    core_.Take(lock, max_records, wait, out);
    return Status::Ok();
  }

  Status Done(std::span<const uint64_t> seqs) override {
    std::lock_guard lock(mu_);
    return core_.Done(seqs, [](uint64_t) {});
  }

  QueueStats Stats() const override {
    std::lock_guard lock(mu_);
    return core_.Stats(next_seq_, std::nullopt);
  }

  void Close() override {
    std::lock_guard lock(mu_);
    core_.Close();
  }

 private:
  // Wakes a sleeping Take after releasing the lock, so it does not block on mu_ at once.
  void WakeTaker(std::unique_lock<std::mutex>& lock) {
    if (!core_.ClaimTakerWakeup()) return;
    lock.unlock();
    core_.WakeTaker();
  }

  mutable std::mutex mu_;
  sdk::QueueCore core_;
  uint64_t next_seq_ = 0;
};

}  // namespace

std::unique_ptr<EventQueue> NewMemoryQueue(MemoryQueueOptions options) {
  return std::make_unique<MemoryQueue>(options);
}

}  // namespace eragon
