// Producer: Open, Publish, Flush, Close, and the dispatcher thread that moves records from
// the queue to the lanes (producer_lane.h).
#include "eragon/producer.h"

#include <chrono>

#include "core/murmur2.h"
#include "core/uuid.h"
#include "eragon/clock.h"
#include "sdk/producer_lane.h"
#include "sdk/producer_record.h"

namespace eragon {

struct Producer::Impl {
  sdk::ProducerCore core;
  std::vector<std::unique_ptr<sdk::Lane>> lanes;
  std::thread dispatcher;
  std::mutex close_mu;
  bool closed = false;
  Status close_status;
  std::atomic<bool> accepting{true};

  void Dispatch();
  Status Enqueue(Event event, PublishCallback done);
  // Gives the event its id and occurred_at when missing, validates and encodes it.
  static Result<std::string> Prepare(Event& event);
  void DrainOrAbandon();
  void ResolveLeftovers();
};

namespace {

Status ValidateOptions(const ProducerOptions& o) {
  if (!o.endpoint.starts_with("http://") && !o.endpoint.starts_with("https://")) {
    return Status::InvalidArgument("endpoint: must be http[s]://HOST:PORT, got '" + o.endpoint +
                                   "'");
  }
  if (o.token.empty()) return Status::InvalidArgument("token: required");
  if (o.lanes < 1 || o.lanes > 64) return Status::InvalidArgument("lanes: must be 1..64");
  if (o.batch_max_events < 1 || o.batch_max_events > 1000) {
    return Status::InvalidArgument("batch_max_events: must be 1..1000 (the server's limit)");
  }
  if (o.batch_max_bytes < 1024 || o.batch_max_bytes > (8ull << 20) - 64) {
    return Status::InvalidArgument("batch_max_bytes: must be 1 KiB .. 8 MiB (the server's limit)");
  }
  if (o.linger_ms < 0 || o.queue_full_block_ms < 0 || o.close_timeout_ms < 0 ||
      o.retry_backoff_initial_ms < 0 || o.retry_backoff_max_ms < 0) {
    return Status::InvalidArgument("linger, block, close and backoff times must not be negative");
  }
  if (o.connect_timeout_ms <= 0 || o.request_timeout_ms <= 0) {
    return Status::InvalidArgument("connect_timeout_ms and request_timeout_ms must be positive");
  }
  if (o.max_retries < -1) return Status::InvalidArgument("max_retries: -1 or more");
  if (!o.custom_queue && o.queue == QueueKind::kFile && o.backup_dir.empty()) {
    return Status::InvalidArgument("backup_dir: required for the file queue");
  }
  return Status::Ok();
}

Result<std::shared_ptr<EventQueue>> OpenQueue(const ProducerOptions& o) {
  if (o.custom_queue) return o.custom_queue;
  if (o.queue == QueueKind::kMemory) {
    return std::shared_ptr<EventQueue>(
        NewMemoryQueue({.max_records = o.queue_max_events, .max_bytes = o.queue_max_bytes}));
  }
  FileQueueOptions f;
  f.dir = o.backup_dir;
  f.fsync = o.backup_fsync;
  f.fsync_interval_ms = o.backup_fsync_interval_ms;
  f.segment_bytes = o.backup_segment_bytes;
  f.max_records = o.queue_max_events;
  f.max_bytes = o.queue_max_bytes;
  f.env = o.env;
  ERAGON_ASSIGN_OR_RETURN(auto q, OpenFileQueue(std::move(f)));
  return std::shared_ptr<EventQueue>(std::move(q));
}

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Open(ProducerOptions options) {
  ERAGON_RETURN_IF_ERROR(ValidateOptions(options));
  auto impl = std::make_unique<Impl>();
  ERAGON_ASSIGN_OR_RETURN(impl->core.queue, OpenQueue(options));
  impl->core.options = std::move(options);
  for (int i = 0; i < impl->core.options.lanes; ++i) {
    impl->lanes.push_back(std::make_unique<sdk::Lane>(&impl->core));
  }
  for (auto& lane : impl->lanes) lane->Start();
  Impl* raw = impl.get();
  impl->dispatcher = std::thread([raw] { raw->Dispatch(); });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() { (void)Close(); }

void Producer::Impl::Dispatch() {
  const uint32_t n = static_cast<uint32_t>(lanes.size());
  std::vector<QueuedRecord> taken;
  std::vector<std::vector<sdk::LaneRecord>> per_lane(n);
  while (!core.stop.load()) {
    taken.clear();
    Status s = core.queue->Take(4096, std::chrono::milliseconds(100), &taken);
    if (!s.ok() && taken.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // failed backup; Close ends us
      continue;
    }
    const int64_t now = SteadyNs();
    for (QueuedRecord& r : taken) {
      auto view = sdk::DecodeEventRecord(r.payload);
      if (!view.ok()) {  // a record a newer SDK wrote into the backup
        core.Resolve(r, "", view.status());
        const uint64_t seq = r.seq;
        (void)core.queue->Done({&seq, 1});
        continue;
      }
      const uint32_t lane = n == 1 ? 0 : Murmur2Partition(view->entity(r.payload), n);
      per_lane[lane].push_back(sdk::LaneRecord{std::move(r), *view, now});
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (!per_lane[i].empty()) lanes[i]->Push(per_lane[i]);
    }
  }
}

Result<std::string> Producer::Impl::Prepare(Event& event) {
  if (event.id.empty()) event.id = NewUuidV7(Clock::System());
  if (event.occurred_at == 0) event.occurred_at = Clock::System()->WallMs();
  ERAGON_RETURN_IF_ERROR(sdk::ValidateEvent(event));
  return sdk::EncodeEventRecord(event);
}

Status Producer::Impl::Enqueue(Event event, PublishCallback done) {
  if (!accepting.load()) return Status::Unavailable("producer is closed");
  ERAGON_ASSIGN_OR_RETURN(std::string record, Prepare(event));
  auto completion = std::make_shared<sdk::Completion>(sdk::Completion{std::move(done)});
  auto seq = core.queue->Enqueue(std::move(record), std::move(completion),
                                 std::chrono::milliseconds(core.options.queue_full_block_ms));
  return seq.status();
}

Result<std::vector<PublishFuture>> Producer::PublishBatch(std::vector<Event> events) {
  if (!impl_->accepting.load()) return Status::Unavailable("producer is closed");
  if (events.empty()) return Status::InvalidArgument("PublishBatch: no events");
  std::vector<QueuedRecord> records;
  std::vector<PublishFuture> futures;
  records.reserve(events.size());
  futures.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    Result<std::string> record = Impl::Prepare(events[i]);
    if (!record.ok()) {
      return Status(record.status().code(),
                    "events[" + std::to_string(i) + "]: " + record.status().message());
    }
    auto promise = std::make_shared<std::promise<Result<PublishAck>>>();
    futures.push_back(promise->get_future());
    auto completion = std::make_shared<sdk::Completion>(
        sdk::Completion{[promise](const Result<PublishAck>& r) { promise->set_value(r); }});
    records.push_back(QueuedRecord{0, std::move(record).value(), std::move(completion)});
  }
  auto seq = impl_->core.queue->EnqueueBatch(
      std::move(records), std::chrono::milliseconds(impl_->core.options.queue_full_block_ms));
  if (!seq.ok()) return seq.status();
  if (impl_->core.options.mode == PublishMode::kSync) {
    for (auto& f : futures) f.wait();
  }
  return futures;
}

PublishFuture Producer::Publish(Event event) {
  auto promise = std::make_shared<std::promise<Result<PublishAck>>>();
  PublishFuture future = promise->get_future();
  Status s = impl_->Enqueue(std::move(event),
                            [promise](const Result<PublishAck>& r) { promise->set_value(r); });
  if (!s.ok()) {
    promise->set_value(s);
  } else if (impl_->core.options.mode == PublishMode::kSync) {
    future.wait();
  }
  return future;
}

Status Producer::Publish(Event event, PublishCallback done) {
  if (impl_->core.options.mode == PublishMode::kAsync) {
    return impl_->Enqueue(std::move(event), std::move(done));
  }
  auto finished = std::make_shared<std::promise<void>>();
  std::future<void> f = finished->get_future();
  ERAGON_RETURN_IF_ERROR(impl_->Enqueue(
      std::move(event), [finished, done = std::move(done)](const Result<PublishAck>& r) {
        done(r);
        finished->set_value();
      }));
  f.wait();
  return Status::Ok();
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  sdk::ProducerCore& core = impl_->core;
  const uint64_t target = core.queue->Stats().next_seq;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  core.flushing.fetch_add(1);
  for (auto& lane : impl_->lanes) lane->Wake();
  Status result;
  std::unique_lock lock(core.progress_mu);
  for (;;) {
    QueueStats s = core.queue->Stats();
    if (s.records == 0 || s.oldest_seq >= target) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      result = Status::Unavailable("flush: " + std::to_string(s.records) +
                                   " events still unacknowledged after " +
                                   std::to_string(timeout.count()) + " ms");
      break;
    }
    core.progress.wait_for(lock, std::chrono::milliseconds(5));
  }
  lock.unlock();
  core.flushing.fetch_sub(1);
  return result;
}

Status Producer::Close() {
  std::lock_guard guard(impl_->close_mu);
  if (impl_->closed) return impl_->close_status;
  impl_->closed = true;
  impl_->accepting.store(false);
  impl_->DrainOrAbandon();
  impl_->ResolveLeftovers();
  return impl_->close_status;
}

void Producer::Impl::DrainOrAbandon() {
  core.flushing.fetch_add(1);
  for (auto& lane : lanes) lane->Wake();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(core.options.close_timeout_ms);
  {
    std::unique_lock lock(core.progress_mu);
    while (core.queue->Stats().records > 0 && std::chrono::steady_clock::now() < deadline) {
      core.progress.wait_for(lock, std::chrono::milliseconds(5));
    }
  }
  core.stop.store(true);
  core.abandon.store(true);
  core.queue->Close();
  if (dispatcher.joinable()) dispatcher.join();
  for (auto& lane : lanes) lane->Join();
}

void Producer::Impl::ResolveLeftovers() {
  std::vector<QueuedRecord> left;
  for (auto& lane : lanes) {
    for (sdk::LaneRecord& r : lane->TakeLeftovers()) left.push_back(std::move(r.rec));
  }
  for (;;) {
    const size_t before = left.size();
    if (!core.queue->Take(4096, std::chrono::milliseconds(0), &left).ok()) break;
    if (left.size() == before) break;
  }
  if (left.empty()) return;
  const bool kept = !core.options.custom_queue && core.options.queue == QueueKind::kFile;
  const std::string why = "the producer closed before the server acknowledged the event; " +
                          (kept ? "it stays in the backup in " + core.options.backup_dir +
                                      " and the next Producer::Open publishes it"
                                : std::string("it is dropped (memory queue)"));
  for (const QueuedRecord& r : left) {
    auto view = sdk::DecodeEventRecord(r.payload);
    core.Resolve(r, view.ok() ? view->id(r.payload) : "", Status::Unavailable(why));
  }
  close_status =
      Status::Unavailable(std::to_string(left.size()) + " event(s) unacknowledged at close: " +
                          (kept ? "kept in the backup " + core.options.backup_dir
                                : std::string("dropped (memory queue)")));
}

ProducerStats Producer::Stats() const {
  const sdk::ProducerCore& c = impl_->core;
  ProducerStats s;
  s.acked = c.acked.load();
  s.failed = c.failed.load();
  s.requests = c.requests.load();
  s.retries = c.retries.load();
  s.queue = c.queue->Stats();
  return s;
}

}  // namespace eragon
