#include "channel/kafka/kafka_topic.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <optional>

#include "channel/kafka/kafka_append_op.h"
#include "channel/kafka/kafka_record.h"
#include "channel/kafka/kafka_txn.h"
#include "core/event_codec.h"
#include "core/murmur2.h"
#include "eragon/clock.h"

namespace eragon::channel::kafka {

// The channel's delivery-report callback hands each report here (see kafka_channel.cc).
void DeliverReport(const rd_kafka_message_t& msg) {
  auto* ref = static_cast<MsgRef*>(msg._private);
  if (ref != nullptr) ref->op->topic->Delivered(ref->op, ref->index, msg);
}

KafkaTopic::KafkaTopic(std::string name, std::string kafka_name, uint32_t partitions,
                       std::function<std::shared_ptr<rd_kafka_t>()> producer, KafkaTxnProducer* txn,
                       rd_kafka_t* reader, int timeout_ms, bool fetch_all)
    : name_(std::move(name)),
      kafka_name_(std::move(kafka_name)),
      partitions_(partitions),
      timeout_ms_(timeout_ms),
      producer_(std::move(producer)),
      txn_(txn),
      reader_(reader),
      reader_topic_(rd_kafka_topic_new(reader_, kafka_name_.c_str(), nullptr)),
      fetch_all_(fetch_all),
      durable_end_(partitions, 0),
      start_(partitions, 0),
      fetching_(partitions, 0),
      follow_(partitions, 0),
      last_read_ms_(partitions, 0),
      ends_asked_ms_(partitions, INT64_MIN / 2),
      read_(new ReadState[partitions]) {}

KafkaTopic::~KafkaTopic() {
  Shutdown();
  for (uint32_t p = 0; p < partitions_; ++p) {
    if (fetching_[p]) rd_kafka_consume_stop(reader_topic_.get(), p);
  }
}

namespace {
int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

uint32_t KafkaTopic::PartitionFor(std::string_view key) const {
  return Murmur2Partition(key, partitions_);
}

Status KafkaTopic::Start() {
  for (uint32_t p = 0; p < partitions_; ++p) {
    int64_t lo = 0, hi = 0;
    ERAGON_RETURN_IF_ERROR(RetryTransient(timeout_ms_, [&] {
      return FromKafka(
          rd_kafka_query_watermark_offsets(reader_, kafka_name_.c_str(), static_cast<int32_t>(p),
                                           &lo, &hi, timeout_ms_),
          "watermarks of " + kafka_name_);
    }));
    start_[p] = static_cast<uint64_t>(lo);
    durable_end_[p] = static_cast<uint64_t>(hi);
    ends_asked_ms_[p] = SteadyMs();
    if (!fetch_all_) continue;  // cluster mode: fetched when followed or read
    if (rd_kafka_consume_start(reader_topic_.get(), static_cast<int32_t>(p), hi) == -1) {
      return FromKafka(rd_kafka_last_error(), "start reading " + kafka_name_);
    }
    fetching_[p] = 1;
    read_[p].expected = hi;
  }
  return Status::Ok();
}

void KafkaTopic::StartFetch(uint32_t partition, uint64_t offset) {
  {
    std::lock_guard lock(mu_);
    if (fetching_[partition]) return;
  }
  if (rd_kafka_consume_start(reader_topic_.get(), static_cast<int32_t>(partition),
                             static_cast<int64_t>(offset)) == -1) {
    return;  // the read that follows seeks, fails and reports why
  }
  read_[partition].expected = static_cast<int64_t>(offset);
  std::lock_guard lock(mu_);
  fetching_[partition] = 1;
}

void KafkaTopic::Follow(uint32_t partition, bool follow) {
  if (fetch_all_ || partition >= partitions_) return;
  {
    std::lock_guard lock(mu_);
    follow_[partition] = std::max(0, follow_[partition] + (follow ? 1 : -1));
    last_read_ms_[partition] = SteadyMs();  // an unfollowed one idles from now on
    if (!follow) return;
  }
  const uint64_t end = DurableEnd(partition);  // fresh: asked when not fetched yet
  std::lock_guard read(read_[partition].mu);
  StartFetch(partition, end);
}

bool KafkaTopic::Fetching(uint32_t partition) const {
  std::lock_guard lock(mu_);
  return partition < partitions_ && fetching_[partition] != 0;
}

void KafkaTopic::StopIdleFetches() {
  if (fetch_all_) return;
  const int64_t now = SteadyMs();
  if (now - idle_checked_ms_.load() < 500) return;  // the poll loop comes every 5 ms
  idle_checked_ms_ = now;
  for (uint32_t p = 0; p < partitions_; ++p) {
    {
      std::lock_guard lock(mu_);
      if (!fetching_[p] || follow_[p] > 0 || now - last_read_ms_[p] < idle_stop_ms_) continue;
    }
    std::unique_lock read(read_[p].mu, std::try_to_lock);
    if (!read.owns_lock()) continue;  // being read: not idle
    {
      std::lock_guard lock(mu_);
      if (follow_[p] > 0) continue;
      fetching_[p] = 0;
      ends_asked_ms_[p] = INT64_MIN / 2;
    }
    rd_kafka_consume_stop(reader_topic_.get(), static_cast<int32_t>(p));
    read_[p].expected = -1;
  }
}

void KafkaTopic::RefreshUnfetched(uint32_t partition) const {
  if (fetch_all_) return;
  const int64_t now = SteadyMs();
  {
    std::lock_guard lock(mu_);
    if (fetching_[partition] || now - ends_asked_ms_[partition] < 100) return;
    ends_asked_ms_[partition] = now;
  }
  int64_t lo = -1, hi = -1;
  if (rd_kafka_query_watermark_offsets(
          reader_, kafka_name_.c_str(), static_cast<int32_t>(partition), &lo, &hi,
          std::min(timeout_ms_, 2'000)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return;  // stale until the next ask; a read then finds out
  }
  std::lock_guard lock(mu_);
  if (lo >= 0 && static_cast<uint64_t>(lo) > start_[partition]) start_[partition] = lo;
  if (hi >= 0 && static_cast<uint64_t>(hi) > durable_end_[partition]) durable_end_[partition] = hi;
}

// --- appends ------------------------------------------------------------------------

// The record's partition, value and headers; the key stays the caller's (`own_key`
// false: the producer copies it at once, so the single-record path does not copy it here).
Result<PreparedRecord> KafkaTopic::Prepare(const AppendRecord& rec, bool own_key) const {
  std::optional<Event> decoded;  // when the caller did not hand the event along
  const Event* event = rec.event;
  if (event == nullptr) {
    Result<Event> d = DecodeEventRecord(rec.payload);
    if (!d.ok()) return d.status();
    decoded = std::move(*d);
    event = &*decoded;
  }
  PreparedRecord out;
  out.partition = static_cast<int32_t>(PartitionFor(rec.key));
  if (own_key) out.key = std::string(rec.key);
  out.value = KafkaValueOf(*event);
  out.headers = KafkaHeadersOf(*event);
  out.timestamp_ms = rec.timestamp_ms;
  return out;
}

Status KafkaTopic::Produce(rd_kafka_t* producer, const AppendRecord& rec, AppendOp* op,
                           size_t index) {
  ERAGON_ASSIGN_OR_RETURN(PreparedRecord r, Prepare(rec, /*own_key=*/false));
  MsgRef* ref = &op->refs[index];
  *ref = {op, index};
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer, RD_KAFKA_V_TOPIC(kafka_name_.c_str()), RD_KAFKA_V_PARTITION(r.partition),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(const_cast<char*>(rec.key.data()), rec.key.size()),
      RD_KAFKA_V_VALUE(r.value.data(), r.value.size()), RD_KAFKA_V_HEADERS(r.headers),
      RD_KAFKA_V_TIMESTAMP(r.timestamp_ms), RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
  if (err) {
    rd_kafka_headers_destroy(r.headers);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {  // being replaced by the channel
      return Status::Unavailable("produce to " + kafka_name_ + ": the producer failed; retry");
    }
    return FromKafka(err, "produce to " + kafka_name_);
  }
  return Status::Ok();
}

// Several records go in a transaction (kafka_txn.h): stored whole or not at all.
void KafkaTopic::AppendInTransaction(std::span<const AppendRecord> records, AppendOp* op) {
  std::vector<PreparedRecord> prepared;
  prepared.reserve(records.size());
  for (const AppendRecord& rec : records) {
    Result<PreparedRecord> r = Prepare(rec, /*own_key=*/true);
    if (!r.ok()) {
      for (PreparedRecord& done : prepared) rd_kafka_headers_destroy(done.headers);
      op->failure = r.status();
      Complete(op);
      return;
    }
    prepared.push_back(std::move(*r));
  }
  op->transactional = true;
  txn_->Submit(op, kafka_name_, std::move(prepared));
}

void KafkaTopic::AppendAsync(std::span<const AppendRecord> records, AppendCallback done) {
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      done(Status::Unavailable("kafka channel closed"), {});
      return;
    }
  }
  if (records.empty()) {
    done(Status::Ok(), {});
    return;
  }
  auto* op = new AppendOp;
  op->topic = this;
  op->done = std::move(done);
  op->positions.resize(records.size());
  op->refs.reset(new MsgRef[records.size()]);
  if (records.size() > 1 && txn_ != nullptr) {
    AppendInTransaction(records, op);
    return;
  }
  op->remaining = records.size();
  // The producer of the moment, taken once per append: after a fatal error the channel
  // replaces it (the old one refuses records with __FATAL: 503, the client retries).
  const std::shared_ptr<rd_kafka_t> producer = producer_();
  for (size_t i = 0; i < records.size(); ++i) {
    Status st = Produce(producer.get(), records[i], op, i);
    if (st.ok()) continue;
    {
      std::lock_guard lock(op->mu);
      op->failure = st;
    }
    // The records not handed to the producer will get no report.
    if (op->remaining.fetch_sub(records.size() - i) == records.size() - i) Complete(op);
    return;
  }
}

Result<std::vector<RecordPosition>> KafkaTopic::Append(std::span<const AppendRecord> records) {
  std::promise<Result<std::vector<RecordPosition>>> result;
  AppendAsync(records, [&result](const Status& st, std::span<const RecordPosition> pos) {
    if (st.ok()) {
      result.set_value(std::vector<RecordPosition>(pos.begin(), pos.end()));
    } else {
      result.set_value(st);
    }
  });
  return result.get_future().get();
}

void KafkaTopic::Delivered(AppendOp* op, size_t index, const rd_kafka_message_t& msg) {
  if (msg.err) {
    std::lock_guard lock(op->mu);
    // A failure the producer's sequence bookkeeping reports (a fatal error, then the
    // channel's new producer) leaves the record stored or not: 503, the client retries.
    const bool producer_failed = msg.err == RD_KAFKA_RESP_ERR__FATAL ||
                                 msg.err == RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER ||
                                 msg.err == RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID;
    if (op->failure.ok()) {
      op->failure = producer_failed ? Status::Unavailable("publish to " + kafka_name_ + ": " +
                                                          rd_kafka_err2str(msg.err) + "; retry")
                                    : FromKafka(msg.err, "publish to " + kafka_name_);
    }
  } else {
    const auto p = static_cast<uint32_t>(msg.partition);
    op->positions[index] = {p, static_cast<uint64_t>(msg.offset)};
    // In a transaction the record is not visible before the commit (FinishTransaction).
    if (!op->transactional) Advance(p, static_cast<uint64_t>(msg.offset) + 1);
  }
  if (op->remaining.fetch_sub(1) == 1 && !op->transactional) Complete(op);
}

void KafkaTopic::FinishTransaction(AppendOp* op, const Status& outcome) {
  {
    std::lock_guard lock(op->mu);
    if (!outcome.ok()) op->failure = outcome;  // the commit's word over a record's
  }
  // Visible at once, as a single record is (read-your-writes: GET /v1/events/{id} after
  // the 202). A read_committed fetch returns the records once the commit's markers reach
  // their partitions, just after the commit: a read that comes first waits that long.
  if (outcome.ok()) {
    for (const RecordPosition& pos : op->positions) Advance(pos.partition, pos.offset + 1);
  }
  Complete(op);
}

void KafkaTopic::Complete(AppendOp* op) {
  std::unique_ptr<AppendOp> owned(op);
  Status failure;
  {
    std::lock_guard lock(op->mu);
    failure = op->failure;
  }
  if (failure.ok()) {
    op->done(Status::Ok(), op->positions);
    Notify();
  } else {
    op->done(failure, {});
  }
}

// --- visibility ---------------------------------------------------------------------

void KafkaTopic::Advance(uint32_t partition, uint64_t end) {
  std::lock_guard lock(mu_);
  if (end <= durable_end_[partition]) return;
  durable_end_[partition] = end;
  advanced_.notify_all();
}

void KafkaTopic::Notify() {
  std::lock_guard lock(subs_mu_);
  for (auto& [id, fn] : subs_) fn();
}

bool KafkaTopic::RefreshWatermarks() {
  StopIdleFetches();
  std::vector<uint8_t> fetching;
  {
    std::lock_guard lock(mu_);
    fetching = fetching_;
  }
  bool moved = false;
  for (uint32_t p = 0; p < partitions_; ++p) {
    if (!fetching[p]) continue;  // no fetch reports its watermarks (RefreshUnfetched asks)
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(reader_, kafka_name_.c_str(), static_cast<int32_t>(p), &lo,
                                       &hi) != 0) {
      continue;
    }
    std::lock_guard lock(mu_);
    if (lo >= 0 && static_cast<uint64_t>(lo) > start_[p]) start_[p] = static_cast<uint64_t>(lo);
    if (hi >= 0 && static_cast<uint64_t>(hi) > durable_end_[p]) {
      durable_end_[p] = static_cast<uint64_t>(hi);
      moved = true;
    }
  }
  if (!moved) return false;
  advanced_.notify_all();
  Notify();
  return true;
}

uint64_t KafkaTopic::StartOffset(uint32_t partition) const {
  std::lock_guard lock(mu_);
  return partition < partitions_ ? start_[partition] : 0;
}

uint64_t KafkaTopic::DurableEnd(uint32_t partition) const {
  if (partition < partitions_) RefreshUnfetched(partition);
  std::lock_guard lock(mu_);
  return partition < partitions_ ? durable_end_[partition] : 0;
}

bool KafkaTopic::WaitForData(uint32_t partition, uint64_t offset, int64_t deadline_mono_ns) {
  if (partition >= partitions_) return false;
  std::unique_lock lock(mu_);
  while (!closed_ && durable_end_[partition] <= offset) {
    const int64_t left = deadline_mono_ns - Clock::System()->MonoNs();
    if (left <= 0) break;
    advanced_.wait_for(lock, std::chrono::nanoseconds(std::min<int64_t>(left, 50'000'000)));
  }
  return durable_end_[partition] > offset;
}

uint64_t KafkaTopic::Subscribe(std::function<void()> on_advance) {
  std::lock_guard lock(subs_mu_);
  uint64_t id = next_sub_++;
  subs_.emplace(id, std::move(on_advance));
  return id;
}

void KafkaTopic::Unsubscribe(uint64_t id) {
  std::lock_guard lock(subs_mu_);
  subs_.erase(id);
}

// A failed producer is replaced by the channel (no state that lasts); the brokers'
// health shows in each append's answer.
Status KafkaTopic::health() const { return Status::Ok(); }

void KafkaTopic::Shutdown() {
  std::lock_guard lock(mu_);
  closed_ = true;
  advanced_.notify_all();
}

// --- reads --------------------------------------------------------------------------

Status KafkaTopic::PositionReader(uint32_t partition, uint64_t offset) {
  ReadState& rs = read_[partition];
  if (rs.expected == static_cast<int64_t>(offset)) return Status::Ok();
  rd_kafka_resp_err_t err = rd_kafka_seek(reader_topic_.get(), static_cast<int32_t>(partition),
                                          static_cast<int64_t>(offset), timeout_ms_);
  if (err) return FromKafka(err, "seek in " + kafka_name_);
  rs.expected = static_cast<int64_t>(offset);
  return Status::Ok();
}

// Adds `msg` (destroyed here) to `out` unless it lies before `offset` (fetched before a
// seek). False when reading must stop (an error, in *error).
bool KafkaTopic::Convert(rd_kafka_message_t* msg, uint64_t offset, std::vector<Record>* out,
                         size_t* bytes, Status* error) {
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
      msg, rd_kafka_message_destroy);
  if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    // The fetch reached the end at msg->offset. Offsets below it that came as no record
    // hold none to read (transaction markers, records of aborted transactions): one
    // placeholder record with an empty payload (passed over above the seam) takes the
    // reader past them. Records fetched after it may follow in the queue: go on (stopping
    // here dropped them and cost a seek: publish->push p99 rose from 10 to 18 ms).
    const uint64_t next = out->empty() ? offset : out->back().offset + 1;
    const auto end = static_cast<uint64_t>(std::max<int64_t>(msg->offset, 0));
    if (end > next) {
      Advance(static_cast<uint32_t>(msg->partition), end);
      Record gap;
      gap.partition = static_cast<uint32_t>(msg->partition);
      gap.offset = end - 1;
      out->push_back(std::move(gap));
    }
    return true;
  }
  if (msg->err) {
    *error = FromKafka(msg->err, "read " + kafka_name_);
    return false;
  }
  if (msg->offset < static_cast<int64_t>(offset)) return true;
  Record r;
  r.partition = static_cast<uint32_t>(msg->partition);
  r.offset = static_cast<uint64_t>(msg->offset);
  r.timestamp_ms = rd_kafka_message_timestamp(msg, nullptr);
  // A record that is not an Eragon event (another producer wrote it) keeps an empty
  // payload: it decodes to nothing above the seam and is passed over.
  Result<Event> event = EventOfKafkaRecord(*msg);
  if (event.ok()) {
    EncodeEventRecord(*event, &r.payload);
    r.event = std::make_shared<const Event>(std::move(*event));
  }
  *bytes += msg->len;
  out->push_back(std::move(r));
  return true;
}

// The first record at or after `offset`, waiting for the fetch up to the request
// timeout (the caller knows records are there: offset < DurableEnd). Stale records of
// before a seek are dropped. Null when nothing came (or an error, in *error).
rd_kafka_message_t* KafkaTopic::FirstRecord(uint32_t partition, uint64_t offset, Status* error) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    rd_kafka_message_t* msg = rd_kafka_consume(reader_topic_.get(), static_cast<int32_t>(partition),
                                               static_cast<int>(left.count()));
    if (msg == nullptr) break;
    // A record before `offset` was fetched before a seek; an end of partition at or
    // before it was reported before the record the caller knows of arrived.
    if ((msg->err == 0 || msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) &&
        msg->offset <= static_cast<int64_t>(offset) - (msg->err == 0 ? 1 : 0)) {
      rd_kafka_message_destroy(msg);
      continue;
    }
    if (msg->err && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      *error = FromKafka(msg->err, "read " + kafka_name_);
      rd_kafka_message_destroy(msg);
      return nullptr;
    }
    return msg;
  }
  *error =
      Status::Unavailable("read " + kafka_name_ + " partition " + std::to_string(partition) +
                          ": no record from the brokers in " + std::to_string(timeout_ms_) + " ms");
  return nullptr;
}

Result<std::vector<Record>> KafkaTopic::Read(uint32_t partition, uint64_t offset,
                                             size_t max_records, size_t max_bytes) {
  std::vector<Record> out;
  if (partition >= partitions_) {
    return Status::InvalidArgument("partition " + std::to_string(partition) + " of topic '" +
                                   name_ + "' does not exist");
  }
  if (max_records == 0 || offset >= DurableEnd(partition)) return out;
  ReadState& rs = read_[partition];
  std::lock_guard lock(rs.mu);
  if (!fetch_all_) {
    StartFetch(partition, offset);
    std::lock_guard l(mu_);
    last_read_ms_[partition] = SteadyMs();
  }
  rd_kafka_message_t* msg = nullptr;
  Status error;
  // A first record (or end of partition) further past `offset` than a commit marker,
  // that retention does not explain, means the fetch queue was reset under us (e.g. a
  // reconnect), or offsets with nothing to read (an aborted transaction) lie between: seek
  // once more, then take what comes (Convert passes over an end of partition past
  // `offset`).
  for (int attempt = 0; attempt < 2 && msg == nullptr; ++attempt) {
    if (attempt > 0) rs.expected = -1;
    ERAGON_RETURN_IF_ERROR(PositionReader(partition, offset));
    msg = FirstRecord(partition, offset, &error);
    if (msg == nullptr) {
      rs.expected = -1;
      return error;
    }
    // One offset with nothing (a commit marker: one per transaction and partition) is
    // taken as it comes; a seek costs a refetch of what the queue prefetched.
    if (attempt == 0 && msg->offset > static_cast<int64_t>(offset) + 1 &&
        offset >= StartOffset(partition)) {
      rd_kafka_message_destroy(msg);
      msg = nullptr;
    }
  }
  size_t bytes = 0;
  bool in_step = true;
  if (Convert(msg, offset, &out, &bytes, &error)) {
    in_step = ReadQueued(partition, offset, max_records, max_bytes, &out, &bytes, &error);
  }
  if (!out.empty()) rs.expected = static_cast<int64_t>(out.back().offset + 1);
  if (!in_step) rs.expected = -1;  // seek next time
  if (!error.ok()) {
    rs.expected = -1;  // seek again next time
    if (out.empty()) return error;
  }
  return out;
}

// Takes what the fetch queue of `partition` already holds, in batches, until `max_records`
// or `max_bytes` (a batch may pass max_bytes: it is converted whole, since what is taken
// from the queue cannot be put back). False when records were taken from the queue and
// dropped (after an error): the queue no longer continues where `out` ends.
bool KafkaTopic::ReadQueued(uint32_t partition, uint64_t offset, size_t max_records,
                            size_t max_bytes, std::vector<Record>* out, size_t* bytes,
                            Status* error) {
  constexpr size_t kBatch = 128;
  rd_kafka_message_t* batch[kBatch];
  while (out->size() < max_records && *bytes < max_bytes) {
    const size_t want = std::min(kBatch, max_records - out->size());
    const ssize_t n = rd_kafka_consume_batch(reader_topic_.get(), static_cast<int32_t>(partition),
                                             0, batch, want);
    if (n <= 0) return true;
    ssize_t i = 0;
    bool go_on = true;
    while (i < n && go_on) go_on = Convert(batch[i++], offset, out, bytes, error);
    if (i < n) {
      for (; i < n; ++i) rd_kafka_message_destroy(batch[i]);
      return false;
    }
    if (!go_on) return true;
  }
  return true;
}

Result<uint64_t> KafkaTopic::OffsetForTime(uint32_t partition, int64_t ts_ms) {
  if (partition >= partitions_) {
    return Status::InvalidArgument("partition " + std::to_string(partition) + " does not exist");
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, kafka_name_.c_str(), static_cast<int32_t>(partition))
      ->offset = ts_ms;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(reader_, list, timeout_ms_);
  if (!err) err = list->elems[0].err;
  const int64_t offset = list->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return FromKafka(err, "offsets for time in " + kafka_name_);
  if (offset >= 0) return static_cast<uint64_t>(offset);
  // No record at or after the time among those read_committed readers see: the end they
  // see (the last stable offset). A transaction just committed, whose markers are not yet
  // in its partitions, lies past it and is included (never skipped).
  const uint64_t end = DurableEnd(partition);
  int64_t lo = -1, hi = -1;
  if (rd_kafka_query_watermark_offsets(reader_, kafka_name_.c_str(),
                                       static_cast<int32_t>(partition), &lo, &hi,
                                       timeout_ms_) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      hi >= 0) {
    return std::min(end, static_cast<uint64_t>(hi));
  }
  return end;
}

}  // namespace eragon::channel::kafka
