// KafkaTxnProducer: the channel's transactional producer, through which an append of
// several records goes, so that it is stored whole or not at all, also when a broker fails
// in the middle of it (single records keep the idempotent producer, one round trip).
//
// One thread (`kafka-txn`) takes every append queued meanwhile and produces them in one
// transaction (group commit): begin, produce each record, commit. The appends of a
// transaction succeed or fail together: a commit that fails (a record not acknowledged
// within the request timeout, a broker down, the coordinator unreachable) aborts the
// transaction, and readers in `read_committed` mode (eragond's own, kcat's, the SDK's
// KafkaConsumer) never see its records. An append completes (its KafkaTopic callback) only
// after the commit or the abort, once every delivery report of its records was served.
//
// transactional.id is `<prefix>txn.<node id>`, stable across restarts of a data dir: the
// producer's initialisation at start aborts a transaction that a killed incarnation left
// open, which would otherwise hold back what read_committed readers see of its partitions
// until the transaction timeout (--kafka-timeout-ms). Two live nodes must not share a node
// id (they would fence each other: appends fail with kUnavailable and are retried by the
// clients). A fatal producer error recreates the producer before the next transaction.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "channel/kafka/kafka_client.h"

namespace eragon::channel::kafka {

struct AppendOp;

// A record of an append, ready for the producer: made by KafkaTopic when the append is
// queued (the AppendRecord's views are not valid after AppendAsync returns).
struct PreparedRecord {
  int32_t partition = 0;
  std::string key;
  std::string value;
  rd_kafka_headers_t* headers = nullptr;  // owned until produced (then the producer's)
  int64_t timestamp_ms = 0;
};

class KafkaTxnProducer {
 public:
  // `conf` is a producer configuration (the delivery-report callback set); the
  // transactional settings are added here. Starts the thread, which initialises the
  // producer at once (and again before a transaction while that fails).
  KafkaTxnProducer(Conf conf, std::string transactional_id, int timeout_ms);
  ~KafkaTxnProducer();

  // Queues the records of `op` (op->refs sized to them) for the next transaction. The
  // thread completes `op` through its topic (KafkaTopic::FinishTransaction).
  void Submit(AppendOp* op, std::string kafka_topic, std::vector<PreparedRecord> records);
  // Produces what is queued (each transaction bounded by the request timeout) and stops
  // the thread; a Submit after it fails its op at once.
  void Close();

 private:
  struct Pending {
    AppendOp* op = nullptr;
    std::string kafka_topic;
    std::vector<PreparedRecord> records;
  };
  void Loop();
  // Creates and initialises the producer unless it is ready.
  Status EnsureProducer();
  // Produces `batch` in one transaction; OK when it committed.
  Status RunTransaction(std::vector<Pending>& batch);
  // Ends a transaction that cannot commit (abort, or a new producer after a fatal error).
  void AbandonTransaction(const rd_kafka_error_t* cause);
  // Serves delivery reports until every record of `batch` handed to the producer had one.
  void AwaitReports(const std::vector<Pending>& batch);

  Conf conf_template_;  // a copy is made for each producer
  const std::string transactional_id_;
  const int timeout_ms_;
  Handle producer_;
  bool ready_ = false;  // init_transactions succeeded on producer_

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace eragon::channel::kafka
