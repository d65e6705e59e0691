// KafkaGroupMember: cluster mode's work split (API.md "Running a cluster"). One real member
// of the consumer's group `<prefix><consumer>` per (consumer, Kafka topic) on each node: a
// librdkafka high-level consumer subscribed to the topic, used for membership, assignment
// and commits only. It never hands records over (each assigned partition is paused at
// once; the topic's reader reads the records): its rebalance callback tells the
// PartitionOwner (the dispatcher's worker) which partitions this node delivers, and every
// position of the group goes through it (OffsetCommit with the member's generation; a
// group with members refuses the Admin API's AlterConsumerGroupOffsets).
//
// Protocol: cooperative-sticky. A membership change (a node joins, leaves or dies) moves
// only the partitions that must move; the others keep delivering without a pause (with
// an eager assignor every node would stop and restart every partition on each change).
// Timeouts: session 6 s, heartbeat 2 s: a node killed with kill -9 loses its partitions
// about 6 s later (the broker's group.initial.rebalance.delay.ms adds to the first join).
//
// Commits: a commit must never follow this member's JoinGroup. The coordinator answers an
// OffsetCommit queued behind it with ILLEGAL_GENERATION (the join bumped the generation),
// and librdkafka 2.0 (before 2.8.3, librdkafka#4059) then sets its generation to -1: the
// SyncGroup or the next heartbeat is refused too and the whole assignment is *lost*
// (dropped without a commit, its events since the last commit delivered again). So
// nothing here commits outside a rebalance callback: the owner's positions are stored
// (rd_kafka_offsets_store) and librdkafka's auto-commit timer commits them once a second,
// on its own thread and only in the steady join state (sent before any JoinGroup on the
// coordinator's connection, it meets its own generation); a revoke commits synchronously in
// the callback (the member rejoins only after it returns, so the next owner starts
// exactly there) and stores the same positions, which the unassign commits again.
//
// Threads: one of its own, polling every 100 ms (max.poll.interval.ms is 30 s), running the
// rebalance callbacks and storing the positions. Destroying the member leaves the group
// after revoking its partitions.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "channel/channel.h"
#include "channel/kafka/kafka_client.h"

namespace eragon::channel::kafka {

class KafkaGroupMember final : public GroupMember {
 public:
  // Joins (the assignment arrives later, through `owner`). `topic` is the Eragon topic,
  // `kafka_topic` the Kafka topic holding it.
  static Result<std::unique_ptr<GroupMember>> Join(const KafkaOptions& options,
                                                   const std::string& topic,
                                                   const std::string& kafka_topic,
                                                   const std::string& consumer,
                                                   PartitionOwner* owner);
  ~KafkaGroupMember() override;

  void Commit(std::span<const PositionStore::Entry> entries) override;

 private:
  KafkaGroupMember(const KafkaOptions& options, const std::string& topic,
                   const std::string& kafka_topic, const std::string& consumer,
                   PartitionOwner* owner);
  void Run();
  void OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void OnAssign(rd_kafka_topic_partition_list_t* parts);
  void OnRevoke(rd_kafka_topic_partition_list_t* parts);
  // The group's committed positions of `parts` (retried while the brokers answer
  // transient errors; a partition without one has none).
  std::vector<PartitionOwner::Assigned> Committed(const rd_kafka_topic_partition_list_t* parts);
  // Synchronous OffsetCommit of these positions (partition -> next offset): only inside a
  // rebalance callback, where no JoinGroup of this member can be under way.
  Status CommitNow(const std::map<uint32_t, uint64_t>& positions);
  // Hands positions to librdkafka (rd_kafka_offsets_store) for its commit timer.
  void Store(const std::map<uint32_t, uint64_t>& positions);
  // Stores what Commit queued; a position that moved back (a replay, a seek to an earlier
  // time) is also committed at once (asynchronously): the timer commits only positions
  // past the committed ones.
  void StorePending();

  const std::string topic_;
  const std::string kafka_topic_;
  const std::string consumer_;
  PartitionOwner* const owner_;
  const int timeout_ms_;
  Handle rk_;
  std::mutex mu_;
  std::set<uint32_t> owned_;              // guarded by mu_
  std::map<uint32_t, uint64_t> pending_;  // guarded by mu_: positions not stored yet
  // The last position stored or committed per owned partition (the member's thread only).
  std::map<uint32_t, uint64_t> last_stored_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace eragon::channel::kafka
