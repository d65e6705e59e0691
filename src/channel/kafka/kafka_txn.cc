#include "channel/kafka/kafka_txn.h"

#include <chrono>

#include "channel/kafka/kafka_append_op.h"
#include "channel/kafka/kafka_topic.h"
#include "core/thread_name.h"

namespace eragon::channel::kafka {
namespace {

struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using Error = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

}  // namespace

KafkaTxnProducer::KafkaTxnProducer(Conf conf, std::string transactional_id, int timeout_ms)
    : conf_template_(std::move(conf)),
      transactional_id_(std::move(transactional_id)),
      timeout_ms_(timeout_ms) {
  thread_ = std::thread([this] { Loop(); });
}

KafkaTxnProducer::~KafkaTxnProducer() { Close(); }

void KafkaTxnProducer::Submit(AppendOp* op, std::string kafka_topic,
                              std::vector<PreparedRecord> records) {
  std::unique_lock lock(mu_);
  if (stop_) {
    lock.unlock();
    for (PreparedRecord& r : records) rd_kafka_headers_destroy(r.headers);
    op->topic->FinishTransaction(op, Status::Unavailable("kafka channel closed"));
    return;
  }
  queue_.push_back({op, std::move(kafka_topic), std::move(records)});
  cv_.notify_one();
}

void KafkaTxnProducer::Close() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

Status KafkaTxnProducer::EnsureProducer() {
  if (ready_) return Status::Ok();
  if (!producer_) {
    Conf conf(rd_kafka_conf_dup(conf_template_.get()));
    const std::string timeout = std::to_string(timeout_ms_);
    char err[512];
    for (const auto& [k, v] :
         {std::pair<std::string, std::string>{"transactional.id", transactional_id_},
          {"transaction.timeout.ms", timeout}}) {
      if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) !=
          RD_KAFKA_CONF_OK) {
        return Status::InvalidArgument(std::string("kafka ") + k + ": " + err);
      }
    }
    ERAGON_ASSIGN_OR_RETURN(producer_, NewHandle(RD_KAFKA_PRODUCER, std::move(conf)));
  }
  Error e(rd_kafka_init_transactions(producer_.get(), timeout_ms_));
  if (e) {
    Status st = FromKafka(
        e.get(), "kafka transactions (transactional.id " + transactional_id_ + ") could not start");
    // Fatal (e.g. fenced, not authorised): a new producer next time. Otherwise the call
    // may be repeated on this one.
    if (rd_kafka_error_is_fatal(e.get())) producer_.reset();
    return Status::Unavailable(st.message());
  }
  ready_ = true;
  return Status::Ok();
}

void KafkaTxnProducer::Loop() {
  SetThreadName("kafka-txn");
  // Initialise at once (without the lock: Submit must not wait for the brokers): this
  // aborts what a killed incarnation left open.
  (void)EnsureProducer();
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and nothing left
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Status st = RunTransaction(batch);
    for (Pending& p : batch) {
      for (PreparedRecord& r : p.records) {
        if (r.headers != nullptr) rd_kafka_headers_destroy(r.headers);  // not produced
      }
      p.op->topic->FinishTransaction(p.op, st);
    }
  }
  if (producer_) {
    // Nothing is under way: a transaction always ends before the loop goes on.
    producer_.reset();
  }
}

Status KafkaTxnProducer::RunTransaction(std::vector<Pending>& batch) {
  ERAGON_RETURN_IF_ERROR(EnsureProducer());
  if (Error e{rd_kafka_begin_transaction(producer_.get())}) {
    Status st = FromKafka(e.get(), "kafka transaction begin");
    AbandonTransaction(e.get());
    return Status::Unavailable(st.message());
  }
  Status failure;
  for (Pending& p : batch) {
    p.op->remaining = 0;
    for (size_t i = 0; i < p.records.size() && failure.ok(); ++i) {
      PreparedRecord& r = p.records[i];
      MsgRef* ref = &p.op->refs[i];
      *ref = {p.op, i};
      ++p.op->remaining;
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_TOPIC(p.kafka_topic.c_str()),
          RD_KAFKA_V_PARTITION(r.partition), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
          RD_KAFKA_V_VALUE(r.value.data(), r.value.size()), RD_KAFKA_V_HEADERS(r.headers),
          RD_KAFKA_V_TIMESTAMP(r.timestamp_ms), RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
      if (err) {
        --p.op->remaining;  // no report for a record the producer did not take
        failure = FromKafka(err, "produce to " + p.kafka_topic);
        break;
      }
      r.headers = nullptr;  // the producer's now
    }
    if (!failure.ok()) break;
  }
  if (failure.ok()) {
    Error e(rd_kafka_commit_transaction(producer_.get(), -1));
    for (int retry = 0; retry < 3 && e && rd_kafka_error_is_retriable(e.get()); ++retry) {
      e.reset(rd_kafka_commit_transaction(producer_.get(), -1));
    }
    if (!e) {
      AwaitReports(batch);
      return Status::Ok();
    }
    failure = FromKafka(e.get(), "kafka transaction commit");
    AbandonTransaction(e.get());
  } else {
    AbandonTransaction(nullptr);
  }
  AwaitReports(batch);
  return Status::Unavailable(failure.message() + " (the batch was not stored)");
}

void KafkaTxnProducer::AbandonTransaction(const rd_kafka_error_t* cause) {
  if (cause == nullptr || !rd_kafka_error_is_fatal(cause)) {
    Error e(rd_kafka_abort_transaction(producer_.get(), -1));
    for (int retry = 0; retry < 3 && e && rd_kafka_error_is_retriable(e.get()); ++retry) {
      e.reset(rd_kafka_abort_transaction(producer_.get(), -1));
    }
    if (!e) return;
  }
  // Fatal: purge what is outstanding (each record gets its report) and start over with a
  // new producer before the next transaction.
  rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  ready_ = false;
}

void KafkaTxnProducer::AwaitReports(const std::vector<Pending>& batch) {
  // Every record handed over gets exactly one report (delivered, failed or purged); the
  // op may not be completed, and so freed, before. The bound is a safety net only.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(2 * timeout_ms_ + 5'000);
  bool all = true;
  for (const Pending& p : batch) {
    while (p.op->remaining.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_poll(producer_.get(), 10);
    }
    all = all && p.op->remaining.load() == 0;
  }
  // After a fatal error, a new producer for the next batch. Reports still missing past the
  // bound: destroying the producer guarantees none comes for an op about to be freed.
  if (!ready_ || !all) {
    producer_.reset();
    ready_ = false;
  }
}

}  // namespace eragon::channel::kafka
