// Blocking calls of librdkafka's Admin API and metadata, for the Kafka channel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "channel/kafka/kafka_client.h"

namespace eragon::channel::kafka {

struct TopicInfo {
  bool exists = false;
  uint32_t partitions = 0;
  bool leaders = false;  // every partition has a leader
  int brokers = 0;       // in the cluster
};

// What the cluster's metadata says about `topic` (without creating it).
Result<TopicInfo> DescribeTopic(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

// CreateTopics; kAlreadyExists when another client created it first.
Status CreateTopic(rd_kafka_t* rk, const std::string& topic, uint32_t partitions, int replication,
                   int timeout_ms);

// One consumer group's committed offsets, partition -> next offset to consume.
struct GroupOffset {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
};
Result<std::vector<GroupOffset>> ListGroupOffsets(rd_kafka_t* rk, const std::string& group,
                                                  int timeout_ms);
// Commits offsets for a group that has no active members (OffsetCommit).
Status AlterGroupOffsets(rd_kafka_t* rk, const std::string& group,
                         const std::vector<GroupOffset>& offsets, int timeout_ms);
// Forgets the group's offsets of `topic`'s partitions 0..partitions-1 (OffsetDelete).
Status DeleteGroupOffsets(rd_kafka_t* rk, const std::string& group, const std::string& topic,
                          uint32_t partitions, int timeout_ms);

}  // namespace eragon::channel::kafka
