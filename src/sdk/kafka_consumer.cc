// KafkaConsumer (eragon/kafka_consumer.h): one poll thread owns the librdkafka consumer
// (polls, rebalances, commits, pause/resume), `concurrency` handler threads are fed by a
// BasicEntityScheduler (per-entity order), KafkaOffsets tracks the contiguous done offsets.
#include "eragon/kafka_consumer.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "channel/kafka/kafka_record.h"
#include "sdk/consumer_backoff.h"
#include "sdk/consumer_scheduler.h"
#include "sdk/kafka_dedup.h"
#include "sdk/kafka_offsets.h"

namespace eragon {

namespace {

// One received record on its way to a handler.
struct KafkaItem {
  sdk::PartitionPtr part;
  int64_t offset = 0;
  Delivery delivery;
};

Status Range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi) return Status::Ok();
  return Status::InvalidArgument(std::string(name) + ": must be from " + std::to_string(lo) +
                                 " to " + std::to_string(hi) + ", not " + std::to_string(v));
}

// Records polled in one go before they are handed to the scheduler together.
constexpr int kPollBatch = 500;
constexpr int kPollWaitMs = 100;

}  // namespace

struct KafkaConsumer::Impl {
  explicit Impl(KafkaConsumerOptions o) : options(std::move(o)) {}

  Status Validate() const;
  Status Open();
  void PollLoop();
  void Receive(const rd_kafka_message_t& m, std::vector<KafkaItem>* batch);
  void FlowControl();
  void Rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void Commit(const std::vector<sdk::PartitionOffset>& offsets);
  void Shutdown();
  void WorkLoop();
  void Handle(KafkaItem& item);
  void Report(const Status& st) const {
    if (options.on_error) options.on_error(st);
  }
  // librdkafka's callbacks (opaque = this), on the poll thread.
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);

  const KafkaConsumerOptions options;
  HandlerSet handlers;
  std::atomic<uint64_t> received{0}, succeeded{0}, failed{0}, duplicates{0}, skipped{0}, commits{0},
      commit_errors{0}, rebalances{0};
  sdk::BasicEntityScheduler<KafkaItem> scheduler;
  sdk::KafkaOffsets offsets;
  std::optional<sdk::IdLru> dedup;

  rd_kafka_t* rk = nullptr;  // owned by the poll thread once started
  bool paused = false;       // poll thread only: above max_records (until half of it)
  std::atomic<bool> stopping{false};
  std::mutex mu;  // Start/Stop
  bool started = false;
  bool stopped = false;
  std::thread poller;
  std::vector<std::thread> workers;
};

Status KafkaConsumer::Impl::Validate() const {
  const KafkaConsumerOptions& o = options;
  if (o.bootstrap.empty()) return Status::InvalidArgument("bootstrap: required");
  if (o.topic.empty()) return Status::InvalidArgument("topic: required");
  if (o.group.empty()) return Status::InvalidArgument("group: required");
  constexpr int64_t kMaxMs = 3'600'000;
  for (Status st :
       {Range("concurrency", o.concurrency, 1, 1024),
        Range("max_records", o.max_records, 1, 1'000'000),
        Range("commit_interval_ms", o.commit_interval_ms, 1, kMaxMs),
        Range("retry_initial_backoff_ms", o.retry_initial_backoff_ms, 1, kMaxMs),
        Range("retry_max_backoff_ms", o.retry_max_backoff_ms, o.retry_initial_backoff_ms, kMaxMs),
        Range("dedup_capacity", static_cast<int64_t>(o.dedup_capacity), 0, 10'000'000)}) {
    if (!st.ok()) return st;
  }
  if (handlers.empty()) return Status::InvalidArgument("handlers: register at least one");
  return Status::Ok();
}

void KafkaConsumer::Impl::OnRebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<Impl*>(opaque)->Rebalance(err, parts);
}

void KafkaConsumer::Impl::OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<Impl*>(opaque)->Report(Status::Unavailable(
      std::string("kafka: ") + rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ": " +
      reason));
}

// Creates the consumer and subscribes. The user's properties first, then the pinned ones.
Status KafkaConsumer::Impl::Open() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = options.config;
  props.insert(props.end(), {{"bootstrap.servers", options.bootstrap},
                             {"group.id", options.group},
                             {"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             // Ends of partitions move the commit past transaction markers.
                             {"enable.partition.eof", "true"},
                             {"isolation.level", "read_committed"},
                             {"auto.offset.reset", options.from_earliest ? "earliest" : "latest"}});
  char err[512];
  for (const auto& [name, value] : props) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("config: " + name + ": " + err);
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, OnRebalance);
  rd_kafka_conf_set_error_cb(conf, OnError);
  rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka consumer: ") + err);
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(rk);
    rk = nullptr;
    return Status::InvalidArgument("subscribe to " + options.topic + ": " + rd_kafka_err2str(e));
  }
  return Status::Ok();
}

void KafkaConsumer::Impl::PollLoop() {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(options.commit_interval_ms);
  Clock::time_point next_commit = Clock::now() + interval;
  std::vector<KafkaItem> batch;
  while (!stopping) {
    FlowControl();
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, kPollWaitMs);
    for (int n = 1; m != nullptr; ++n) {
      Receive(*m, &batch);
      rd_kafka_message_destroy(m);
      m = n < kPollBatch ? rd_kafka_consumer_poll(rk, 0) : nullptr;
    }
    scheduler.Add(std::move(batch));
    batch.clear();
    if (Clock::now() >= next_commit) {
      Commit(offsets.ToCommit());
      next_commit = Clock::now() + interval;
    }
  }
  Shutdown();
}

void KafkaConsumer::Impl::Receive(const rd_kafka_message_t& m, std::vector<KafkaItem>* batch) {
  if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    if (sdk::PartitionPtr part = offsets.Find(m.partition)) offsets.ReachedEnd(*part, m.offset);
    return;
  }
  if (m.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Report(Status::Unavailable(std::string("kafka: ") + rd_kafka_message_errstr(&m)));
    return;
  }
  sdk::PartitionPtr part = offsets.Find(m.partition);
  if (part == nullptr) return;  // not (any more) assigned here
  ++received;
  part->fetched = true;
  offsets.Received(*part, m.offset);
  Result<Event> event = channel::kafka::EventOfKafkaRecord(m);
  if (!event.ok()) {
    ++skipped;
    Report(Status(event.status().code(), options.topic + ": " + event.status().message()));
    offsets.Finish(*part, m.offset);
    return;
  }
  batch->push_back({std::move(part), m.offset, Delivery{std::move(event).value(), 1}});
}

// Pauses the partitions while max_records are held; resumes them at half. Only partitions
// that delivered a record under their current assignment are paused: librdkafka resumes a
// partition at the position after the last record it delivered, and a partition assigned
// again would otherwise resume where its previous assignment ended (skipping the records
// from the committed offset on).
void KafkaConsumer::Impl::FlowControl() {
  const size_t held = scheduler.outstanding();
  const size_t max = static_cast<size_t>(options.max_records);
  if (held >= max) paused = true;
  if (held * 2 <= max) paused = false;
  rd_kafka_topic_partition_list_t* change = nullptr;
  for (const sdk::PartitionPtr& p : offsets.Assigned()) {
    if (p->paused == paused || (paused && !p->fetched)) continue;
    if (change == nullptr) change = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_add(change, options.topic.c_str(), p->partition);
    p->paused = paused;
  }
  if (change == nullptr) return;
  if (paused) rd_kafka_pause_partitions(rk, change);
  if (!paused) rd_kafka_resume_partitions(rk, change);
  rd_kafka_topic_partition_list_destroy(change);
}

// Runs on the poll thread, inside rd_kafka_consumer_poll or rd_kafka_consumer_close.
void KafkaConsumer::Impl::Rebalance(rd_kafka_resp_err_t err,
                                    rd_kafka_topic_partition_list_t* parts) {
  ++rebalances;
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  const bool cooperative = protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; ++i) offsets.Assign(parts->elems[i].partition);
    // The offsets in `parts` are "invalid": each partition resumes at the group's
    // committed offset (or auto.offset.reset).
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) {
        Report(Status::Unavailable(std::string("kafka assign: ") + rd_kafka_error_string(e)));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, parts);
    }
    return;
  }
  // Revoked (or an error): finish the partitions' running handlers, commit what is done,
  // drop what is queued (Take passes over records of revoked partitions).
  std::vector<int32_t> gone;
  for (int i = 0; i < parts->cnt; ++i) gone.push_back(parts->elems[i].partition);
  rd_kafka_resume_partitions(rk, parts);  // none stays paused for a later assignment
  std::vector<sdk::PartitionOffset> done = offsets.Revoke(gone);
  if (!rd_kafka_assignment_lost(rk)) Commit(done);
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

// A synchronous commit of `offs` (next offsets to consume); a failure is reported and the
// offsets stay due, so the next commit sends them again.
void KafkaConsumer::Impl::Commit(const std::vector<sdk::PartitionOffset>& offs) {
  if (offs.empty()) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(offs.size()));
  for (const auto& [partition, offset] : offs) {
    rd_kafka_topic_partition_list_add(list, options.topic.c_str(), partition)->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(rk, list, 0);
  for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i) err = list->elems[i].err;
  rd_kafka_topic_partition_list_destroy(list);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++commits;
    offsets.Committed(offs);
  } else {
    ++commit_errors;
    Report(Status::Unavailable("kafka commit to group " + options.group + ": " +
                               rd_kafka_err2str(err)));
  }
}

// On the poll thread after Stop: handlers finish, done offsets are committed, the consumer
// leaves the group (its partitions are revoked through Rebalance) and is destroyed.
void KafkaConsumer::Impl::Shutdown() {
  scheduler.Close();
  offsets.Stop();
  for (std::thread& t : workers) t.join();
  Commit(offsets.ToCommit());
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Report(Status::Unavailable(std::string("kafka close: ") + rd_kafka_err2str(err)));
  }
  rd_kafka_destroy(rk);
  rk = nullptr;
}

void KafkaConsumer::Impl::WorkLoop() {
  while (std::optional<KafkaItem> item = scheduler.Take()) {
    Handle(*item);
    scheduler.Done(item->delivery.event.entity_id);
  }
}

// Runs the handler until it succeeds, or the partition is revoked, or Stop began.
void KafkaConsumer::Impl::Handle(KafkaItem& item) {
  sdk::PartitionState& part = *item.part;
  if (!offsets.BeginRun(part)) return;  // revoked since received, or stopping: dropped
  const Event& event = item.delivery.event;
  if (dedup && dedup->Contains(event.id)) {
    ++duplicates;
    offsets.EndRun(part, item.offset, true);
    return;
  }
  sdk::Backoff backoff(options.retry_initial_backoff_ms, options.retry_max_backoff_ms);
  while (true) {
    Status st = handlers.Run(item.delivery);
    if (st.ok()) {
      ++succeeded;
      if (dedup) dedup->Insert(event.id);
      offsets.EndRun(part, item.offset, true);
      return;
    }
    ++failed;
    Report(Status(st.code(), "handler for " + event.event_type + " " + event.id + " (attempt " +
                                 std::to_string(item.delivery.attempt) + "): " + st.message()));
    if (!offsets.WaitBeforeRetry(part, backoff.NextMs())) {
      offsets.EndRun(part, item.offset, false);
      return;
    }
    ++item.delivery.attempt;
  }
}

KafkaConsumer::KafkaConsumer(KafkaConsumerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

KafkaConsumer::~KafkaConsumer() { Stop(); }

void KafkaConsumer::On(std::string event_type, Handler handler) {
  impl_->handlers.On(std::move(event_type), std::move(handler));
}

void KafkaConsumer::OnAny(Handler handler) { impl_->handlers.OnAny(std::move(handler)); }

Status KafkaConsumer::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return Status::InvalidArgument("Start: already called");
  ERAGON_RETURN_IF_ERROR(impl_->Validate());
  ERAGON_RETURN_IF_ERROR(impl_->Open());
  impl_->started = true;
  if (impl_->options.dedup_capacity > 0) impl_->dedup.emplace(impl_->options.dedup_capacity);
  for (int i = 0; i < impl_->options.concurrency; ++i) {
    impl_->workers.emplace_back([this] { impl_->WorkLoop(); });
  }
  impl_->poller = std::thread([this] { impl_->PollLoop(); });
  return Status::Ok();
}

void KafkaConsumer::Stop() {
  std::lock_guard lock(impl_->mu);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->stopping = true;
  impl_->poller.join();  // Shutdown: handlers, commit, leave the group
}

KafkaConsumerStats KafkaConsumer::stats() const {
  const Impl& i = *impl_;
  return {i.received, i.succeeded, i.failed,        i.duplicates,
          i.skipped,  i.commits,   i.commit_errors, i.rebalances};
}

}  // namespace eragon
