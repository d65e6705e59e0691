// RecordCache: the decoded records of one topic that its consumers' workers read lately,
// shared between them, so a topic fanned out to N consumers is read, checksummed and
// decoded once per record rather than N times. Workers keep the shared events in their
// windows without copying them.
//
// Per partition it holds one run of consecutive records, at most `capacity` long: a read
// inside the run is served from it, a read at its end extends it, a read ahead of it
// starts a new run there (the leading worker), and a read behind it (a worker far behind
// the others, e.g. a dead consumer's backlog) goes to the log without touching the run.
//
// Thread-safe. Memory: at most `capacity` events per partition (by default 16384 per
// topic, spread over its partitions, at least 1024 each), besides those the workers'
// windows hold anyway.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "channel/channel.h"
#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon::dispatch {

struct CachedRecord {
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::shared_ptr<const Event> event;  // null when the record is not a decodable event
};

class RecordCache {
 public:
  // capacity 0: the default for the topic's partition count.
  explicit RecordCache(channel::Topic* topic, size_t capacity = 0);

  // Appends to `out` up to `max` records of `partition` from offset `from` (fewer at the
  // durable end; at most about `max_bytes` of payload when read from the log).
  Status Read(uint32_t partition, uint64_t from, size_t max, size_t max_bytes,
              std::vector<CachedRecord>* out);

 private:
  struct Run {
    uint64_t base = 0;  // offset of recs.front()
    std::deque<CachedRecord> recs;
  };

  channel::Topic* const topic_;
  const size_t capacity_;
  std::mutex mu_;
  std::vector<Run> runs_;  // per partition
};

}  // namespace eragon::dispatch
