// The Kafka channel: topics on an Apache Kafka cluster behind the channel seam
// (../channel.h). eragond opens it with --kafka-brokers; producer routes with
// `channel: "kafka"` put their topic here. README.md in this folder says how each promise
// of the seam maps onto Kafka.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "channel/channel.h"
#include "eragon/status.h"

namespace eragon::channel {

struct KafkaOptions {
  std::string brokers;  // bootstrap.servers: host:port[,host:port...]
  // librdkafka `name=value` properties (TLS, SASL, tuning) applied to every client,
  // after eragond's defaults and before the settings the contract pins (idempotence,
  // acks=all, the murmur2 partitioner), which cannot be overridden.
  std::vector<std::pair<std::string, std::string>> properties;
  std::string topic_prefix = "eragon.";  // Kafka topic = prefix + Eragon topic
  int replication = 0;                   // 0: min(3, brokers in the cluster)
  // Longest a publish waits for the brokers' acknowledgement before failing with
  // kUnavailable (message.timeout.ms), and the timeout of admin and offset calls.
  int request_timeout_ms = 10000;
  std::string client_id = "eragond";
  // Cluster mode (several eragond on one config store): each consumer's partitions are
  // split between the nodes by its consumer group (Channel::JoinGroup, README.md).
  bool split_work = false;
  // An append of several records (a batch publish) goes in a Kafka transaction with this
  // transactional.id, so a broker failure stores all of it or none (kafka_txn.h); "":
  // through the idempotent producer, record by record. eragond: `<prefix>txn.<node id>`.
  std::string transactional_id;
};

// Reads a librdkafka properties file: `name=value` lines, `#` comments, blank lines.
Result<std::vector<std::pair<std::string, std::string>>> ReadKafkaProperties(
    const std::string& path);

// Connects to the cluster (fails with kUnavailable when no broker answers within the
// request timeout). Topics are opened (created when absent) by OpenTopic.
Result<std::unique_ptr<Channel>> OpenKafkaChannel(const KafkaOptions& options);

// How far a Kafka consumer group (a consumer application's own, for routes of type
// kafka) is behind on `topic` of `kafka` (a channel OpenKafkaChannel made, with the topic
// open): the records past its committed offsets, counting a partition without one from its
// start. Asks the group coordinator (one round trip).
Result<uint64_t> KafkaGroupLag(Channel* kafka, const std::string& group, const std::string& topic);

// Tests: makes the channel's idempotent producer fail for good, as librdkafka's fatal
// errors do (rd_kafka_test_fatal_error); the channel then starts a new producer.
Status KafkaFailProducerForTest(Channel* kafka);

// The Kafka topic that holds an Eragon topic.
inline std::string KafkaTopicName(const KafkaOptions& o, const std::string& topic) {
  return o.topic_prefix + topic;
}

}  // namespace eragon::channel
