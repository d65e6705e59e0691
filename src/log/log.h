// The embedded durable log: one log per topic, split into partitions, stored as
// preallocated segment files of CRC32C-checked records, with group commit.
//
// Durability contract (see README.md in this folder for the file format):
//  - kAlways: an append's callback runs only after its bytes, and the directory entry
//    of any segment file it created, are fsynced. Readers see it from then on.
//  - kInterval: the callback runs after write(2); an fsync happens at least every
//    interval_ms; readers see a record only after the fsync that covered it.
//  - kNever: the callback runs after write(2); readers see it from then on.
//  - A failed write or fsync is never retried: the topic turns read-only and every later
//    append fails with Code::kReadOnly and a message naming the original cause.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/clock.h"
#include "eragon/env.h"
#include "eragon/status.h"

namespace eragon::log {

enum class FsyncPolicy { kAlways, kInterval, kNever };

struct FsyncOptions {
  FsyncPolicy policy = FsyncPolicy::kAlways;
  int64_t interval_ms = 1000;  // only for kInterval
};
// Parses "always", "interval:<ms>" (ms >= 1) or "never".
Result<FsyncOptions> ParseFsyncOptions(std::string_view text);
std::string FsyncOptionsToString(const FsyncOptions& o);

struct LogOptions {
  Env* env = Env::Default();       // not owned; must outlive the LogManager
  Clock* clock = Clock::System();  // not owned
  FsyncOptions fsync;
  // Size each segment file is preallocated to; a segment rolls when the next write
  // would not fit. A batch never spans segments.
  uint64_t segment_bytes = 64ull << 20;
  // Retention per topic: segments whose newest record is older than this are deleted
  // (0 = keep forever) ...
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;
  // ... and the oldest segments are deleted while the topic is larger than this
  // (0 = no size limit).
  uint64_t retention_bytes = 0;
  // Bytes accepted but not yet written, per topic; appends beyond it fail at once with
  // Code::kResourceExhausted (the server answers 429) instead of queueing without bound.
  uint64_t max_pending_bytes = 64ull << 20;
  // Commit statistics (may be empty), e.g. for metrics: called after each group commit
  // with the seconds spent in write(2) and in fdatasync (< 0 when the commit did not
  // sync), and the bytes and records written. A sync on its own (kInterval's timer,
  // sealing a segment under kInterval/kNever, close) is reported with write_seconds,
  // bytes and records 0. Called on the committing thread (a topic's writer thread, or a
  // caller of the blocking Append, see TopicLog::Append), never concurrently for one
  // topic, but concurrently for different topics; it delays the next commit, so keep
  // it cheap and non-blocking.
  std::function<void(double write_seconds, double fsync_seconds, uint64_t bytes, size_t records)>
      on_commit;
};

struct TopicOptions {
  uint32_t partitions = 8;  // 1..1024, fixed when the topic is created
};

// One record to append. The views must stay valid until AppendAsync returns (the log
// copies them before returning).
struct AppendRecord {
  std::string_view key;      // partitioning key (the entity id)
  std::string_view payload;  // opaque bytes, at most 16 MiB
  int64_t timestamp_ms = 0;  // stored with the record; used by retention and time seeks
};

struct RecordPosition {
  uint32_t partition = 0;
  uint64_t offset = 0;
  bool operator==(const RecordPosition&) const = default;
};

struct LogRecord {
  uint32_t partition = 0;
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string payload;
};

// Called once per append: ok with one position per record (in input order), or the
// error. The callbacks of one topic's accepted appends run one at a time, in append
// order, on one of the topic's internal threads (usually its writer thread, between one
// group commit and the next; its completion thread when the group also holds blocking
// Appends). An append refused at once (closed, read-only, too large,
// kResourceExhausted) gets its callback on the calling thread before AppendAsync
// returns. Must not block (it delays the next group commit), and must not call the
// blocking Append or Close.
using AppendCallback = std::function<void(const Status&, std::span<const RecordPosition>)>;

class TopicLog {
 public:
  virtual ~TopicLog() = default;
  virtual const std::string& name() const = 0;
  virtual uint32_t partitions() const = 0;
  // murmur2(key) mod partitions, exactly as Kafka's default partitioner.
  virtual uint32_t PartitionFor(std::string_view key) const = 0;

  // Appends the records as one unit: after a crash either all of them are in the log or
  // none is. Records of one partition get consecutive increasing offsets in input order.
  // The callback runs when the batch is durable under the fsync policy, or failed.
  virtual void AppendAsync(std::span<const AppendRecord> records, AppendCallback done) = 0;
  // Blocking form of AppendAsync: same durability, no copy of the records. Under kAlways,
  // while appends arrive one at a time, the calling thread may itself write and fsync
  // (and run on_commit and the Subscribe functions) instead of handing over to the
  // writer thread, saving two thread wake-ups per append.
  virtual Result<std::vector<RecordPosition>> Append(std::span<const AppendRecord> records) = 0;

  // Records of `partition` from `offset` on, at most max_records and about max_bytes
  // (at least one record when any is readable). Only durable records are returned.
  // An offset below StartOffset() starts at StartOffset(). A record that fails its CRC
  // is never returned: the read fails with Code::kCorruption naming file and position.
  virtual Result<std::vector<LogRecord>> Read(uint32_t partition, uint64_t offset,
                                              size_t max_records, size_t max_bytes) = 0;
  // First retained offset of the partition.
  virtual uint64_t StartOffset(uint32_t partition) const = 0;
  // One past the last durable record of the partition (the durable watermark).
  virtual uint64_t DurableEnd(uint32_t partition) const = 0;
  // The first offset whose record has timestamp_ms >= ts (DurableEnd when none).
  virtual Result<uint64_t> OffsetForTime(uint32_t partition, int64_t ts_ms) = 0;

  // Blocks until DurableEnd(partition) > offset, the deadline (Clock::MonoNs) passes, or
  // the log closes. Returns true when data is there.
  virtual bool WaitForData(uint32_t partition, uint64_t offset, int64_t deadline_mono_ns) = 0;
  // Registers a function called (on the committing thread — the writer thread, or a
  // blocking Append's caller, see Append — without locks held) each time the durable
  // watermark of any partition advances. Returns an id for Unsubscribe.
  virtual uint64_t Subscribe(std::function<void()> on_advance) = 0;
  virtual void Unsubscribe(uint64_t id) = 0;

  // Bytes of all segment files of this topic.
  virtual uint64_t SizeBytes() const = 0;
  // Ok while appends are accepted; the cause once the topic turned read-only.
  virtual Status health() const = 0;
};

// Durable committed positions per (topic, consumer, partition). Thread-safe; concurrent
// Commit calls share one fsync (group commit).
class PositionStore {
 public:
  virtual ~PositionStore() = default;
  struct Entry {
    std::string topic;
    std::string consumer;
    uint32_t partition = 0;
    uint64_t offset = 0;  // next offset to consume
  };
  // Durable (fsynced, whatever the log's fsync policy) when it returns ok.
  virtual Status Commit(std::span<const Entry> entries) = 0;
  virtual std::optional<uint64_t> Get(std::string_view topic, std::string_view consumer,
                                      uint32_t partition) const = 0;
  virtual std::vector<Entry> List() const = 0;
  // Forgets every position of the consumer on the topic; durable on return.
  virtual Status Remove(std::string_view topic, std::string_view consumer) = 0;
};

struct DiskUsage {
  uint64_t log_bytes = 0;    // all segment files of all topics
  uint64_t total_bytes = 0;  // of the file system holding the log
  uint64_t free_bytes = 0;
};

struct RetentionReport {
  uint64_t segments_deleted = 0;
  uint64_t bytes_deleted = 0;
  // Human-readable notes, e.g. when the size limit forced deleting records that a
  // committed consumer position had not passed yet.
  std::vector<std::string> warnings;
};

class LogManager {
 public:
  virtual ~LogManager() = default;
  // Opens (creating when absent) the log rooted at `dir`, recovering every topic: a torn
  // tail is truncated; a bad record followed by valid data fails the open with
  // Code::kCorruption naming the file and byte position.
  static Result<std::unique_ptr<LogManager>> Open(const std::string& dir, LogOptions options);

  // Returns the topic, creating it with `options` when absent. An existing topic with a
  // different partition count is Code::kConflict.
  virtual Result<TopicLog*> OpenTopic(const std::string& name, TopicOptions options) = 0;
  // nullptr when the topic does not exist. The pointer lives as long as the manager.
  virtual TopicLog* FindTopic(std::string_view name) = 0;
  virtual std::vector<std::string> TopicNames() const = 0;
  virtual PositionStore* positions() = 0;

  // Deletes whole segments past the retention limits, never past the slowest committed
  // position of the topic unless the size limit forces it (reported in warnings).
  virtual Result<RetentionReport> RunRetention() = 0;
  virtual Result<DiskUsage> GetDiskUsage() = 0;
  // Finishes pending appends, syncs, stops the writer threads. Idempotent; the
  // destructor calls it.
  virtual Status Close() = 0;
};

}  // namespace eragon::log
