// Committed positions of the Kafka channel: consumer-group offsets in Kafka itself, one
// group per Eragon consumer (`<topic prefix><consumer>`, e.g. eragon.payment-service),
// written with OffsetCommit for a group without members (the Admin API's
// AlterConsumerGroupOffsets) and read back with OffsetFetch. A commit is durable once the
// group coordinator acknowledged it (the __consumer_offsets topic, replicated).
//
// Commit does not wait for the brokers: it records the positions (Get sees them at once)
// and a committer thread writes them, the latest per (topic, consumer, partition), one
// admin call per consumer, so the dispatcher never waits a broker round trip. A commit
// the brokers refuse is tried again (unless a newer position replaced it); Close writes
// what is pending. A crash loses at most the positions of the last moments: the restart
// resumes there and the delivery states (kept below the positions anyway) skip what was
// done, as after any crash between two commits.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "channel/channel.h"
#include "channel/kafka/kafka_client.h"

namespace eragon::channel::kafka {

class KafkaPositionStore : public PositionStore {
 public:
  // `rk` makes the admin calls (kafka_channel.cc says which handle); `partitions_of`
  // gives an open topic's partition count (0 when it is not open).
  KafkaPositionStore(rd_kafka_t* rk, const KafkaOptions& options,
                     std::function<uint32_t(const std::string&)> partitions_of);
  ~KafkaPositionStore() override;

  Status Commit(std::span<const Entry> entries) override;
  // Loads the consumer's group offsets on first use; while the brokers cannot be
  // reached it keeps trying (a missing position would make the consumer skip ahead),
  // until Close.
  std::optional<uint64_t> Get(std::string_view topic, std::string_view consumer,
                              uint32_t partition) const override;
  // The positions of the groups this process has read or committed.
  std::vector<Entry> List() const override;
  Status Remove(std::string_view topic, std::string_view consumer) override;

  // Writes the pending positions (up to the request timeout) and stops the committer.
  void Close();

 private:
  using Key = std::tuple<std::string, std::string, uint32_t>;  // topic, consumer, partition
  std::string GroupOf(std::string_view consumer) const;
  Status LoadLocked(const std::string& consumer) const;
  void CommitLoop();
  // Writes `batch` to the brokers; what failed goes back to pending_ unless newer.
  void Write(std::map<Key, uint64_t> batch);

  rd_kafka_t* const rk_;
  const std::string prefix_;
  const int timeout_ms_;
  const std::function<uint32_t(const std::string&)> partitions_of_;
  mutable std::mutex mu_;
  mutable std::map<Key, uint64_t> cache_;
  mutable std::set<std::string, std::less<>> loaded_;  // consumers
  bool closed_ = false;

  std::mutex write_mu_;  // held while positions are written or removed at the brokers
  std::condition_variable pending_cv_;
  std::map<Key, uint64_t> pending_;  // guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::thread committer_;
};

}  // namespace eragon::channel::kafka
