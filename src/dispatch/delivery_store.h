// DeliveryStore: the dispatcher's durable state besides committed positions (which live
// in the log's PositionStore): per-consumer delivery states (also the retry schedule),
// dead letters, dedup claims and redrive marks. An interface: a single node keeps them in
// RocksDB (rocks_delivery_store.h); a cluster may keep them elsewhere (PostgreSQL).
//
// What every implementation promises:
//  - Write(batch) applies the batch's changes atomically and in order. Without `sync` it
//    survives a crash of the process, not necessarily of the machine (at worst an event
//    is delivered again, which at-least-once allows); with `sync` it is durable when it
//    returns.
//  - Sync() makes every write that returned before the call durable. Concurrent callers
//    share the work (group commit). A failed Sync is never retried: it and every later
//    Sync fail until a restart (what a failed fsync dropped cannot be told apart from
//    what a retry would find durable).
//  - Thread-safe: any method from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dispatch/attempt_record.h"
#include "eragon/clock.h"
#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon::dispatch {

enum class DeliveryStateKind : uint8_t {
  kPending = 0,
  kInFlight = 1,
  kRetrying = 2,
  kDelivered = 3,
  kDead = 4,
  kSkippedDuplicate = 5,
  kExpired = 6,
  kFiltered = 7,  // the route's filter did not match: not delivered, position moves on
};
std::string_view StateName(DeliveryStateKind k);

struct DeliveryState {
  DeliveryStateKind state = DeliveryStateKind::kPending;
  uint32_t attempts = 0;
  int32_t last_status = 0;
  int64_t next_attempt_at = 0;  // ms; when retrying
  int64_t delivered_at = 0;     // ms; when delivered
  std::string last_error;
};

// A state's bytes in a DeliveryBatch (stores may keep them as they are): the kind, then
// attempts, last_status, next_attempt_at, delivered_at (little-endian, 1+4+4+8+8 bytes),
// then last_error. Decode returns nullopt for bytes too short to be one.
void AppendDeliveryState(const DeliveryState& state, std::string* out);
std::optional<DeliveryState> DecodeDeliveryState(std::string_view bytes);

struct DeadLetter {
  Event event;
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  uint32_t attempts = 0;
  int32_t last_status = 0;
  std::string last_error;
  int64_t dead_at = 0;
  std::string key;  // the store's id of the dead letter: a list cursor, for RemoveDead
};

// A dead letter's bytes (its event as a record, topic, partition, offset, attempts, last
// status, dead_at, last error; `key` is not part of them), and back (nullopt when
// malformed): what a store keeps.
std::string EncodeDeadLetter(const DeadLetter& d);
std::optional<DeadLetter> DecodeDeadLetter(std::string_view bytes);

// A redrive mark whose event's partition is not known.
inline constexpr uint32_t kNoPartition = UINT32_MAX;

// One change of a DeliveryBatch, as DeliveryBatch::ForEach shows it to a store. The
// views point into the batch: valid until it is changed or cleared.
struct DeliveryOp {
  enum class Kind : uint8_t {
    kPutState,       // consumer, scope = topic, partition, offset, state
    kPutDead,        // consumer, dead
    kRemoveDead,     // key = the dead letter's key
    kClaimDedup,     // consumer, scope = event type, key = dedup key, claimed_at, expires_at
    kMarkRedrive,    // consumer, scope = topic, key = the dead letter's key, partition =
                     // the event's (kNoPartition: not known)
    kUnmarkRedrive,  // consumer, scope = topic, key = the dead letter's key
    kAddAttempt,     // consumer, scope = topic, partition, offset, state = AttemptRecord bytes
                     // (a store may group the attempts of a batch: order per event is kept)
  };
  Kind kind = Kind::kPutState;
  std::string_view consumer;
  std::string_view scope;
  std::string_view key;
  uint32_t partition = 0;
  uint64_t offset = 0;
  std::string_view state;  // AppendDeliveryState's (kAddAttempt: AppendAttemptRecord's) bytes
  int64_t claimed_at = 0;
  int64_t expires_at = 0;  // INT64_MAX: never
  const DeadLetter* dead = nullptr;
};

// A set of changes applied atomically and in order by DeliveryStore::Write. Store-neutral:
// the changes are appended to one buffer (no allocation per change once it has grown;
// Clear keeps its capacity), and the store reads them back with ForEach.
class DeliveryBatch {
 public:
  void PutState(std::string_view consumer, std::string_view topic, uint32_t partition,
                uint64_t offset, const DeliveryState& state);
  void PutDead(std::string_view consumer, const DeadLetter& dead);
  void RemoveDead(std::string_view key);
  // Claims a dedup key until now_ms + ttl_ms (ttl_ms 0: for ever). The expiry is fixed
  // at the claim: a later change of the route's TTL applies to later claims.
  void ClaimDedup(std::string_view consumer, std::string_view event_type, std::string_view key,
                  int64_t now_ms, int64_t ttl_ms);
  // A redrive in progress: the dead letter `dead_key` is being delivered again by the
  // (consumer, topic) worker. Marks survive a restart until the delivery ends.
  // `partition` is the event's: in a cluster the node that delivers that partition
  // delivers the redrive (kNoPartition: any node).
  void MarkRedrive(std::string_view consumer, std::string_view topic, std::string_view dead_key,
                   uint32_t partition = kNoPartition);
  void UnmarkRedrive(std::string_view consumer, std::string_view topic, std::string_view dead_key);
  // Appends an attempt to the event's history for the consumer (the store keeps the last
  // kAttemptsKept).
  void AddAttempt(std::string_view consumer, std::string_view topic, uint32_t partition,
                  uint64_t offset, const AttemptFields& attempt);
  // Appends the changes of `attempts`, a batch holding only AddAttempt changes.
  void AppendAttempts(const DeliveryBatch& attempts);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  size_t bytes() const { return buf_.size(); }  // of the encoded changes: a size hint
  void Clear();

  // Calls f(const DeliveryOp&) for each change, in the order they were made.
  template <typename F>
  void ForEach(F&& f) const {
    DeliveryOp op;
    for (size_t pos = 0; Next(&pos, &op);) f(op);
  }

 private:
  void Begin(DeliveryOp::Kind kind, std::string_view consumer, std::string_view scope,
             std::string_view key);
  bool Next(size_t* pos, DeliveryOp* op) const;
  void BeginSized(size_t* at);  // reserves a 4-byte length
  void EndSized(size_t at);     // fills it in with what was appended since

  std::string buf_;
  std::vector<DeadLetter> dead_;
  size_t count_ = 0;
};

class DeliveryStore {
 public:
  // Opens the single node's store: RocksDB in `dir` (RocksDeliveryStore::Open, where
  // `clock` is described), as leveldb::DB::Open opens its one implementation.
  static Result<std::unique_ptr<DeliveryStore>> Open(const std::string& dir,
                                                     Clock* clock = nullptr);
  virtual ~DeliveryStore() = default;

  // Applies the batch (see the promises above); the batch is left as it was.
  virtual Status Write(const DeliveryBatch& batch, bool sync) = 0;
  // Makes every write that returned before this call durable. The dispatcher calls it
  // before it commits positions, so a position never passes an event whose state could
  // be lost; pull acks call it before they are answered. Group commit; sticky failure.
  virtual Status Sync() = 0;

  virtual std::optional<DeliveryState> GetState(const std::string& consumer,
                                                const std::string& topic, uint32_t partition,
                                                uint64_t offset) = 0;
  // One past the highest offset at or above `from` of the partition with a state (0 when
  // there is none there).
  virtual uint64_t StateEnd(const std::string& consumer, const std::string& topic,
                            uint32_t partition, uint64_t from) = 0;
  // Whether the dedup key was claimed and has not expired at now_ms.
  virtual bool DedupClaimed(const std::string& consumer, const std::string& event_type,
                            const std::string& key, int64_t now_ms) = 0;

  // Dead letters of (consumer, event type), oldest first, after the cursor key.
  virtual std::vector<DeadLetter> ListDead(const std::string& consumer,
                                           const std::string& event_type,
                                           const std::string& after_key, size_t limit) = 0;
  virtual uint64_t CountDead(const std::string& consumer) = 0;
  // The dead letters marked as being redriven by (consumer, topic), in redrive order; at
  // most `limit` (marks whose dead letter is gone are skipped).
  // `partitions` (cluster mode: those this node delivers): only the marks of events in
  // them, and marks without a partition; null: all.
  virtual std::vector<DeadLetter> ListRedrives(
      const std::string& consumer, const std::string& topic, size_t limit = SIZE_MAX,
      const std::vector<uint32_t>* partitions = nullptr) = 0;

  // The attempt history of the event at (topic, partition, offset) for the consumer,
  // oldest first (at most kAttemptsKept).
  virtual std::vector<AttemptRecord> Attempts(const std::string& consumer, const std::string& topic,
                                              uint32_t partition, uint64_t offset) = 0;
  // Drops the attempt histories of (consumer, topic) for offsets in [from, to) of a
  // partition (events retention removed).
  virtual Status RemoveAttempts(const std::string& consumer, const std::string& topic,
                                uint32_t partition, uint64_t from, uint64_t to) = 0;

  // Drops states of (consumer, topic) for offsets in [from, to) of a partition.
  virtual Status RemoveStates(const std::string& consumer, const std::string& topic,
                              uint32_t partition, uint64_t from, uint64_t to) = 0;
  // Drops everything of (consumer, event type): dead letters and dedup keys.
  virtual Status RemoveConsumerType(const std::string& consumer, const std::string& event_type) = 0;
  // Drops every state, attempt history and redrive mark of (consumer, topic).
  virtual Status RemoveConsumerTopic(const std::string& consumer, const std::string& topic) = 0;

  virtual Status Close() = 0;
};

}  // namespace eragon::dispatch
