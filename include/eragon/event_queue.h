// EventQueue: where a Producer keeps events between Publish and the server's ack.
//
// Two implementations behind one small interface:
//   - NewMemoryQueue: bounded, in memory; lost when the process dies.
//   - OpenFileQueue: the local event backup. Each record is appended to a segment file
//     in a directory with its length and CRC32C before Enqueue returns, synced per the
//     BackupFsync policy; records acknowledged by the server are recorded in ack files
//     and fully acknowledged segments are deleted. Opening the directory again (after a
//     crash or a clean close) truncates a torn tail and hands every unacknowledged record
//     to Take again, in the original order.
//
// Record lifecycle: Enqueue (record is "pending") -> Take (record is "taken", in flight)
// -> Done (the server acknowledged it, or it failed for good; its space is freed). A record
// counts against the capacity from Enqueue until Done.
//
// Thread safety: Enqueue, Done, Stats and Close may be called from any thread at once.
// Take must be called by one thread at a time (the producer's dispatcher).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "eragon/env.h"
#include "eragon/status.h"

namespace eragon {

struct QueuedRecord {
  uint64_t seq = 0;     // assigned by Enqueue; increases in enqueue order (gaps possible)
  std::string payload;  // opaque bytes, as enqueued
  // In-memory companion of the record (the producer keeps the publish's completion here);
  // never persisted: records replayed from a backup carry none.
  std::shared_ptr<void> context;
};

struct QueueStats {
  uint64_t records = 0;  // enqueued and not yet Done
  uint64_t bytes = 0;    // payload bytes of those records
  // The smallest seq not yet Done (== next_seq when the queue is empty).
  uint64_t oldest_seq = 0;
  uint64_t next_seq = 0;  // the seq the next Enqueue will get
};

class EventQueue {
 public:
  virtual ~EventQueue() = default;

  // Appends a record. When the queue is at capacity, waits up to `block_for` for space,
  // then fails with kResourceExhausted. Other errors: kUnavailable after Close();
  // kReadOnly once a write or fsync of the backup failed (every later Enqueue fails too;
  // a failed fsync is never retried). On success the record is stored as the queue
  // promises (file queue: see BackupFsync) and the seq is returned.
  virtual Result<uint64_t> Enqueue(std::string payload, std::shared_ptr<void> context,
                                   std::chrono::milliseconds block_for) = 0;

  // Appends `records` (their seq is ignored) as consecutive records, all or none: the
  // file queue writes them with one pwrite and, per its policy, one fsync for the batch.
  // Waits for room for the whole batch (an empty queue takes any batch); errors as for
  // Enqueue. Returns the first seq; the others follow it. An empty batch is
  // kInvalidArgument.
  virtual Result<uint64_t> EnqueueBatch(std::vector<QueuedRecord> records,
                                        std::chrono::milliseconds block_for) = 0;

  // Moves up to `max_records` pending records, oldest first, to the end of `*out`, waiting
  // up to `wait` while there are none. Returns Ok with nothing added on timeout, and at
  // once when the queue is closed and has nothing pending. Errors only for a failed backup.
  // REQUIRES: one caller at a time.
  virtual Status Take(size_t max_records, std::chrono::milliseconds wait,
                      std::vector<QueuedRecord>* out) = 0;

  // Marks taken records as finished (acknowledged by the server, or failed for good), in
  // any order. A seq that is not taken, or already Done, is kInvalidArgument and changes
  // nothing for that seq. File queue: the record is not replayed after a reopen (ack
  // records are written but not fsynced: a crash may replay an acknowledged record, which
  // the server's publish dedup absorbs).
  virtual Status Done(std::span<const uint64_t> seqs) = 0;

  virtual QueueStats Stats() const = 0;

  // Stops accepting records: blocked and later Enqueue calls fail with kUnavailable; a
  // blocked Take returns. Pending and taken records stay (a file queue keeps them on disk
  // for the next open). Idempotent.
  virtual void Close() = 0;
};

struct MemoryQueueOptions {
  // Capacity: Enqueue blocks once either limit would be exceeded. A single record larger
  // than max_bytes is accepted when the queue is empty (so any record can pass).
  uint64_t max_records = 100'000;
  uint64_t max_bytes = 64ull << 20;
};

std::unique_ptr<EventQueue> NewMemoryQueue(MemoryQueueOptions options = {});

// When the file queue makes an appended record durable (fdatasync of the segment file).
enum class BackupFsync {
  // Each Enqueue writes and fdatasyncs its own record (EnqueueBatch: its own batch) before
  // returning. Concurrent enqueuers take turns. Survives power loss; one fsync per call.
  kPerEvent,
  // Group commit: concurrent enqueuers' records are written together and share one
  // fdatasync before each of their Enqueue calls returns. Same guarantee as kPerEvent;
  // many fewer fsyncs under concurrency. The default.
  kGroup,
  // Enqueue returns after write(2); a background thread fdatasyncs every interval_ms
  // while there is unsynced data. A process crash (kill -9) loses nothing (the page
  // cache survives); a power loss or kernel crash may lose the last interval_ms of
  // acknowledged enqueues.
  kInterval,
};

struct FileQueueOptions {
  // The backup directory; created when missing. One queue per directory (a lock file
  // makes a second open fail with a message naming the holder).
  std::string dir;
  BackupFsync fsync = BackupFsync::kGroup;
  int64_t fsync_interval_ms = 100;  // for kInterval
  // Segment files are preallocated to this size; a full segment is synced, sealed and a
  // new one begun. A record larger than this gets a segment of its own size.
  uint64_t segment_bytes = 16ull << 20;
  // Capacity as for the memory queue. Records replayed at open count too (and may exceed
  // the capacity if it was lowered: Enqueue then waits until they drain).
  uint64_t max_records = 100'000;
  uint64_t max_bytes = 64ull << 20;
  // The file system; nullptr means Env::Default(). Must outlive the queue.
  Env* env = nullptr;
};

// Opens (creating or recovering) the backup in options.dir. Errors: kInvalidArgument for
// bad options, kIOError/kNotFound from the file system, kCorruption when a sealed segment
// or the middle of the last one fails its checks (the message names file and offset;
// nothing is deleted), kUnavailable when another process holds the directory.
Result<std::unique_ptr<EventQueue>> OpenFileQueue(FileQueueOptions options);

}  // namespace eragon
