// QueueUsage: a queue's capacity accounting (QueueCore holds one; queue_core.h has the
// wait for space). Not thread-safe: callers hold the queue's lock.
#pragma once

#include <cstdint>

namespace eragon::sdk {

struct QueueUsage {
  uint64_t max_records = 0;
  uint64_t max_bytes = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  int space_waiters = 0;  // Enqueue calls blocked in QueueCore::WaitForSpace

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

}  // namespace eragon::sdk
