// RocksDeliveryStore: the single node's DeliveryStore, in RocksDB (<data-dir>/dispatch,
// Debian's librocksdb).
//
// Durability: every write goes through RocksDB's WAL; Write(batch, sync = true) and Sync()
// fsync it (SyncWAL). Thread-safe.
//
// Why RocksDB: dedup must stay fast at 10 million keys (point lookups that mostly miss,
// answered by bloom filters, data on disk not in memory); states and dead letters are
// range-scanned and range-deleted by consumer.
#pragma once

#include <memory>
#include <string>

#include "dispatch/delivery_store.h"
#include "eragon/clock.h"

namespace rocksdb {
class Env;
}

namespace eragon::dispatch {

class RocksDeliveryStore final : public DeliveryStore {
 public:
  // `clock` (default: the system's) tells compactions which dedup keys have expired;
  // they are deleted then (RocksDB compaction filter, and a periodic compaction daily).
  // `env` (null: RocksDB's default) must outlive the store; tests pass one over a
  // fault-injecting file system (testing/fault_injection_fs.h).
  static Result<std::unique_ptr<RocksDeliveryStore>> Open(const std::string& dir,
                                                          Clock* clock = nullptr,
                                                          rocksdb::Env* env = nullptr);
  ~RocksDeliveryStore() override;

  Status Write(const DeliveryBatch& batch, bool sync) override;
  Status Sync() override;
  std::optional<DeliveryState> GetState(const std::string& consumer, const std::string& topic,
                                        uint32_t partition, uint64_t offset) override;
  uint64_t StateEnd(const std::string& consumer, const std::string& topic, uint32_t partition,
                    uint64_t from) override;
  bool DedupClaimed(const std::string& consumer, const std::string& event_type,
                    const std::string& key, int64_t now_ms) override;
  std::vector<DeadLetter> ListDead(const std::string& consumer, const std::string& event_type,
                                   const std::string& after_key, size_t limit) override;
  uint64_t CountDead(const std::string& consumer) override;
  // A single node delivers every partition: `partitions` is not looked at.
  std::vector<DeadLetter> ListRedrives(const std::string& consumer, const std::string& topic,
                                       size_t limit = SIZE_MAX,
                                       const std::vector<uint32_t>* partitions = nullptr) override;
  std::vector<AttemptRecord> Attempts(const std::string& consumer, const std::string& topic,
                                      uint32_t partition, uint64_t offset) override;
  Status RemoveAttempts(const std::string& consumer, const std::string& topic, uint32_t partition,
                        uint64_t from, uint64_t to) override;
  Status RemoveStates(const std::string& consumer, const std::string& topic, uint32_t partition,
                      uint64_t from, uint64_t to) override;
  Status RemoveConsumerType(const std::string& consumer, const std::string& event_type) override;
  Status RemoveConsumerTopic(const std::string& consumer, const std::string& topic) override;
  Status Close() override;

  // Dedup keys of (consumer, event type) still stored, expired or not (for tests and
  // operators: expired keys disappear at the next compaction of their file).
  uint64_t CountDedupKeys(const std::string& consumer, const std::string& event_type);
  // Compacts the whole store now (drops expired dedup keys).
  Status CompactAll();

  struct Impl;

 private:
  explicit RocksDeliveryStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eragon::dispatch
