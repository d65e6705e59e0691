// QueueCore: the part of an EventQueue that the memory queue and the file queue
// (backup_queue.h) share, so both answer Take, Done, Stats and Close the same way:
//   - records ready for Take (`pending`), oldest first, and the taken-but-not-Done window;
//   - capacity accounting and Enqueue's block-then-fail wait for space;
//   - the closed flag and who sleeps on which condition variable.
// The owner decides when an enqueued record becomes ready (the memory queue at once, the
// file queue once it is stored) and calls Push then.
//
// Not thread-safe on its own: the owning queue holds its one mutex around every call, and
// the waits take that mutex's unique_lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "eragon/event_queue.h"
#include "sdk/queue_usage.h"
#include "sdk/queue_window.h"

namespace eragon::sdk {

class QueueCore {
 public:
  QueueCore(uint64_t max_records, uint64_t max_bytes);

  // --- Enqueue side ---

  // Admits `n` records of `bytes` in all: Ok when they fit now or within `block_for`;
  // kUnavailable when the queue is closed or `stop()` turns true while waiting;
  // kResourceExhausted (usage and limits in the message) on timeout. Does not reserve.
  template <typename StopFn>
  Status WaitForSpace(std::unique_lock<std::mutex>& lock, uint64_t bytes, uint64_t n,
                      std::chrono::milliseconds block_for, StopFn stop) {
    if (!closed_ && usage_.Fits(bytes, n)) return Status::Ok();
    if (!usage_.Fits(bytes, n) && block_for.count() > 0) {
      ++usage_.space_waiters;
      space_.wait_for(lock, block_for, [&] { return usage_.Fits(bytes, n) || closed_ || stop(); });
      --usage_.space_waiters;
    }
    if (closed_ || stop()) return Status::Unavailable("event queue is closed");
    if (usage_.Fits(bytes, n)) return Status::Ok();
    return Full(block_for);
  }

  // Capacity of records from Enqueue until Done (or until they are dropped unstored).
  void Reserve(uint64_t bytes, uint64_t n = 1) { usage_.Add(bytes, n); }
  void Release(uint64_t bytes, uint64_t n = 1) { usage_.Remove(bytes, n); }
  uint64_t records() const { return usage_.records; }

  // Makes a record ready for Take. REQUIRES: its seq is above every seq pushed before.
  void Push(QueuedRecord record) { pending_.push_back(std::move(record)); }
  // Recovery: `records` become the ready records (nothing pushed or taken yet).
  void SetPending(std::vector<QueuedRecord> records) { pending_ = std::move(records); }
  // After Push: true (once) when Take sleeps waiting for records; the caller then calls
  // WakeTaker, under the lock or after releasing it (which saves the woken taker from
  // blocking on the mutex at once).
  bool ClaimTakerWakeup() {
    const bool waiting = taker_waiting_;
    taker_waiting_ = false;
    return waiting;
  }
  void WakeTaker() { not_empty_.notify_one(); }
  // Wakes Enqueue calls blocked for space, so they see a changed `stop()`.
  void WakeSpaceWaiters() { space_.notify_all(); }

  // --- Take, Done, Stats, Close ---

  // EventQueue::Take: waits up to `wait` while nothing is ready and the queue is open,
  // then moves up to `max_records` ready records to `*out` and into the taken window.
  // Returns how many it moved.
  size_t Take(std::unique_lock<std::mutex>& lock, size_t max_records,
              std::chrono::milliseconds wait, std::vector<QueuedRecord>* out);

  // EventQueue::Done: frees each taken seq's capacity and calls `on_done(seq)` for it;
  // seqs not in the window change nothing and make the result kInvalidArgument.
  template <typename OnDone>
  Status Done(std::span<const uint64_t> seqs, OnDone on_done) {
    size_t unknown = 0;
    for (uint64_t seq : seqs) {
      std::optional<uint64_t> bytes = window_.Remove(seq);
      if (!bytes) {
        ++unknown;
        continue;
      }
      usage_.Remove(*bytes);
      on_done(seq);
    }
    if (usage_.space_waiters > 0) space_.notify_all();
    return unknown == 0 ? Status::Ok() : UnknownSeqs(unknown);
  }

  // EventQueue::Stats. `unready_seq`: the oldest record enqueued but not yet ready, if any.
  QueueStats Stats(uint64_t next_seq, std::optional<uint64_t> unready_seq) const;

  // Marks the queue closed and wakes every Enqueue waiting for space and a waiting Take.
  void Close();
  bool closed() const { return closed_; }

 private:
  Status Full(std::chrono::milliseconds block_for) const;
  static Status UnknownSeqs(size_t unknown);

  std::condition_variable not_empty_;  // Take waits here
  std::condition_variable space_;      // Enqueue waits here when full
  QueueUsage usage_;
  std::vector<QueuedRecord> pending_;  // ready, not taken yet: [head_, size)
  size_t head_ = 0;
  QueueWindow window_;
  bool taker_waiting_ = false;
  bool closed_ = false;
};

}  // namespace eragon::sdk
