// Consumer (eragon/consumer.h): one fetch thread, `concurrency` handler threads fed by an
// EntityScheduler (per-entity order), and an Acker thread.
#include "eragon/consumer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/names.h"
#include "http/http_client.h"
#include "sdk/consumer_acker.h"
#include "sdk/consumer_backoff.h"
#include "sdk/consumer_event.h"
#include "sdk/consumer_scheduler.h"

namespace eragon {

struct Consumer::Impl {
  explicit Impl(ConsumerOptions o) : options(std::move(o)), acker(options, &acked, &nacked) {}

  Status Validate() const;
  void FetchLoop();
  // One fetch; Ok with the messages added to the scheduler, or why it failed.
  Status FetchOnce(HttpClient& client, size_t max);
  void WorkLoop();
  void Report(const Status& st) const {
    if (options.on_error) options.on_error(st);
  }

  const ConsumerOptions options;
  HandlerSet handlers;
  std::atomic<uint64_t> fetched{0}, succeeded{0}, failed{0}, acked{0}, nacked{0}, fetch_errors{0};
  sdk::EntityScheduler scheduler;
  sdk::Acker acker;

  std::mutex mu;
  std::condition_variable stop_cv;  // wakes the fetch thread's backoff sleep
  bool started = false;
  bool stopping = false;
  bool stopped = false;
  std::thread fetcher;
  std::vector<std::thread> workers;
};

namespace {

Status Range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi) return Status::Ok();
  return Status::InvalidArgument(std::string(name) + ": must be from " + std::to_string(lo) +
                                 " to " + std::to_string(hi) + ", not " + std::to_string(v));
}

}  // namespace

Status Consumer::Impl::Validate() const {
  const ConsumerOptions& o = options;
  if (!IsValidServiceName(o.consumer)) {
    return Status::InvalidArgument("consumer: must match ^[a-z0-9][a-z0-9-]{0,63}$");
  }
  if (o.token.empty()) return Status::InvalidArgument("token: required");
  if (!o.endpoint.starts_with("http://") && !o.endpoint.starts_with("https://")) {
    return Status::InvalidArgument("endpoint: must be http[s]://HOST:PORT");
  }
  constexpr int64_t kMaxMs = 12 * 3'600'000;
  for (Status st :
       {Range("max_messages", o.max_messages, 1, 1000), Range("wait_ms", o.wait_ms, 0, 60'000),
        Range("ack_timeout_ms", o.ack_timeout_ms, 1, kMaxMs),
        Range("concurrency", o.concurrency, 1, 1024),
        Range("nack_delay_ms", o.nack_delay_ms, 0, kMaxMs),
        Range("retry_initial_backoff_ms", o.retry_initial_backoff_ms, 1, kMaxMs),
        Range("retry_max_backoff_ms", o.retry_max_backoff_ms, o.retry_initial_backoff_ms, kMaxMs),
        Range("connect_timeout_ms", o.connect_timeout_ms, 1, kMaxMs),
        Range("request_timeout_ms", o.request_timeout_ms, 1, kMaxMs),
        Range("stop_timeout_ms", o.stop_timeout_ms, 0, kMaxMs)}) {
    if (!st.ok()) return st;
  }
  if (handlers.empty()) return Status::InvalidArgument("handlers: register at least one");
  return Status::Ok();
}

Status Consumer::Impl::FetchOnce(HttpClient& client, size_t max) {
  std::string body = "{\"max\":" + std::to_string(max) +
                     ",\"wait_ms\":" + std::to_string(options.wait_ms) +
                     ",\"ack_timeout_ms\":" + std::to_string(options.ack_timeout_ms) + "}";
  const std::string path = "/v1/consumers/" + options.consumer + "/fetch";
  Result<HttpReply> reply =
      client.Request("POST", path, body, {{"Authorization", "Bearer " + options.token}});
  if (!reply.ok()) return Status::Unavailable(path + ": " + reply.status().message());
  if (reply->status != 200) {
    return Status::Unavailable(path + ": HTTP " + std::to_string(reply->status) + " " +
                               reply->body);
  }
  Result<std::vector<sdk::PulledMessage>> msgs = sdk::ParseFetchAnswer(reply->body);
  if (!msgs.ok()) return msgs.status();
  fetched += msgs->size();
  std::vector<sdk::EntityScheduler::Item> items;
  items.reserve(msgs->size());
  for (sdk::PulledMessage& m : *msgs) {
    if (!m.status.ok()) {
      // Never seen from a correct eragond; nacked so it goes dead after max_attempts.
      Report(m.status);
      ++failed;
      acker.Nack(std::move(m.ack_id), options.nack_delay_ms);
      continue;
    }
    items.push_back({std::move(m.ack_id), std::move(m.delivery)});
  }
  scheduler.Add(std::move(items));
  return Status::Ok();
}

void Consumer::Impl::FetchLoop() {
  HttpClientOptions ho;
  ho.connect_timeout_ms = options.connect_timeout_ms;
  ho.request_timeout_ms = options.request_timeout_ms + options.wait_ms;
  ho.tls = options.tls;
  HttpClient client(options.endpoint, ho);
  sdk::Backoff backoff(options.retry_initial_backoff_ms, options.retry_max_backoff_ms);
  while (true) {
    const size_t room = scheduler.WaitForRoom(options.max_messages);
    if (room == 0) return;  // closed: stopping
    Status st = FetchOnce(client, room);
    if (st.ok()) {
      backoff.Reset();
      continue;
    }
    ++fetch_errors;
    Report(st);
    client.Close();
    std::unique_lock lock(mu);
    if (stop_cv.wait_for(lock, std::chrono::milliseconds(backoff.NextMs()),
                         [this] { return stopping; })) {
      return;
    }
  }
}

void Consumer::Impl::WorkLoop() {
  while (std::optional<sdk::EntityScheduler::Item> item = scheduler.Take()) {
    Status st = handlers.Run(item->delivery);
    if (st.ok()) {
      ++succeeded;
      acker.Ack(std::move(item->ack_id));
    } else {
      ++failed;
      Report(Status(st.code(), "handler for " + item->delivery.event.event_type + " " +
                                   item->delivery.event.id + ": " + st.message()));
      acker.Nack(std::move(item->ack_id), options.nack_delay_ms);
    }
    scheduler.Done(item->delivery.event.entity_id);
  }
}

Consumer::Consumer(ConsumerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Consumer::~Consumer() { Stop(); }

void Consumer::On(std::string event_type, Handler handler) {
  impl_->handlers.On(std::move(event_type), std::move(handler));
}

void Consumer::OnAny(Handler handler) { impl_->handlers.OnAny(std::move(handler)); }

Status Consumer::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started) return Status::InvalidArgument("Start: already called");
  ERAGON_RETURN_IF_ERROR(impl_->Validate());
  impl_->started = true;
  impl_->acker.Start();
  for (int i = 0; i < impl_->options.concurrency; ++i) {
    impl_->workers.emplace_back([this] { impl_->WorkLoop(); });
  }
  impl_->fetcher = std::thread([this] { impl_->FetchLoop(); });
  return Status::Ok();
}

void Consumer::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->started || impl_->stopping) return;
    impl_->stopping = true;
    impl_->stop_cv.notify_all();
  }
  impl_->scheduler.Close();
  impl_->fetcher.join();
  for (std::thread& t : impl_->workers) t.join();
  // Fetched but never started: offered again at once, to this or another instance.
  for (sdk::EntityScheduler::Item& item : impl_->scheduler.TakeUnstarted()) {
    impl_->acker.Nack(std::move(item.ack_id), 0);
  }
  impl_->acker.Stop(impl_->options.stop_timeout_ms);
}

ConsumerStats Consumer::stats() const {
  ConsumerStats s;
  s.fetched = impl_->fetched;
  s.succeeded = impl_->succeeded;
  s.failed = impl_->failed;
  s.acked = impl_->acked;
  s.nacked = impl_->nacked;
  s.fetch_errors = impl_->fetch_errors;
  return s;
}

}  // namespace eragon
