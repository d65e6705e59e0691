// eragon-bench saga: orchestrated sagas (src/saga) through a real eragond, with replying
// consumers on loopback. A three-step saga (bench.s1/s2/s3.cmd, success bench.sN.ok,
// completed bench.done); one in-process HTTP server plays the services: each command is
// pushed to it, it answers 200 and publishes the step's reply (batched by --reply-threads
// threads); bench.done is pushed to it too. Three phases against one spawned eragond:
//   plain     the reference: open-loop publishes at --rate for --duration to a type with
//             one push consumer; receive − send (each event carries its send time);
//   steps     saga triggers at the same rate for the same time; per instance the receive
//             times of its three commands and of bench.done give the time of each step
//             (a command pushed → its reply published → the engine's next event pushed),
//             against the plain publish→push;
//   capacity  --instances triggers published at once; instances completed per second
//             (bench.done received) from the first publish to the last completion.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "bench/bench_deliver_env.h"
#include "bench/bench_flags.h"
#include "bench/histogram.h"
#include "http/http_server.h"
#include "http/router.h"

namespace eragon::bench {
namespace {

constexpr int kSteps = 3;
// Per instance: trigger sent, command 1..3 received, bench.done received (steady ns).
constexpr int kMarks = kSteps + 2;

struct SagaSettings {
  std::string eragond, fsync = "always";
  std::vector<std::string> server_args;
  bool keep_data = false;
  double rate = 50, duration_s = 10, phase_timeout_s = 60;
  int64_t instances = 2'000;
  int endpoint_threads = 2, reply_threads = 2, max_in_flight = 64;
};

SagaSettings ReadSagaSettings(Flags& f) {
  SagaSettings s;
  s.eragond = f.GetString("eragond", EragondNextToBench());
  s.fsync = f.GetString("fsync", s.fsync);
  std::istringstream args(f.GetString("server-args", ""));
  for (std::string a; args >> a;) s.server_args.push_back(a);
  s.keep_data = f.GetBool("keep-data");
  s.rate = std::max(1.0, f.GetDouble("rate", s.rate));
  s.duration_s = std::max(1.0, f.GetDouble("duration", s.duration_s));
  s.phase_timeout_s = f.GetDouble("phase-timeout", s.phase_timeout_s);
  s.instances = std::max<int64_t>(1, f.GetInt("instances", s.instances));
  s.endpoint_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("endpoint-threads", 2)));
  s.reply_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("reply-threads", 2)));
  s.max_in_flight = static_cast<int>(std::max<int64_t>(1, f.GetInt("max-in-flight", 64)));
  return s;
}

// The services: POST /cmd/{step} records the command's arrival and queues its reply,
// POST /done records the completion, POST /plain is the reference's PushSink. Replies are
// published by reply threads, up to 500 per request, as admin (the reply types' producer).
class SagaServices {
 public:
  SagaServices(const SagaSettings& s, Endpoint eragond, std::string token, size_t capacity)
      : eragond_(std::move(eragond)), token_(std::move(token)), marks_(capacity * kMarks) {
    router_.Post("/cmd/{n}", [this](http::HttpRequest&& req, http::Responder respond) {
      const int64_t now = SteadyNowNs();
      const int step = req.Param("n").empty() ? 0 : req.Param("n")[0] - '0';
      OnCommand(step, FindJsonNumber(req.body, R"("seq":)"), now);
      respond(http::HttpResponse::Empty(200));
    });
    router_.Post("/done", [this](http::HttpRequest&& req, http::Responder respond) {
      Mark(FindJsonNumber(req.body, R"("seq":)"), kMarks - 1, SteadyNowNs());
      done_.fetch_add(1, std::memory_order_relaxed);
      respond(http::HttpResponse::Empty(200));
    });
    router_.Post("/plain", [this](http::HttpRequest&& req, http::Responder respond) {
      plain_.Record(req.body, SteadyNowNs());
      respond(http::HttpResponse::Empty(200));
    });
    http::HttpServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = s.endpoint_threads;
    server_ = std::make_unique<http::HttpServer>(o, &router_);
    for (int i = 0; i < s.reply_threads; ++i) repliers_.emplace_back([this] { ReplyLoop(); });
  }
  ~SagaServices() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : repliers_) t.join();
    server_->Stop(std::chrono::seconds(1));
  }
  Status Start() { return server_->Start(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  // Records mark `k` of instance `seq` once (a redelivery keeps the first).
  void Mark(int64_t seq, int k, int64_t ns) {
    if (seq < 0 || static_cast<size_t>(seq) * kMarks + k >= marks_.size()) return;
    int64_t zero = 0;
    marks_[static_cast<size_t>(seq) * kMarks + k].compare_exchange_strong(zero, ns);
  }
  int64_t mark(int64_t seq, int k) const { return marks_[static_cast<size_t>(seq) * kMarks + k]; }
  uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  uint64_t reply_failures() const { return reply_failures_; }
  PushSink& plain() { return plain_; }

 private:
  void OnCommand(int step, int64_t seq, int64_t now) {
    if (step < 1 || step > kSteps || seq < 0) return;
    Mark(seq, step, now);
    {
      std::lock_guard lock(mu_);
      queue_.push_back({step, seq});
    }
    cv_.notify_one();
  }
  void ReplyLoop();

  Endpoint eragond_;
  std::string token_;
  std::vector<std::atomic<int64_t>> marks_;
  std::atomic<uint64_t> done_{0}, reply_failures_{0};
  PushSink plain_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<int, int64_t>> queue_;  // guarded by mu_: (step, seq) to reply to
  bool stop_ = false;                          // guarded by mu_
  std::vector<std::thread> repliers_;
  http::Router router_;
  std::unique_ptr<http::HttpServer> server_;
};

void SagaServices::ReplyLoop() {
  ApiClient api(eragond_, token_);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::string body = R"({"events":[)";
    for (int n = 0; n < 500 && !queue_.empty(); ++n) {
      auto [step, seq] = queue_.front();
      queue_.pop_front();
      const std::string s = std::to_string(step), q = std::to_string(seq);
      body += std::string(n ? "," : "") + R"({"id":"r)" + s + "-" + q +
              R"(","event_type":"bench.s)" + s + R"(.ok","entity_id":"i)" + q + R"(","data":{}})";
    }
    body += "]}";
    lock.unlock();
    if (!api.Call("POST", "/v1/events", body).ok()) reply_failures_.fetch_add(1);
    lock.lock();
  }
}

std::string SagaBody(int64_t timeout_ms) {
  std::string steps;
  for (int i = 1; i <= kSteps; ++i) {
    const std::string n = std::to_string(i);
    steps += std::string(i > 1 ? "," : "") + R"({"name":"s)" + n + R"(","command":"bench.s)" + n +
             R"(.cmd","success":["bench.s)" + n + R"(.ok"],"timeout_ms":)" +
             std::to_string(timeout_ms) + "}";
  }
  return R"({"trigger":"bench.order","steps":[)" + steps +
         R"(],"completed":"bench.done","failed":"bench.failed"})";
}

Status SetUp(ApiClient& api, SagaServices& svc, const SagaSettings& s) {
  auto producer = [&](const std::string& type, const std::string& who) {
    return api.Call("PUT", "/v1/routes/" + type + "/producer", R"({"producer":")" + who + R"("})")
        .status();
  };
  auto consumer = [&](const std::string& type, const std::string& path) {
    return api
        .Call("PUT", "/v1/routes/" + type + "/consumers/bench-services",
              R"({"type":"http","url":")" + svc.url(path) + R"(","max_in_flight":)" +
                  std::to_string(s.max_in_flight) + "}")
        .status();
  };
  for (const char* t : {"bench.plain", "bench.order"}) ERAGON_RETURN_IF_ERROR(producer(t, "bench"));
  for (const char* t : {"bench.done", "bench.failed"})
    ERAGON_RETURN_IF_ERROR(producer(t, "saga-bench"));
  for (int i = 1; i <= kSteps; ++i) {
    const std::string n = std::to_string(i);
    ERAGON_RETURN_IF_ERROR(producer("bench.s" + n + ".cmd", "saga-bench"));
    ERAGON_RETURN_IF_ERROR(producer("bench.s" + n + ".ok", "bench-services"));
    ERAGON_RETURN_IF_ERROR(consumer("bench.s" + n + ".cmd", "/cmd/" + n));
  }
  ERAGON_RETURN_IF_ERROR(consumer("bench.done", "/done"));
  ERAGON_RETURN_IF_ERROR(consumer("bench.plain", "/plain"));
  ERAGON_RETURN_IF_ERROR(api.Call("PUT", "/v1/sagas/bench", SagaBody(600'000)).status());
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));  // routes reach delivery
  return Status::Ok();
}

std::string EventJson(const char* type, int64_t seq, int64_t sent_ns) {
  const std::string q = std::to_string(seq);
  return R"({"event_type":")" + std::string(type) + R"(","entity_id":"i)" + q +
         R"(","data":{"sent_ns":)" + std::to_string(sent_ns) + R"(,"seq":)" + q + "}}";
}

// Publishes one `type` event every 1/rate s for `duration` (seqs from `first`), each with
// its send time; returns how many. One connection: a publish slower than the period
// delays the next one (the send time is taken when it is built, so latency stays true).
Result<int64_t> Paced(ApiClient& api, SagaServices& svc, const char* type, int64_t first,
                      const SagaSettings& s) {
  const auto period = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / s.rate));
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(s.duration_s * 1000));
  auto next = std::chrono::steady_clock::now();
  int64_t n = 0;
  for (; next < end; next += period, ++n) {
    std::this_thread::sleep_until(next);
    const int64_t now = SteadyNowNs();
    svc.Mark(first + n, 0, now);
    ERAGON_RETURN_IF_ERROR(
        api.Call("POST", "/v1/events", EventJson(type, first + n, now)).status());
  }
  return n;
}

// Waits until `done()` reaches `want` (false after phase_timeout_s, or 10 s without progress).
bool WaitFor(const std::function<uint64_t()>& done, uint64_t want, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  uint64_t last = 0;
  auto progress = std::chrono::steady_clock::now();
  while (done() < want) {
    auto now = std::chrono::steady_clock::now();
    if (done() != last) last = done(), progress = now;
    if (now > deadline || now - progress > std::chrono::seconds(10)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

struct Figures {
  LatencyHistogram plain, start, step, instance;
  int64_t plain_events = 0, sagas = 0, capacity_instances = 0;
  double capacity_per_s = 0;
  bool complete = true;
};

// The steps phase's histograms from the marks of instances [first, first + n).
void CollectSteps(const SagaServices& svc, int64_t first, int64_t n, Figures& f) {
  for (int64_t q = first; q < first + n; ++q) {
    if (svc.mark(q, kMarks - 1) == 0) continue;
    f.start.Record(static_cast<uint64_t>(std::max<int64_t>(0, svc.mark(q, 1) - svc.mark(q, 0))));
    for (int k = 1; k < kMarks - 1; ++k) {
      f.step.Record(
          static_cast<uint64_t>(std::max<int64_t>(0, svc.mark(q, k + 1) - svc.mark(q, k))));
    }
    f.instance.Record(static_cast<uint64_t>(svc.mark(q, kMarks - 1) - svc.mark(q, 0)));
  }
}

Status RunPhases(ApiClient& api, SagaServices& svc, const SagaSettings& s, Figures& f) {
  svc.plain().Reset(0, INT64_MAX);
  ERAGON_ASSIGN_OR_RETURN(f.plain_events, Paced(api, svc, "bench.plain", 0, s));
  f.complete &= WaitFor([&] { return svc.plain().distinct(); }, f.plain_events, s.phase_timeout_s);
  f.plain = svc.plain().latency();
  // The saga's seqs start after the plain ones (their marks share the table).
  const int64_t first = f.plain_events;
  ERAGON_ASSIGN_OR_RETURN(f.sagas, Paced(api, svc, "bench.order", first, s));
  f.complete &= WaitFor([&] { return svc.done(); }, f.sagas, s.phase_timeout_s);
  CollectSteps(svc, first, f.sagas, f);
  // Capacity: every trigger at once, in batches of 500.
  const int64_t base = first + f.sagas, before = static_cast<int64_t>(svc.done());
  const int64_t t0 = SteadyNowNs();
  for (int64_t i = 0; i < s.instances;) {
    std::string body = R"({"events":[)";
    for (int n = 0; n < 500 && i < s.instances; ++n, ++i) {
      body += std::string(n ? "," : "") + EventJson("bench.order", base + i, t0);
    }
    ERAGON_RETURN_IF_ERROR(api.Call("POST", "/v1/events", body + "]}").status());
  }
  f.complete &= WaitFor([&] { return svc.done() - before; }, s.instances, s.phase_timeout_s);
  int64_t last = t0;
  for (int64_t q = base; q < base + s.instances; ++q)
    last = std::max(last, svc.mark(q, kMarks - 1));
  f.capacity_instances = static_cast<int64_t>(svc.done()) - before;
  f.capacity_per_s = last > t0 ? f.capacity_instances * 1e9 / static_cast<double>(last - t0) : 0;
  return Status::Ok();
}

double MsAt(const LatencyHistogram& h, double p) { return h.ValueAtPercentile(p) / 1e6; }

void Report(const Figures& f, const SagaSettings& s, double load_start, double load_end,
            uint64_t reply_failures) {
  std::printf("plain publish->push   (%lld events)   p50 %.2f ms  p99 %.2f ms\n",
              (long long)f.plain_events, MsAt(f.plain, 50), MsAt(f.plain, 99));
  std::printf("saga trigger->command (%lld sagas)    p50 %.2f ms  p99 %.2f ms\n",
              (long long)f.sagas, MsAt(f.start, 50), MsAt(f.start, 99));
  std::printf("saga step: command pushed -> reply -> next pushed  p50 %.2f ms  p99 %.2f ms\n",
              MsAt(f.step, 50), MsAt(f.step, 99));
  std::printf("  added per step over publish->push              p50 %.2f ms  p99 %.2f ms\n",
              MsAt(f.step, 50) - MsAt(f.plain, 50), MsAt(f.step, 99) - MsAt(f.plain, 99));
  std::printf("saga instance, trigger -> completed pushed     p50 %.2f ms  p99 %.2f ms\n",
              MsAt(f.instance, 50), MsAt(f.instance, 99));
  std::printf("capacity: %lld of %lld instances (3 steps) completed, %.0f instances/s%s\n",
              (long long)f.capacity_instances, (long long)s.instances, f.capacity_per_s,
              f.complete ? "" : "  INCOMPLETE");
  std::printf(
      "plain_p50_ms=%.3f plain_p99_ms=%.3f step_p50_ms=%.3f step_p99_ms=%.3f "
      "added_step_p50_ms=%.3f added_step_p99_ms=%.3f instance_p50_ms=%.3f instance_p99_ms=%.3f "
      "sagas_per_s=%.1f rate=%.0f fsync=%s reply_failures=%llu complete=%d load1_start=%.2f "
      "load1_end=%.2f\n",
      MsAt(f.plain, 50), MsAt(f.plain, 99), MsAt(f.step, 50), MsAt(f.step, 99),
      MsAt(f.step, 50) - MsAt(f.plain, 50), MsAt(f.step, 99) - MsAt(f.plain, 99),
      MsAt(f.instance, 50), MsAt(f.instance, 99), f.capacity_per_s, s.rate, s.fsync.c_str(),
      (unsigned long long)reply_failures, f.complete ? 1 : 0, load_start, load_end);
}

}  // namespace

int SagaMain(Flags& flags) {
  SagaSettings s = ReadSagaSettings(flags);
  if (Status st = flags.CheckAllUsed(); !st.ok() || !flags.parse_error().ok()) {
    std::fprintf(stderr, "eragon-bench saga: %s\n",
                 (st.ok() ? flags.parse_error() : st).message().c_str());
    return 2;
  }
  const double load_start = LoadAverage1m();
  auto server = EragondProcess::Spawn(s.eragond, s.fsync, s.server_args, s.keep_data);
  if (!server.ok()) {
    std::fprintf(stderr, "eragon-bench saga: %s\n", server.status().message().c_str());
    return 1;
  }
  auto endpoint = ParseHttpUrl((*server)->url());
  if (!endpoint.ok()) return 1;
  const size_t capacity = static_cast<size_t>(2 * s.rate * s.duration_s + s.instances + 16);
  SagaServices svc(s, *endpoint, (*server)->token(), capacity);
  ApiClient api(*endpoint, (*server)->token());
  Figures f;
  Status st = svc.Start();
  if (st.ok()) st = SetUp(api, svc, s);
  if (st.ok()) st = RunPhases(api, svc, s, f);
  if (!st.ok()) {
    std::fprintf(stderr, "eragon-bench saga: %s\n", st.message().c_str());
    return 1;
  }
  Report(f, s, load_start, LoadAverage1m(), svc.reply_failures());
  return f.complete ? 0 : 1;
}

}  // namespace eragon::bench
