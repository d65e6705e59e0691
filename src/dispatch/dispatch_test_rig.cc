#include "dispatch/dispatch_test_rig.h"

#include <filesystem>
#include <future>
#include <thread>

#include "channel/embedded.h"
#include "config/sqlite_config_store.h"
#include "core/event_codec.h"

namespace eragon::dispatch::testing {

using namespace std::chrono_literals;

// ---- Endpoint ----

Endpoint::Endpoint(Policy policy)
    : policy_(std::move(policy)), server_([this](const TestRequest& r) { return Handle(r); }) {}

void Endpoint::SetPolicy(Policy policy) {
  std::lock_guard lock(mu_);
  policy_ = std::move(policy);
}

TestAnswer Endpoint::Handle(const TestRequest& req) {
  Hit hit;
  hit.id = req.Header("Eragon-Event-Id").value_or("");
  hit.type = req.Header("Eragon-Event-Type").value_or("");
  hit.entity = req.Header("Eragon-Entity-Id").value_or("");
  hit.attempt = std::atoi(req.Header("Eragon-Attempt").value_or("0").c_str());
  ++arrived_;
  int now = ++concurrent_;
  for (int m = max_concurrent_.load(); now > m && !max_concurrent_.compare_exchange_weak(m, now);) {
  }
  if (int64_t hold = hold_ms_.load(); hold > 0) std::this_thread::sleep_for(1ms * hold);
  TestAnswer answer;
  {
    std::lock_guard lock(mu_);
    answer = policy_ ? policy_(hit) : Answer(200);
    hit.status = answer.action == TestAnswer::Action::kAnswer ? answer.status : 0;
    hits_.push_back(hit);
  }
  --concurrent_;
  return answer;
}

std::vector<Hit> Endpoint::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

size_t Endpoint::count() const {
  std::lock_guard lock(mu_);
  return hits_.size();
}

std::vector<std::string> Endpoint::Delivered() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const Hit& h : hits_) {
    if (h.status >= 200 && h.status < 300) out.push_back(h.id);
  }
  return out;
}

size_t Endpoint::delivered() const { return Delivered().size(); }

TestAnswer Answer(int status, std::vector<std::pair<std::string, std::string>> headers) {
  TestAnswer a;
  a.status = status;
  a.headers = std::move(headers);
  return a;
}

TestAnswer Do(TestAnswer::Action action) {
  TestAnswer a;
  a.action = action;
  return a;
}

std::string RefusingUrl() {
  TestHttpServer s([](const TestRequest&) { return TestAnswer{}; });
  std::string url = s.Url("/hook");
  s.Stop();
  return url;
}

bool WaitFor(const std::function<bool()>& pred, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// ---- Rig ----

Rig::Rig() {
  static std::atomic<int> n{0};
  dir = (std::filesystem::temp_directory_path() /
         ("dispatch_test." + std::to_string(::getpid()) + "." + std::to_string(n++)))
            .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto cs = config::OpenSqliteConfigStore(":memory:");
  EXPECT_TRUE(cs.ok()) << cs.status().ToString();
  config = std::move(*cs);
  Open();
}

Rig::~Rig() {
  Close();
  std::filesystem::remove_all(dir);
}

void Rig::Open() {
  channel::EmbeddedOptions lo;
  lo.clock = &clock;
  lo.fsync.policy = channel::FsyncPolicy::kNever;
  lo.segment_bytes = 1 << 20;
  lo.retention_ms = 0;
  auto l = channel::OpenEmbeddedChannel(dir + "/log", lo);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  logs = std::move(*l);
  auto s = DeliveryStore::Open(dir + "/dispatch", &clock);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store = std::move(*s);
  PushClientOptions po;
  po.connect_timeout = 2s;
  auto p = PushClient::Create(po);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  push = std::move(*p);
  Dispatcher::Deps d;
  d.store = config.get();
  d.logs = logs.get();
  d.deliveries = store.get();
  d.push = push.get();
  d.clock = &clock;
  d.observer = observer;
  dispatcher = std::make_unique<Dispatcher>(std::move(d));
  dispatcher->Start();
}

// The server's order (app.cc): dispatcher, push client, delivery store, log.
void Rig::Close() {
  if (dispatcher) dispatcher->Stop();
  if (push) push->Stop();
  dispatcher.reset();
  push.reset();
  if (store) {
    EXPECT_TRUE(store->Close().ok());
  }
  store.reset();
  if (logs) {
    EXPECT_TRUE(logs->Close().ok());
  }
  logs.reset();
}

void Rig::Producer(const std::string& type, const std::string& topic, bool ordered,
                   uint32_t partitions) {
  config::ProducerRoute p;
  p.event_type = type;
  p.producer = "producer";
  p.topic = topic;
  p.ordered = ordered;
  p.partitions = partitions;
  ASSERT_TRUE(config->PutProducer(p).ok());
  ASSERT_TRUE(logs->OpenTopic(topic, {partitions}).ok());
  producers_[type] = p;
}

config::ConsumerRoute Rig::HttpRoute(const std::string& type, const std::string& consumer,
                                     const std::string& url) const {
  config::ConsumerRoute r;
  r.event_type = type;
  r.consumer = consumer;
  r.type = config::DeliveryType::kHttp;
  r.url = url;
  r.timeout_ms = 2000;
  r.max_in_flight = 16;
  r.retry = {3, 1000, 8000};
  r.start = config::StartAt::kEarliest;
  return r;
}

config::ConsumerRoute Rig::PullRoute(const std::string& type, const std::string& consumer) const {
  config::ConsumerRoute r = HttpRoute(type, consumer, "");
  r.type = config::DeliveryType::kPull;
  return r;
}

void Rig::Put(const config::ConsumerRoute& route) {
  ASSERT_TRUE(config->PutConsumer(route).ok());
  dispatcher->RoutesChanged();
  const std::string topic = producers_.at(route.event_type).topic;
  ASSERT_TRUE(WaitFor([&] { return StatsOf(route.consumer, topic).has_value(); }));
  SyncRoutes(route.event_type, route.consumer);
}

void Rig::SyncRoutes(const std::string& type, const std::string& consumer) {
  ASSERT_TRUE(dispatcher->Redrive(type, consumer, {"\x01none"}).ok());
}

Rig::Published Rig::Publish(const std::string& type, const std::string& entity, std::string id,
                            std::string data) {
  static std::atomic<uint64_t> seq{0};
  Published p;
  p.event.id = id.empty() ? "ev-" + std::to_string(++seq) : std::move(id);
  p.event.event_type = type;
  p.event.entity_id = entity;
  p.event.producer = "producer";
  p.event.occurred_at = clock.WallMs();
  p.event.data = std::move(data);
  p.topic = producers_.at(type).topic;
  std::string payload;
  EncodeEventRecord(p.event, &payload);
  channel::Topic* t = logs->FindTopic(p.topic);
  channel::AppendRecord rec{entity, payload, clock.WallMs()};
  auto pos = t->Append({&rec, 1});
  EXPECT_TRUE(pos.ok()) << pos.status().ToString();
  if (pos.ok()) {
    p.partition = (*pos)[0].partition;
    p.offset = (*pos)[0].offset;
  }
  return p;
}

std::vector<Rig::Published> Rig::PublishMany(
    size_t n, const std::function<std::pair<std::string, std::string>(size_t)>& make) {
  std::vector<Published> out;
  for (size_t i = 0; i < n; ++i) {
    auto [type, entity] = make(i);
    out.push_back(Publish(type, entity));
  }
  return out;
}

void Rig::Advance(int64_t ms) {
  clock.AdvanceMs(ms);
  dispatcher->RoutesChanged();
}

bool Rig::AdvanceUntil(const std::function<bool()>& pred, int64_t step_ms, int64_t max_ms) {
  for (int64_t done = 0; done < max_ms && !pred(); done += step_ms) {
    Advance(step_ms);
    WaitFor(pred, 0.01);
  }
  return WaitFor(pred, 2);
}

std::optional<DeliveryState> Rig::StateOf(const Published& p, const std::string& consumer) {
  for (const DeliveryView& v :
       dispatcher->DeliveriesOf(p.event.event_type, p.topic, p.partition, p.offset)) {
    if (v.consumer == consumer) return v.state;
  }
  return std::nullopt;
}

std::vector<DeadLetter> Rig::Dead(const std::string& consumer, const std::string& type) {
  return store->ListDead(consumer, type, "", 100000);
}

std::optional<ConsumerStats> Rig::StatsOf(const std::string& consumer, const std::string& topic) {
  for (const ConsumerStats& s : dispatcher->Stats()) {
    if (s.consumer == consumer && s.topic == topic) return s;
  }
  return std::nullopt;
}

bool Rig::Idle(const std::string& consumer, const std::string& topic) {
  std::optional<ConsumerStats> s = StatsOf(consumer, topic);
  return s && s->stats.lag_events == 0 && s->stats.window == 0;
}

std::vector<PulledMessage> Rig::FetchNow(const std::string& consumer, size_t max,
                                         int64_t ack_timeout_ms) {
  std::promise<std::vector<PulledMessage>> p;
  auto f = p.get_future();
  dispatcher->Fetch(consumer, max, 0, ack_timeout_ms,
                    [&p](std::vector<PulledMessage> m) { p.set_value(std::move(m)); });
  return f.get();
}

std::vector<PulledMessage> Rig::FetchN(const std::string& consumer, size_t n,
                                       int64_t ack_timeout_ms) {
  std::vector<PulledMessage> out;
  WaitFor([&] {
    for (PulledMessage& m : FetchNow(consumer, n - out.size(), ack_timeout_ms)) {
      out.push_back(std::move(m));
    }
    return out.size() >= n;
  });
  return out;
}

}  // namespace eragon::dispatch::testing

#if defined(__SANITIZE_THREAD__)
// Debian's librocksdb and libsnappy are not built with -fsanitize=thread: TSan sees their
// memcpy/memcmp (interceptors) but not the atomics that order RocksDB's memtable, block
// cache and iterators, so every RocksDB write racing a read would be reported (every such
// report has one of these libraries in its stacks). Our own code's locking is still checked.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:librocksdb.so\n"
         "race:librocksdb.so\n"
         "called_from_lib:libsnappy.so.1\n"
         "race:libsnappy.so.1\n";
}
#endif
