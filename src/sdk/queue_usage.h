// QueueUsage: a queue's capacity accounting and the block-then-fail wait for space that
// both queue kinds share. Not thread-safe: callers hold the queue's lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "eragon/status.h"

namespace eragon::sdk {

struct QueueUsage {
  uint64_t max_records = 0;
  uint64_t max_bytes = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  int space_waiters = 0;  // Enqueue calls blocked in WaitForSpace

  // An empty queue takes anything, so a record (or batch) larger than the limits can
  // still pass.
  bool Fits(uint64_t b, uint64_t n = 1) const {
    return records == 0 || (records + n <= max_records && bytes + b <= max_bytes);
  }
  void Add(uint64_t b, uint64_t n = 1) {
    records += n;
    bytes += b;
  }
  void Remove(uint64_t b, uint64_t n = 1) {
    records -= n;
    bytes -= b;
  }
};

// Waits on `space` until `n` records of `bytes` in all fit, `closed()` turns true, or `block_for`
// passes. Returns Ok when it fits; kUnavailable when closed; kResourceExhausted (with the
// usage and limits in the message) on timeout. `lock` holds the mutex guarding `usage`.
template <typename ClosedFn>
Status WaitForSpace(std::unique_lock<std::mutex>& lock, std::condition_variable& space,
                    QueueUsage& usage, uint64_t bytes, uint64_t n,
                    std::chrono::milliseconds block_for, ClosedFn closed) {
  if (!usage.Fits(bytes, n) && block_for.count() > 0) {
    ++usage.space_waiters;
    space.wait_for(lock, block_for, [&] { return usage.Fits(bytes, n) || closed(); });
    --usage.space_waiters;
  }
  if (closed()) return Status::Unavailable("event queue is closed");
  if (usage.Fits(bytes, n)) return Status::Ok();
  return Status::ResourceExhausted(
      "event queue full: " + std::to_string(usage.records) + " events (" +
      std::to_string(usage.bytes) + " bytes) wait for the server's acknowledgement; limits " +
      std::to_string(usage.max_records) + " events / " + std::to_string(usage.max_bytes) +
      " bytes; gave up after blocking " + std::to_string(block_for.count()) + " ms");
}

}  // namespace eragon::sdk
