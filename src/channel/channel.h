// The channel seam: where a topic's events live. The server, the dispatcher and the id
// index code against these interfaces only. The embedded log (src/log, see embedded.h)
// is the first implementation; a broker-backed one (Kafka) is meant to be the second.
// README.md in this folder states what every implementation promises about durability,
// ordering, visibility, positions, retention and errors.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/status.h"

namespace eragon {
struct Event;
}  // namespace eragon

namespace eragon::channel {

// Properties of one topic, given when it is created. Settings that are channel-wide today
// (retention, in EmbeddedOptions) belong here once they become per topic.
struct TopicProperties {
  uint32_t partitions = 8;  // 1..1024, fixed when the topic is created
  // Which channel holds the topic, by Channel::kind(): "embedded" or "kafka". Only
  // MultiChannel (multi_channel.h) looks at it; a single channel ignores it.
  std::string_view channel = "embedded";
};

// One record to append. The views must stay valid until AppendAsync returns (the channel
// copies them before returning).
struct AppendRecord {
  std::string_view key;      // partitioning key (the entity id)
  std::string_view payload;  // opaque bytes, at most 16 MiB
  int64_t timestamp_ms = 0;  // stored with the record; used by retention and time seeks
  // The event `payload` encodes, when the caller has it decoded (the publisher does): a
  // channel that stores events in another form (Kafka: JSON) converts from it rather than
  // decoding `payload` again. Valid until AppendAsync returns, like the views.
  const Event* event = nullptr;
};

struct RecordPosition {
  uint32_t partition = 0;
  uint64_t offset = 0;
  bool operator==(const RecordPosition&) const = default;
};

struct Record {
  uint32_t partition = 0;
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  // Empty for a record the channel holds but that is not an Eragon event (on Kafka:
  // another client wrote it); readers pass over it. Appended payloads are never empty.
  std::string payload;
  // Set by a channel that had to decode the event to read it (Kafka: the record's value is
  // JSON): the same event as `payload`, so a reader that wants it decoded (the dispatcher)
  // skips a second decode. Null otherwise; readers then decode `payload`.
  std::shared_ptr<const Event> event;
};

// Called once per append: ok with one position per record (in input order), or the
// error. The callbacks of one topic's accepted appends run one at a time, in append
// order, on one of the topic's internal threads (for the embedded log usually its writer
// thread, between one group commit and the next; its completion thread when the group
// also holds blocking Appends). An append refused at once (closed, read-only, too large,
// kResourceExhausted) gets its callback on the calling thread before AppendAsync
// returns. Must not block (it delays the next commit), and must not call the blocking
// Append or Close.
using AppendCallback = std::function<void(const Status&, std::span<const RecordPosition>)>;

// One topic: a fixed number of partitions, each an ordered sequence of records.
// Thread-safe.
class Topic {
 public:
  virtual ~Topic() = default;
  virtual const std::string& name() const = 0;
  virtual uint32_t partitions() const = 0;
  // murmur2(key) mod partitions, exactly as Kafka's default partitioner.
  virtual uint32_t PartitionFor(std::string_view key) const = 0;

  // Appends the records as one unit: after a crash either all of them are in the topic
  // or none is. Records of one partition get consecutive increasing offsets in input
  // order. The callback runs when the batch is durable under the channel's durability
  // policy (for the embedded log its fsync policy), or failed.
  virtual void AppendAsync(std::span<const AppendRecord> records, AppendCallback done) = 0;
  // Blocking form of AppendAsync: same durability, no copy of the records. The embedded
  // log under kAlways, while appends arrive one at a time, may commit on the calling
  // thread itself (and run on_commit and the Subscribe functions there) instead of
  // handing over to the writer thread, saving two thread wake-ups per append.
  virtual Result<std::vector<RecordPosition>> Append(std::span<const AppendRecord> records) = 0;

  // Records of `partition` from `offset` on, at most max_records and about max_bytes
  // (at least one record when any is readable). Only durable records are returned.
  // An offset below StartOffset() starts at StartOffset(). A record that fails its CRC
  // is never returned: the read fails with Code::kCorruption naming file and position.
  virtual Result<std::vector<Record>> Read(uint32_t partition, uint64_t offset, size_t max_records,
                                           size_t max_bytes) = 0;
  // First retained offset of the partition.
  virtual uint64_t StartOffset(uint32_t partition) const = 0;
  // One past the last durable record of the partition (the durable watermark).
  virtual uint64_t DurableEnd(uint32_t partition) const = 0;
  // The first offset whose record has timestamp_ms >= ts (DurableEnd when none).
  virtual Result<uint64_t> OffsetForTime(uint32_t partition, int64_t ts_ms) = 0;

  // Blocks until DurableEnd(partition) > offset, the deadline (Clock::MonoNs) passes, or
  // the channel closes. Returns true when data is there.
  virtual bool WaitForData(uint32_t partition, uint64_t offset, int64_t deadline_mono_ns) = 0;
  // Registers a function called (on the committing thread — for the embedded log the
  // writer thread, or a blocking Append's caller, see Append — without locks held) each
  // time the durable watermark of any partition advances. Returns an id for Unsubscribe.
  virtual uint64_t Subscribe(std::function<void()> on_advance) = 0;
  // Returns after any running call of the function finished (except when called from
  // inside it).
  virtual void Unsubscribe(uint64_t id) = 0;

  // Bytes the topic occupies in storage (for the embedded log: all its segment files).
  virtual uint64_t SizeBytes() const = 0;
  // Whoever delivers or reads `partition` continuously says so (reference-counted): a
  // channel that fetches ahead from elsewhere (Kafka in cluster mode) then keeps fetching
  // it, so DurableEnd and Subscribe follow it as new records arrive. The embedded log
  // needs nothing.
  virtual void Follow(uint32_t partition, bool follow) { (void)partition, (void)follow; }
  // Ok while appends are accepted; the cause once the topic turned read-only.
  virtual Status health() const = 0;
};

// Durable committed positions per (topic, consumer, partition). Thread-safe; the
// embedded store lets concurrent Commit calls share one fsync (group commit).
class PositionStore {
 public:
  virtual ~PositionStore() = default;
  struct Entry {
    std::string topic;
    std::string consumer;
    uint32_t partition = 0;
    uint64_t offset = 0;  // next offset to consume
  };
  // Durable (fsynced, whatever the topics' durability policy) when it returns ok.
  virtual Status Commit(std::span<const Entry> entries) = 0;
  virtual std::optional<uint64_t> Get(std::string_view topic, std::string_view consumer,
                                      uint32_t partition) const = 0;
  virtual std::vector<Entry> List() const = 0;
  // Forgets every position of the consumer on the topic; durable on return.
  virtual Status Remove(std::string_view topic, std::string_view consumer) = 0;
};

// Cluster mode (API.md "Running a cluster"): which partitions of a topic this node delivers
// for a consumer, decided by a consumer group the channel runs (Channel::JoinGroup). The
// dispatcher's worker implements it; the calls come from the group member's own thread.
class PartitionOwner {
 public:
  virtual ~PartitionOwner() = default;
  struct Assigned {
    uint32_t partition = 0;
    std::optional<uint64_t> committed;  // the group's position; none: start per the route
  };
  // The partitions are this node's from now on. Returns the positions to commit at once
  // (those it chose for partitions the group had none for).
  virtual std::vector<PositionStore::Entry> Assign(std::span<const Assigned> partitions) = 0;
  // The partitions go to another node: start no new delivery on them, let those in flight
  // finish (bounded), forget their state, and return the contiguous done position of each
  // (for the group member to commit before the next owner starts from it). `lost`: the
  // group already gave them away (this node's session expired): nothing is committed.
  virtual std::vector<PositionStore::Entry> Revoke(std::span<const uint32_t> partitions,
                                                   bool lost) = 0;
};

// This node's membership of a consumer's group on one topic. Destroying it leaves the
// group (its partitions are revoked first, their positions committed).
class GroupMember {
 public:
  virtual ~GroupMember() = default;
  // Positions of owned partitions, committed through the member (the only way a group
  // with members accepts them); those of partitions no longer owned are dropped. Does not
  // wait for the brokers.
  virtual void Commit(std::span<const PositionStore::Entry> entries) = 0;
};

struct DiskUsage {
  uint64_t log_bytes = 0;    // all topics' bytes in the channel's storage
  uint64_t total_bytes = 0;  // of the file system holding them
  uint64_t free_bytes = 0;
};

struct RetentionReport {
  uint64_t segments_deleted = 0;
  uint64_t bytes_deleted = 0;
  // Human-readable notes, e.g. when the size limit forced deleting records that a
  // committed consumer position had not passed yet.
  std::vector<std::string> warnings;
};

// The set of topics and the committed positions. Thread-safe.
class Channel {
 public:
  virtual ~Channel() = default;
  // What implements the channel: "embedded" for the log in src/log.
  virtual std::string_view kind() const = 0;

  // Returns the topic, creating it with `properties` when absent. An existing topic with
  // a different partition count is Code::kConflict.
  virtual Result<Topic*> OpenTopic(const std::string& name, TopicProperties properties) = 0;
  // nullptr when the topic does not exist. The pointer lives as long as the channel.
  virtual Topic* FindTopic(std::string_view name) = 0;
  virtual std::vector<std::string> TopicNames() const = 0;
  virtual PositionStore* positions() = 0;
  // Cluster mode: joins the consumer's group for `topic`; `owner` hears which partitions
  // it delivers and must outlive the member. Null when the channel does not split work
  // between nodes (the embedded log; Kafka without a shared config store): this node
  // then delivers every partition, with positions in positions().
  virtual Result<std::unique_ptr<GroupMember>> JoinGroup(const std::string& topic,
                                                         const std::string& consumer,
                                                         PartitionOwner* owner) {
    (void)topic, (void)consumer, (void)owner;
    return std::unique_ptr<GroupMember>();
  }

  // Deletes whole segments past the retention limits, never past the slowest committed
  // position of the topic unless the size limit forces it (reported in warnings).
  virtual Result<RetentionReport> RunRetention() = 0;
  virtual Result<DiskUsage> GetDiskUsage() = 0;
  // Finishes pending appends, syncs, stops the channel's threads. Idempotent; the
  // destructor calls it.
  virtual Status Close() = 0;
};

}  // namespace eragon::channel
