// KafkaChannel: the topics of one Kafka cluster, the producer they share, the poll thread
// that runs delivery reports and refreshes watermarks, and the group-offset positions.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "channel/kafka/kafka.h"
#include "channel/kafka/kafka_admin.h"
#include "channel/kafka/kafka_group_member.h"
#include "channel/kafka/kafka_positions.h"
#include "channel/kafka/kafka_topic.h"
#include "channel/kafka/kafka_txn.h"
#include "core/thread_name.h"

namespace eragon::channel::kafka {

void DeliverReport(const rd_kafka_message_t& msg);  // kafka_topic.cc

namespace {

// How often the watermarks the reader's fetches report are taken over (records other
// clients produced become visible this much later at most, after the fetch itself).
constexpr int kPollMs = 5;

class KafkaChannel final : public Channel {
 public:
  explicit KafkaChannel(KafkaOptions options) : options_(std::move(options)) {}
  ~KafkaChannel() override { Close().ok(); }

  Status Connect();
  std::string_view kind() const override { return "kafka"; }
  Result<Topic*> OpenTopic(const std::string& name, TopicProperties properties) override;
  Topic* FindTopic(std::string_view name) override;
  std::vector<std::string> TopicNames() const override;
  PositionStore* positions() override { return positions_.get(); }
  // Cluster mode only (KafkaOptions::split_work): a real member of the consumer's group.
  Result<std::unique_ptr<GroupMember>> JoinGroup(const std::string& topic,
                                                 const std::string& consumer,
                                                 PartitionOwner* owner) override {
    if (!options_.split_work) return std::unique_ptr<GroupMember>();
    if (FindTopic(topic) == nullptr)
      return Status::NotFound("kafka topic '" + topic + "' is not open");
    return KafkaGroupMember::Join(options_, topic, KafkaTopicName(options_, topic), consumer,
                                  owner);
  }
  // The brokers apply retention (retention.ms / retention.bytes of each topic).
  Result<RetentionReport> RunRetention() override { return RetentionReport{}; }
  // The brokers' disks are not this machine's: nothing to report here.
  Result<DiskUsage> GetDiskUsage() override { return DiskUsage{}; }
  Status Close() override;

  Result<uint64_t> GroupLag(const std::string& group, const std::string& topic);
  Status FailProducerForTest() {
    return kafka::FromKafka(
        rd_kafka_test_fatal_error(Producer().get(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                  "injected by a test"),
        "inject a fatal error");
  }

 private:
  // The shared producer's configuration, or (transactional) the base of the
  // transactional producer's: the same settings, no error callback (its failures come back
  // from the transaction calls and never make the topics read-only).
  Result<Conf> ProducerConf(bool transactional);
  Status EnsureKafkaTopic(const std::string& kafka_name, uint32_t partitions);
  Result<Handle> NewReader();
  Result<std::unique_ptr<KafkaTopic>> NewTopic(const std::string& name, uint32_t partitions);
  void PollLoop();
  void OnError(int err, const char* reason);

  const KafkaOptions options_;
  // The idempotent producer; replaced after a fatal error (ReplaceProducer). Read it
  // through Producer().
  std::shared_ptr<rd_kafka_t> Producer() const {
    std::lock_guard lock(producer_mu_);
    return producer_;
  }
  void ReplaceProducer();
  mutable std::mutex producer_mu_;
  std::shared_ptr<rd_kafka_t> producer_;
  std::atomic<bool> replace_producer_{false};
  // Appends of several records (kafka_txn.h); null when options_.transactional_id is "".
  std::unique_ptr<KafkaTxnProducer> txn_;
  // Group-offset calls (OffsetFetch/OffsetCommit/OffsetDelete through the Admin API) go
  // through a consumer handle with a group of its own: librdkafka 2.0 dereferences the
  // handle's consumer group when a broker answers NOT_COORDINATOR, and a producer has none
  // (it crashed there with three brokers). The handle never subscribes, so never joins.
  Handle offsets_client_;
  std::unique_ptr<KafkaPositionStore> positions_;
  Handle reader_;       // every topic's reads (declared before topics_: outlives them)
  std::mutex open_mu_;  // one OpenTopic at a time
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<KafkaTopic>, std::less<>> topics_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  bool closed_ = false;
};

Result<Conf> KafkaChannel::ProducerConf(bool transactional) {
  const std::string timeout = std::to_string(options_.request_timeout_ms);
  ERAGON_ASSIGN_OR_RETURN(
      Conf conf,
      MakeConf(
          options_,
          {{"linger.ms", "1"},
           {"batch.num.messages", "10000"},
           {"queue.buffering.max.messages", "1000000"},
           {"queue.buffering.max.kbytes", "1048576"},
           {"message.timeout.ms", timeout},
           {"socket.timeout.ms", timeout},
           {"log.connection.close", "false"}},
          // The contract: idempotent, acknowledged by every in-sync
          // replica, keys placed as the Java client places them.
          {{"enable.idempotence", "true"}, {"acks", "all"}, {"partitioner", "murmur2_random"}}));
  rd_kafka_conf_set_dr_msg_cb(
      conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void*) { DeliverReport(*m); });
  if (transactional) return conf;
  rd_kafka_conf_set_error_cb(conf.get(), [](rd_kafka_t*, int err, const char* reason, void* me) {
    static_cast<KafkaChannel*>(me)->OnError(err, reason);
  });
  rd_kafka_conf_set_opaque(conf.get(), this);
  return conf;
}

Status KafkaChannel::Connect() {
  ERAGON_ASSIGN_OR_RETURN(Conf conf, ProducerConf(/*transactional=*/false));
  ERAGON_ASSIGN_OR_RETURN(Handle producer, NewHandle(RD_KAFKA_PRODUCER, std::move(conf)));
  producer_ = std::shared_ptr<rd_kafka_t>(producer.release(), HandleDeleter());
  Result<TopicInfo> probe = DescribeTopic(Producer().get(), "", options_.request_timeout_ms);
  if (!probe.ok()) {
    return Status::Unavailable("kafka brokers " + options_.brokers +
                               " did not answer: " + probe.status().message());
  }
  ERAGON_ASSIGN_OR_RETURN(Conf oconf, MakeConf(options_, {{"log.connection.close", "false"}},
                                               {{"group.id", options_.topic_prefix + "_offsets"},
                                                {"enable.auto.commit", "false"}}));
  ERAGON_ASSIGN_OR_RETURN(offsets_client_, NewHandle(RD_KAFKA_CONSUMER, std::move(oconf)));
  positions_ = std::make_unique<KafkaPositionStore>(
      offsets_client_.get(), options_, [this](const std::string& topic) -> uint32_t {
        std::lock_guard lock(mu_);
        auto it = topics_.find(topic);
        return it == topics_.end() ? 0 : it->second->partitions();
      });
  if (!options_.transactional_id.empty()) {
    ERAGON_ASSIGN_OR_RETURN(Conf tconf, ProducerConf(/*transactional=*/true));
    txn_ = std::make_unique<KafkaTxnProducer>(std::move(tconf), options_.transactional_id,
                                              options_.request_timeout_ms);
  }
  ERAGON_ASSIGN_OR_RETURN(reader_, NewReader());
  poller_ = std::thread([this] { PollLoop(); });
  return Status::Ok();
}

// On the poll thread (error callbacks are served by rd_kafka_poll). A fatal error (e.g.
// librdkafka 2.0's "rewound sequence number" after a leader change) ends the idempotent
// producer for good: the poll loop replaces it.
void KafkaChannel::OnError(int err, const char* reason) {
  if (err != RD_KAFKA_RESP_ERR__FATAL) return;  // transient: librdkafka retries
  std::fprintf(stderr, "eragond: kafka producer: fatal error (%s); starting a new producer\n",
               reason);
  replace_producer_ = true;
}

// A new producer takes the place of the failed one: appends from now on go through it.
// The failed one's records still queued or in flight are purged and their delivery
// reports served (each fails its publish with 503: stored or not, the client retries and
// the id index answers a duplicate if it was). A new producer that cannot be made is
// tried again at the next round.
void KafkaChannel::ReplaceProducer() {
  Result<Conf> conf = ProducerConf(/*transactional=*/false);
  Result<Handle> fresh =
      conf.ok() ? NewHandle(RD_KAFKA_PRODUCER, std::move(*conf)) : Result<Handle>(conf.status());
  if (!fresh.ok()) {
    std::fprintf(stderr, "eragond: kafka producer: cannot start a new one (%s); retrying\n",
                 fresh.status().ToString().c_str());
    replace_producer_ = true;
    return;
  }
  std::shared_ptr<rd_kafka_t> old;
  {
    std::lock_guard lock(producer_mu_);
    old = std::exchange(producer_, std::shared_ptr<rd_kafka_t>(fresh->release(), HandleDeleter()));
  }
  rd_kafka_purge(old.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.request_timeout_ms);
  while (rd_kafka_outq_len(old.get()) > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_poll(old.get(), 10);
  }
  rd_kafka_poll(old.get(), 0);
}

void KafkaChannel::PollLoop() {
  SetThreadName("kafka-poll");
  while (!stop_.load()) {
    rd_kafka_poll(Producer().get(), kPollMs);
    if (replace_producer_.exchange(false)) ReplaceProducer();
    std::vector<KafkaTopic*> topics;
    {
      std::lock_guard lock(mu_);
      for (auto& [name, topic] : topics_) topics.push_back(topic.get());
    }
    for (KafkaTopic* t : topics) t->RefreshWatermarks();
  }
}

// Creates the Kafka topic when absent; an existing one must have the partition count.
// Waits until every partition has a leader.
Status KafkaChannel::EnsureKafkaTopic(const std::string& kafka_name, uint32_t partitions) {
  const int timeout = options_.request_timeout_ms;
  ERAGON_ASSIGN_OR_RETURN(TopicInfo info, DescribeTopic(Producer().get(), kafka_name, timeout));
  if (!info.exists) {
    const int rf = options_.replication > 0 ? options_.replication : std::min(3, info.brokers);
    Status st = CreateTopic(Producer().get(), kafka_name, partitions, rf, timeout);
    if (!st.ok() && st.code() != Code::kAlreadyExists) return st;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout);
  for (;;) {
    ERAGON_ASSIGN_OR_RETURN(info, DescribeTopic(Producer().get(), kafka_name, timeout));
    if (info.exists && info.partitions != partitions) {
      return Status::Conflict("kafka topic '" + kafka_name + "' exists with " +
                              std::to_string(info.partitions) + " partitions, not " +
                              std::to_string(partitions));
    }
    if (info.exists && info.leaders) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("kafka topic '" + kafka_name + "' has no leader yet");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The consumer handle every topic reads through (legacy per-partition consumer, no group).
Result<Handle> KafkaChannel::NewReader() {
  ERAGON_ASSIGN_OR_RETURN(Conf conf, MakeConf(options_,
                                              {{"fetch.wait.max.ms", "50"},
                                               {"queued.min.messages", "10000"},
                                               {"queued.max.messages.kbytes", "32768"},
                                               {"reconnect.backoff.max.ms", "1000"},
                                               {"auto.offset.reset", "earliest"},
                                               {"log.connection.close", "false"}},
                                              // An end of partition tells the reader
                                              // past transaction markers at the end.
                                              {{"enable.auto.commit", "false"},
                                               {"enable.partition.eof", "true"},
                                               {"isolation.level", "read_committed"}}));
  return NewHandle(RD_KAFKA_CONSUMER, std::move(conf));
}

Result<std::unique_ptr<KafkaTopic>> KafkaChannel::NewTopic(const std::string& name,
                                                           uint32_t partitions) {
  const std::string kafka_name = KafkaTopicName(options_, name);
  ERAGON_RETURN_IF_ERROR(EnsureKafkaTopic(kafka_name, partitions));
  // Cluster mode: each node fetches the partitions it delivers or reads, not all of them.
  auto topic = std::make_unique<KafkaTopic>(
      name, kafka_name, partitions, [this] { return Producer(); }, txn_.get(), reader_.get(),
      options_.request_timeout_ms, !options_.split_work);
  ERAGON_RETURN_IF_ERROR(topic->Start());
  return topic;
}

Result<Topic*> KafkaChannel::OpenTopic(const std::string& name, TopicProperties properties) {
  std::lock_guard open(open_mu_);
  if (Topic* t = FindTopic(name)) {
    if (t->partitions() != properties.partitions) {
      return Status::Conflict("topic '" + name + "' exists with " +
                              std::to_string(t->partitions()) + " partitions");
    }
    return t;
  }
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Unavailable("kafka channel closed");
  }
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<KafkaTopic> topic, NewTopic(name, properties.partitions));
  std::lock_guard lock(mu_);
  Topic* out = topic.get();
  topics_.emplace(name, std::move(topic));
  return out;
}

Topic* KafkaChannel::FindTopic(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

std::vector<std::string> KafkaChannel::TopicNames() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, topic] : topics_) out.push_back(name);
  return out;
}

Status KafkaChannel::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    for (auto& [name, topic] : topics_) topic->Shutdown();
  }
  Status st;
  if (txn_) txn_->Close();  // its transactions end before the topics go
  if (std::shared_ptr<rd_kafka_t> producer = Producer()) {
    rd_kafka_resp_err_t err = rd_kafka_flush(producer.get(), options_.request_timeout_ms);
    if (err) st = FromKafka(err, "kafka flush on close");
  }
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (positions_) positions_->Close();
  std::lock_guard lock(mu_);
  topics_.clear();
  return st;
}

Result<uint64_t> KafkaChannel::GroupLag(const std::string& group, const std::string& topic) {
  Topic* t = FindTopic(topic);
  if (t == nullptr) return Status::NotFound("kafka topic '" + topic + "' is not open");
  ERAGON_ASSIGN_OR_RETURN(
      std::vector<GroupOffset> offsets,
      ListGroupOffsets(offsets_client_.get(), group, options_.request_timeout_ms));
  const std::string kafka_name = KafkaTopicName(options_, topic);
  uint64_t lag = 0;
  for (uint32_t p = 0; p < t->partitions(); ++p) {
    uint64_t at = t->StartOffset(p);
    for (const GroupOffset& o : offsets) {
      if (o.topic == kafka_name && o.partition == p) at = std::max(at, o.offset);
    }
    const uint64_t end = t->DurableEnd(p);
    lag += end > at ? end - at : 0;
  }
  return lag;
}

}  // namespace

}  // namespace eragon::channel::kafka

namespace eragon::channel {

Status KafkaFailProducerForTest(Channel* kafka) {
  auto* k = dynamic_cast<kafka::KafkaChannel*>(kafka);
  if (k == nullptr) return Status::InvalidArgument("not a kafka channel");
  return k->FailProducerForTest();
}

Result<uint64_t> KafkaGroupLag(Channel* kafka, const std::string& group, const std::string& topic) {
  auto* k = dynamic_cast<kafka::KafkaChannel*>(kafka);
  if (k == nullptr) return Status::InvalidArgument("not a kafka channel");
  return k->GroupLag(group, topic);
}

Result<std::unique_ptr<Channel>> OpenKafkaChannel(const KafkaOptions& options) {
  auto channel = std::make_unique<kafka::KafkaChannel>(options);
  ERAGON_RETURN_IF_ERROR(channel->Connect());
  return std::unique_ptr<Channel>(std::move(channel));
}

}  // namespace eragon::channel
