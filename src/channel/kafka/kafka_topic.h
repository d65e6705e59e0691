// KafkaTopic: one Eragon topic on a Kafka topic, behind channel::Topic.
//
// Appends go through the channel's one idempotent producer (acks=all), each record to
// the partition PartitionFor(key) names; the callback runs on the producer's poll thread
// once the brokers acknowledged every record of the batch (or one failed). An append of
// several records goes in a Kafka transaction instead when the channel has a
// transactional producer (kafka_txn.h): its callback runs after the commit or abort, on
// that producer's thread, and a read_committed reader sees all of it or none. Reads come
// from the topic's own reader (librdkafka's simple consumer: one fetch queue per
// partition, no group), started at the end of every partition so that its fetches keep the
// watermarks fresh; a read elsewhere seeks. DurableEnd is the larger of the high watermark
// the fetches report and one past the last record this process had acknowledged, so a
// record is visible here as soon as the broker acknowledged it, never before.
//
// In cluster mode (`fetch_all` false) a node fetches only what it needs: the partitions
// someone follows (Follow: those its consumer groups assign it, the saga engine's topics)
// and, for a while after each read, a partition read on demand (GET, listings); fetching
// every partition on every node fetched each event once per node. DurableEnd of a
// partition not being fetched asks the brokers (at most every 100 ms).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "channel/channel.h"
#include "channel/kafka/kafka_client.h"

namespace eragon::channel::kafka {

struct AppendOp;
struct PreparedRecord;
class KafkaTxnProducer;

class KafkaTopic : public Topic {
 public:
  // `producer` gives the channel's idempotent producer now (the channel replaces it after a
  // fatal error), `txn` its transactional producer
  // (null: appends of several records go through `producer` too, not atomically);
  // `reader` is the channel's consumer handle the topics share (one fetch session and one
  // set of librdkafka threads per node, not per topic; it outlives the topic).
  KafkaTopic(std::string name, std::string kafka_name, uint32_t partitions,
             std::function<std::shared_ptr<rd_kafka_t>()> producer, KafkaTxnProducer* txn,
             rd_kafka_t* reader, int timeout_ms, bool fetch_all = true);
  ~KafkaTopic() override;

  const std::string& name() const override { return name_; }
  const std::string& kafka_name() const { return kafka_name_; }
  uint32_t partitions() const override { return partitions_; }
  uint32_t PartitionFor(std::string_view key) const override;

  void AppendAsync(std::span<const AppendRecord> records, AppendCallback done) override;
  Result<std::vector<RecordPosition>> Append(std::span<const AppendRecord> records) override;

  Result<std::vector<Record>> Read(uint32_t partition, uint64_t offset, size_t max_records,
                                   size_t max_bytes) override;
  uint64_t StartOffset(uint32_t partition) const override;
  uint64_t DurableEnd(uint32_t partition) const override;
  Result<uint64_t> OffsetForTime(uint32_t partition, int64_t ts_ms) override;

  bool WaitForData(uint32_t partition, uint64_t offset, int64_t deadline_mono_ns) override;
  uint64_t Subscribe(std::function<void()> on_advance) override;
  void Unsubscribe(uint64_t id) override;

  uint64_t SizeBytes() const override { return 0; }  // the brokers keep it
  void Follow(uint32_t partition, bool follow) override;
  // Whether the reader fetches `partition` now (tests).
  bool Fetching(uint32_t partition) const;
  // A partition read on demand (not followed) stops being fetched this long after its
  // last read (cluster mode).
  void set_idle_stop_ms(int64_t ms) { idle_stop_ms_ = ms; }
  Status health() const override;

  // Starts the reader on every partition and loads the watermarks from the brokers.
  Status Start();
  // The producer's delivery report of one record of `op` (poll thread).
  void Delivered(AppendOp* op, size_t index, const rd_kafka_message_t& msg);
  // The transaction holding `op` committed (OK) or was abandoned: completes `op`.
  void FinishTransaction(AppendOp* op, const Status& outcome);
  // Takes the watermarks the reader's fetches reported for the partitions it fetches;
  // wakes waiters when they moved (and says so).
  bool RefreshWatermarks();

  // Wakes every waiter; later waits return at once.
  void Shutdown();

 private:
  Result<PreparedRecord> Prepare(const AppendRecord& rec, bool own_key) const;
  Status Produce(rd_kafka_t* producer, const AppendRecord& rec, AppendOp* op, size_t index);
  void AppendInTransaction(std::span<const AppendRecord> records, AppendOp* op);
  void Complete(AppendOp* op);
  void Advance(uint32_t partition, uint64_t end);  // durable end moved (maybe)
  void Notify();
  Status PositionReader(uint32_t partition, uint64_t offset);
  // Starts fetching `partition` at `offset` unless it is. REQUIRES: read_[partition].mu.
  void StartFetch(uint32_t partition, uint64_t offset);
  // Stops fetching partitions nobody follows that were not read for idle_stop_ms_.
  void StopIdleFetches();
  // Asks the brokers for the watermarks of a partition not being fetched (at most every
  // 100 ms; fetch_all: never).
  void RefreshUnfetched(uint32_t partition) const;
  rd_kafka_message_t* FirstRecord(uint32_t partition, uint64_t offset, Status* error);
  bool Convert(rd_kafka_message_t* msg, uint64_t offset, std::vector<Record>* out, size_t* bytes,
               Status* error);
  bool ReadQueued(uint32_t partition, uint64_t offset, size_t max_records, size_t max_bytes,
                  std::vector<Record>* out, size_t* bytes, Status* error);

  const std::string name_;
  const std::string kafka_name_;
  const uint32_t partitions_;
  const int timeout_ms_;
  const std::function<std::shared_ptr<rd_kafka_t>()> producer_;
  KafkaTxnProducer* const txn_;
  rd_kafka_t* const reader_;
  TopicHandle reader_topic_;

  const bool fetch_all_;
  std::atomic<int64_t> idle_stop_ms_{10'000};
  std::atomic<int64_t> idle_checked_ms_{0};  // the poll thread's last StopIdleFetches
  mutable std::mutex mu_;
  std::condition_variable advanced_;
  mutable std::vector<uint64_t> durable_end_;  // mutable: RefreshUnfetched
  mutable std::vector<uint64_t> start_;
  std::vector<uint8_t> fetching_;               // the reader fetches the partition now
  std::vector<int> follow_;                     // Follow(p, true) minus Follow(p, false)
  std::vector<int64_t> last_read_ms_;           // steady ms of the last Read
  mutable std::vector<int64_t> ends_asked_ms_;  // steady ms of the last RefreshUnfetched
  bool closed_ = false;

  struct ReadState {
    std::mutex mu;
    int64_t expected = -1;  // offset the queue yields next; -1: unknown (seek first)
  };
  std::unique_ptr<ReadState[]> read_;

  std::mutex subs_mu_;  // held while the functions run, so Unsubscribe waits for them
  std::map<uint64_t, std::function<void()>> subs_;
  uint64_t next_sub_ = 1;
};

}  // namespace eragon::channel::kafka
