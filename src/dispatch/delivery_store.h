// DeliveryStore: the dispatcher's durable state besides committed positions (which live
// in the log's PositionStore): per-consumer delivery states (also the retry schedule),
// dead letters and dedup keys. RocksDB in <data-dir>/dispatch.
//
// Durability: every write goes through RocksDB's WAL. Plain writes are not fsynced (they
// survive a crash of the process, not of the machine: at worst an event is delivered
// again, which at-least-once allows); WriteBatch(sync = true) is fsynced before it
// returns (pull acks are durable before they are answered). Thread-safe.
//
// Why RocksDB: dedup must stay fast at 10 million keys (point lookups that mostly miss,
// answered by bloom filters, data on disk not in memory); states and dead letters are
// range-scanned and range-deleted by consumer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

struct DeadLetter {
  Event event;
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  uint32_t attempts = 0;
  int32_t last_status = 0;
  std::string last_error;
  int64_t dead_at = 0;
  std::string key;  // the store's key, for Remove
};

// A set of changes applied atomically.
class DeliveryBatch {
 public:
  DeliveryBatch();
  ~DeliveryBatch();
  void PutState(const std::string& consumer, const std::string& topic, uint32_t partition,
                uint64_t offset, const DeliveryState& state);
  void PutDead(const std::string& consumer, const DeadLetter& dead);
  void RemoveDead(const std::string& key);
  // Claims a dedup key until now_ms + ttl_ms (ttl_ms 0: for ever). The expiry is fixed
  // at the claim: a later change of the route's TTL applies to later claims.
  void ClaimDedup(const std::string& consumer, const std::string& event_type,
                  const std::string& key, int64_t now_ms, int64_t ttl_ms);
  // A redrive in progress: the dead letter `dead_key` is being delivered again by the
  // (consumer, topic) worker. Marks survive a restart until the delivery ends.
  void MarkRedrive(const std::string& consumer, const std::string& topic,
                   const std::string& dead_key);
  void UnmarkRedrive(const std::string& consumer, const std::string& topic,
                     const std::string& dead_key);
  bool empty() const;
  void Clear();

 private:
  friend class DeliveryStore;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DeliveryStore {
 public:
  // `clock` (default: the system's) tells compactions which dedup keys have expired;
  // they are deleted then (RocksDB compaction filter, and a periodic compaction daily).
  static Result<std::unique_ptr<DeliveryStore>> Open(const std::string& dir,
                                                     Clock* clock = nullptr);
  ~DeliveryStore();

  Status Write(DeliveryBatch& batch, bool sync);
  // Makes every write that returned before this call durable (fsyncs the WAL). The
  // dispatcher calls it before it commits positions, so a position never passes an event
  // whose state could be lost; pull acks call it before they are answered. Concurrent
  // callers share fsyncs (group commit); after a failed fsync every call fails (the store
  // is not trusted to be durable again until a restart).
  Status Sync();

  std::optional<DeliveryState> GetState(const std::string& consumer, const std::string& topic,
                                        uint32_t partition, uint64_t offset);
  // One past the highest offset at or above `from` of the partition with a state (0 when
  // there is none there).
  uint64_t StateEnd(const std::string& consumer, const std::string& topic, uint32_t partition,
                    uint64_t from);
  // Whether the dedup key was claimed and has not expired at now_ms.
  bool DedupClaimed(const std::string& consumer, const std::string& event_type,
                    const std::string& key, int64_t now_ms);
  // Dedup keys of (consumer, event type) still stored, expired or not (for tests and
  // operators: expired keys disappear at the next compaction of their file).
  uint64_t CountDedupKeys(const std::string& consumer, const std::string& event_type);
  // Compacts the whole store now (drops expired dedup keys).
  Status CompactAll();

  // Dead letters of (consumer, event type), oldest first, after the cursor key.
  std::vector<DeadLetter> ListDead(const std::string& consumer, const std::string& event_type,
                                   const std::string& after_key, size_t limit);
  uint64_t CountDead(const std::string& consumer);
  // The dead letters marked as being redriven by (consumer, topic), in redrive order.
  std::vector<DeadLetter> ListRedrives(const std::string& consumer, const std::string& topic);

  // Drops states of (consumer, topic) for offsets in [from, to) of a partition.
  Status RemoveStates(const std::string& consumer, const std::string& topic, uint32_t partition,
                      uint64_t from, uint64_t to);
  // Drops everything of (consumer, event type): dead letters and dedup keys.
  Status RemoveConsumerType(const std::string& consumer, const std::string& event_type);
  // Drops every state and redrive mark of (consumer, topic).
  Status RemoveConsumerTopic(const std::string& consumer, const std::string& topic);

  Status Close();

  struct Impl;

 private:
  explicit DeliveryStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eragon::dispatch
