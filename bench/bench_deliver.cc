// eragon-bench deliver: end to end through a real eragond — publish → log → dispatcher →
// real consumer endpoints (in-process eragon_http servers) and pullers. Four phases:
//   latency  open-loop publishes at --rate to a topic with one push consumer; each event
//            carries its send time, the endpoint records receive − send;
//   push     a preloaded backlog drained by one push consumer (start earliest);
//   fan-out  a preloaded backlog drained by --consumers push consumers;
//   pull     the push phase's backlog fetched and acked (durably) by --pull-threads pullers.
// Targets are printed next to the figures; a missed target never fails the run.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "bench/bench_compare.h"  // AppendCompareEvent: the same event bytes as compare
#include "bench/bench_deliver_env.h"
#include "bench/bench_flags.h"
#include "core/json.h"

namespace eragon::bench {
namespace {

struct DeliverSettings {
  // Target server: spawned unless --url is given.
  std::string url, token, eragond, fsync = "always";
  std::vector<std::string> server_args;
  bool keep_data = false;
  // Latency phase.
  double duration_s = 10, warmup_s = 1, rate = 10'000;
  int connections = 32, client_threads = 1;
  // Backlog phases.
  int64_t backlog = 200'000, fanout_backlog = 30'000;
  int consumers = 10, max_in_flight = 256, preload_batch = 500, preload_threads = 4;
  int pull_threads = 2, fetch_max = 500;
  // Both.
  int event_bytes = 1024, endpoint_threads = 2;
  double phase_timeout_s = 30;
  bool skip_latency = false, skip_push = false, skip_fanout = false, skip_pull = false;
  bool pull_filter = false;  // the pull phase again with a 3-field filter (issue 15)
  // Fan-out consumers as paths of the shared endpoint server (one host:port, so they share
  // the server's per-endpoint connection pool) instead of one server each.
  bool fanout_shared_endpoint = false;
  // The producer routes' channel: "embedded" or "kafka" (the spawned eragond then needs
  // --server-args "--kafka-brokers HOST:PORT").
  std::string channel = "embedded";
  // A/B in one run: everything runs again against a second spawned eragond started with
  // these flags added (e.g. "--record-attempts=false"), then both push rates are compared.
  std::vector<std::string> compare_args;
};

DeliverSettings ReadDeliverSettings(Flags& f) {
  DeliverSettings s;
  s.url = f.GetString("url", "");
  s.token = f.GetString("token", "");
  std::string data_dir = f.GetString("data-dir", "");
  if (s.token.empty() && !data_dir.empty()) s.token = ReadTokenFile(data_dir);
  if (s.token.empty()) {
    if (const char* env = std::getenv("ERAGON_TOKEN")) s.token = env;
  }
  s.eragond = f.GetString("eragond", "");
  s.fsync = f.GetString("fsync", s.fsync);
  std::istringstream args(f.GetString("server-args", ""));
  for (std::string a; args >> a;) s.server_args.push_back(a);
  s.keep_data = f.GetBool("keep-data");
  std::istringstream compare(f.GetString("compare-server-args", ""));
  for (std::string a; compare >> a;) s.compare_args.push_back(a);
  s.channel = f.GetString("channel", s.channel);
  s.duration_s = f.GetDouble("duration", s.duration_s);
  s.warmup_s = f.GetDouble("warmup", s.warmup_s);
  s.rate = f.GetDouble("rate", s.rate);
  s.connections = static_cast<int>(f.GetInt("connections", s.connections));
  s.client_threads = static_cast<int>(f.GetInt("threads", s.client_threads));
  s.backlog = std::max<int64_t>(1, f.GetInt("backlog", s.backlog));
  s.fanout_backlog = std::max<int64_t>(1, f.GetInt("fanout-backlog", s.fanout_backlog));
  s.consumers = static_cast<int>(std::max<int64_t>(1, f.GetInt("consumers", s.consumers)));
  s.max_in_flight = static_cast<int>(f.GetInt("max-in-flight", s.max_in_flight));
  s.preload_batch = static_cast<int>(std::clamp<int64_t>(f.GetInt("preload-batch", 500), 1, 1000));
  s.preload_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("preload-threads", 4)));
  s.pull_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("pull-threads", 2)));
  s.fetch_max = static_cast<int>(std::clamp<int64_t>(f.GetInt("fetch-max", 500), 1, 1000));
  s.event_bytes = static_cast<int>(std::max<int64_t>(0, f.GetInt("event-bytes", s.event_bytes)));
  s.endpoint_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("endpoint-threads", 2)));
  s.phase_timeout_s = f.GetDouble("phase-timeout", s.phase_timeout_s);
  s.skip_latency = f.GetBool("skip-latency");
  s.skip_push = f.GetBool("skip-push");
  s.skip_fanout = f.GetBool("skip-fanout");
  s.skip_pull = f.GetBool("skip-pull");
  s.pull_filter = f.GetBool("pull-filter");
  s.fanout_shared_endpoint = f.GetBool("fanout-shared-endpoint");
  return s;
}

// eragond next to this binary (build/bin/eragond).
std::string DefaultEragond() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "build/bin/eragond";
  return (self.parent_path() / "eragond").string();
}

// Six hex digits, so that names of one run never meet an earlier run's on a reused server.
std::string RunTag() {
  std::random_device rd;
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06x", rd() & 0xffffff);
  return buf;
}

// ---- routes ----

Status SetupProducer(ApiClient& api, const std::string& type, const DeliverSettings& s) {
  std::string body = R"({"producer":"bench","channel":")" + s.channel + R"(","topic":")" + type +
                     R"(","ordered":false,"partitions":8})";
  return api.Call("PUT", "/v1/routes/" + type + "/producer", body).status();
}

Status AddConsumer(ApiClient& api, const std::string& type, const std::string& name,
                   const std::string& push_url, int max_in_flight, const std::string& filter = "") {
  std::string body = push_url.empty()
                         ? R"({"type":"pull","start":"earliest")" +
                               (filter.empty() ? "" : R"(,"filter":)" + filter) + "}"
                         : R"({"type":"http","url":")" + push_url + R"(","max_in_flight":)" +
                               std::to_string(max_in_flight) + R"(,"start":"earliest"})";
  return api.Call("PUT", "/v1/routes/" + type + "/consumers/" + name, body).status();
}

// Best effort: a finished phase's consumers should not cost the next phase anything.
void RemoveConsumer(ApiClient& api, const std::string& type, const std::string& name) {
  Status st = api.Call("DELETE", "/v1/routes/" + type + "/consumers/" + name, "").status();
  if (!st.ok()) std::fprintf(stderr, "  (cleanup: %s)\n", st.message().c_str());
}

// Route changes reach every node within 1 s (API.md); publishing sooner may see 404.
void WaitForRoutes() { std::this_thread::sleep_for(std::chrono::milliseconds(1100)); }

// ---- preloading a backlog ----

// Publishes events 0..count-1 of `type` in batches from several connections. Returns the
// rate (events/s, with the server's fsync policy).
Result<double> Preload(const Endpoint& endpoint, const std::string& token, const std::string& type,
                       int64_t count, const DeliverSettings& s) {
  std::atomic<int64_t> next{0};
  std::mutex mu;
  Status failure;
  int64_t start = SteadyNowNs();
  std::vector<std::thread> threads;
  for (int t = 0; t < s.preload_threads; ++t) {
    threads.emplace_back([&] {
      ApiClient api(endpoint, token);
      std::string body;
      for (;;) {
        int64_t first = next.fetch_add(s.preload_batch);
        if (first >= count) return;
        int64_t last = std::min<int64_t>(count, first + s.preload_batch);
        body.assign(R"({"events":[)");
        for (int64_t i = first; i < last; ++i) {
          if (i > first) body.push_back(',');
          AppendCompareEvent(body, type, static_cast<uint64_t>(i), SteadyNowNs(), s.event_bytes);
        }
        body.append("]}");
        Status st = api.Call("POST", "/v1/events", body).status();
        if (!st.ok()) {
          std::lock_guard lock(mu);
          if (failure.ok()) failure = st;
          next = count;  // the others stop too
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (!failure.ok()) return failure;
  return static_cast<double>(count) * 1e9 / static_cast<double>(SteadyNowNs() - start);
}

// ---- push phases ----

struct RateOutcome {
  uint64_t events = 0;      // distinct events received, over all sinks
  uint64_t duplicates = 0;  // deliveries beyond the first of an event
  double seconds = 0;       // first delivery to the last new one
  bool complete = false;    // every sink got every expected event in time
  double per_s() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
};

// Waits until each sink holds `expected` distinct events, or none arrived for 5 s, or
// the phase timeout passed.
RateOutcome WaitForSinks(const std::vector<PushSink*>& sinks, uint64_t expected, double timeout_s) {
  int64_t start = SteadyNowNs();
  auto deadline = start + static_cast<int64_t>(timeout_s * 1e9);
  RateOutcome out;
  uint64_t last_total = 0;
  int64_t last_progress = start;
  for (;;) {
    uint64_t total = 0;
    bool all = true;
    for (PushSink* s : sinks) {
      total += s->distinct();
      all = all && s->distinct() >= expected;
    }
    int64_t now = SteadyNowNs();
    if (total != last_total) last_progress = now;
    last_total = total;
    if (all || now >= deadline || now - last_progress > 5'000'000'000) {
      out.complete = all;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int64_t first = INT64_MAX, last = 0;
  for (PushSink* s : sinks) {
    out.events += s->distinct();
    out.duplicates += s->duplicates();
    if (s->first_ns() != 0) first = std::min(first, s->first_ns());
    last = std::max(last, s->last_new_ns());
  }
  if (last > first) out.seconds = static_cast<double>(last - first) / 1e9;
  return out;
}

struct LatencyOutcome {
  LoadResult publish;
  LatencyHistogram delivered;
  uint64_t sent_in_window = 0;       // events whose request was built inside the window
  uint64_t delivered_in_window = 0;  // of those, distinct events the endpoint received
  uint64_t duplicates = 0;
};

Result<LatencyOutcome> RunLatency(const Endpoint& endpoint, const std::string& token,
                                  ApiClient& api, SinkServer& sinks, const std::string& tag,
                                  const DeliverSettings& s) {
  std::string type = "bench-" + tag + "-lat", consumer = "lat-" + tag;
  ERAGON_RETURN_IF_ERROR(SetupProducer(api, type, s));
  ERAGON_RETURN_IF_ERROR(AddConsumer(api, type, consumer, sinks.url(0), s.max_in_flight));
  WaitForRoutes();

  int64_t t0 = SteadyNowNs();
  int64_t from = t0 + static_cast<int64_t>(s.warmup_s * 1e9);
  int64_t to = from + static_cast<int64_t>(s.duration_s * 1e9);
  PushSink& sink = sinks.sink(0);
  sink.Reset(from, to);
  std::atomic<uint64_t> built{0}, in_window{0};
  std::string head = "POST /v1/events HTTP/1.1\r\nHost: " + endpoint.host + ":" +
                     std::to_string(endpoint.port) +
                     "\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token +
                     "\r\nContent-Length: ";
  RequestBuilder builder = [&](uint64_t seq, std::string& out) {
    thread_local std::string body;
    body.clear();
    int64_t now = SteadyNowNs();
    AppendCompareEvent(body, type, seq, now, s.event_bytes);
    built.fetch_add(1, std::memory_order_relaxed);
    if (now >= from && now < to) in_window.fetch_add(1, std::memory_order_relaxed);
    out.append(head).append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    return BuiltRequest{1, body.size()};
  };
  LoadOptions load;
  load.endpoint = endpoint;
  load.connections = s.connections;
  load.threads = s.client_threads;
  load.duration_s = s.duration_s;
  load.warmup_s = s.warmup_s;
  load.request_rate = s.rate;
  ERAGON_ASSIGN_OR_RETURN(LoadResult publish, LoadGenerator(load, builder).Run());

  // Let the tail drain: everything sent (less what the server refused) or 5 s of silence.
  uint64_t refused = publish.requests_failed + publish.transport_errors;
  WaitForSinks({&sink}, built.load() > refused ? built.load() - refused : 0, s.phase_timeout_s);
  LatencyOutcome out;
  out.publish = std::move(publish);
  out.delivered = sink.latency();
  out.sent_in_window = in_window.load();
  out.delivered_in_window = sink.in_window();
  out.duplicates = sink.duplicates();
  RemoveConsumer(api, type, consumer);
  return out;
}

// One push consumer's endpoint: where its events land and the URL the server pushes to.
struct PushTarget {
  PushSink* sink;
  std::string url;
};

// Adds one push consumer (start earliest) per target to a topic holding `backlog` events
// and times how fast the backlog reaches all of them.
Result<RateOutcome> RunPushBacklog(const std::string& type, const std::string& name_prefix,
                                   const std::vector<PushTarget>& targets, int64_t backlog,
                                   ApiClient& api, const DeliverSettings& s) {
  std::vector<PushSink*> sinks;
  for (const PushTarget& t : targets) {
    t.sink->Reset();
    sinks.push_back(t.sink);
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < targets.size(); ++i) {
    names.push_back(name_prefix + std::to_string(i));
    ERAGON_RETURN_IF_ERROR(AddConsumer(api, type, names.back(), targets[i].url, s.max_in_flight));
  }
  RateOutcome out = WaitForSinks(sinks, static_cast<uint64_t>(backlog), s.phase_timeout_s);
  for (const std::string& n : names) RemoveConsumer(api, type, n);
  return out;
}

// ---- pull phase ----

struct PullShared {
  std::mutex mu;
  std::vector<bool> seen;
  uint64_t distinct = 0, duplicates = 0, acked = 0;
  Status failure;
  std::atomic<int64_t> first_fetch_ns{0}, last_ack_ns{0};
  std::atomic<bool> stop{false};
};

void PullLoop(const Endpoint& endpoint, const std::string& token, const std::string& consumer,
              uint64_t expected, int64_t deadline_ns, int fetch_max, PullShared& shared) {
  ApiClient api(endpoint, token);
  simdjson::dom::parser parser;
  std::string fetch_body =
      R"({"max":)" + std::to_string(fetch_max) + R"(,"wait_ms":500,"ack_timeout_ms":60000})";
  std::string fetch_path = "/v1/consumers/" + consumer + "/fetch";
  std::string ack_path = "/v1/consumers/" + consumer + "/ack";
  std::string ack_body;
  auto fail = [&](Status st) {
    std::lock_guard lock(shared.mu);
    if (shared.failure.ok()) shared.failure = std::move(st);
    shared.stop = true;
  };
  while (!shared.stop.load() && SteadyNowNs() < deadline_ns) {
    int64_t sent = SteadyNowNs();
    Result<SimpleResponse> r = api.Call("POST", fetch_path, fetch_body);
    if (!r.ok()) return fail(r.status());
    simdjson::dom::element root;
    simdjson::dom::array messages;
    if (parser.parse(r->body).get(root) != simdjson::SUCCESS ||
        root["messages"].get_array().get(messages) != simdjson::SUCCESS) {
      return fail(Status::Unavailable("fetch: unexpected answer " + r->body.substr(0, 200)));
    }
    if (messages.size() == 0) continue;
    int64_t expect_zero = 0;
    shared.first_fetch_ns.compare_exchange_strong(expect_zero, sent);
    ack_body.assign(R"({"ack_ids":[)");
    std::vector<uint64_t> seqs;
    for (simdjson::dom::element m : messages) {
      std::string_view ack_id;
      uint64_t seq = 0;
      if (m["ack_id"].get_string().get(ack_id) != simdjson::SUCCESS ||
          m["event"]["data"]["seq"].get_uint64().get(seq) != simdjson::SUCCESS) {
        return fail(Status::Unavailable("fetch: message without ack_id or data.seq"));
      }
      if (!seqs.empty()) ack_body.push_back(',');
      AppendJsonString(&ack_body, ack_id);
      seqs.push_back(seq);
    }
    ack_body.append("]}");
    Result<SimpleResponse> a = api.Call("POST", ack_path, ack_body);
    if (!a.ok()) return fail(a.status());
    shared.last_ack_ns = SteadyNowNs();
    std::lock_guard lock(shared.mu);
    shared.acked += seqs.size();
    for (uint64_t seq : seqs) {
      if (seq >= shared.seen.size()) shared.seen.resize(std::max(seq + 1, shared.seen.size() * 2));
      if (shared.seen[seq]) {
        ++shared.duplicates;
      } else {
        shared.seen[seq] = true;
        ++shared.distinct;
      }
    }
    if (shared.distinct >= expected) shared.stop = true;
  }
}

struct PullOutcome {
  RateOutcome rate;
  uint64_t acked = 0;
};

// `backlog`: the events the consumer must get (all, or those its `filter` matches).
Result<PullOutcome> RunPull(const std::string& type, const std::string& consumer, int64_t backlog,
                            const Endpoint& endpoint, const std::string& token, ApiClient& api,
                            const DeliverSettings& s, const std::string& filter = "") {
  ERAGON_RETURN_IF_ERROR(AddConsumer(api, type, consumer, "", 0, filter));
  PullShared shared;
  int64_t deadline = SteadyNowNs() + static_cast<int64_t>(s.phase_timeout_s * 1e9);
  std::vector<std::thread> threads;
  for (int i = 0; i < s.pull_threads; ++i) {
    threads.emplace_back([&] {
      PullLoop(endpoint, token, consumer, static_cast<uint64_t>(backlog), deadline, s.fetch_max,
               shared);
    });
  }
  for (auto& t : threads) t.join();
  RemoveConsumer(api, type, consumer);
  if (!shared.failure.ok()) return shared.failure;
  PullOutcome out;
  out.acked = shared.acked;
  out.rate.events = shared.distinct;
  out.rate.duplicates = shared.duplicates;
  out.rate.complete = shared.distinct >= static_cast<uint64_t>(backlog);
  int64_t first = shared.first_fetch_ns.load(), last = shared.last_ack_ns.load();
  if (first != 0 && last > first) out.rate.seconds = static_cast<double>(last - first) / 1e9;
  return out;
}

// ---- report ----

const char* Met(bool met) { return met ? "yes" : "NO"; }

void PrintRateRow(const char* name, const RateOutcome& r, double target) {
  std::printf("%-30s %14.0f %14s %5s   %llu events in %.2f s%s, %llu duplicates\n", name, r.per_s(),
              (">= " + std::to_string(static_cast<int>(target))).c_str(), Met(r.per_s() >= target),
              static_cast<unsigned long long>(r.events), r.seconds,
              r.complete ? "" : " (INCOMPLETE: timed out)",
              static_cast<unsigned long long>(r.duplicates));
}

// The filtered pull (issue 15): three fields, matching the events whose entity id starts
// with "entity-1" (entity-1, -10..19, -100..199, ...: 11.1 % of AppendCompareEvent's
// 100,000 entities, spread over the whole backlog).
const char* kPullFilter =
    R"({"entity_id":[{"prefix":"entity-1"}],"data.seq":[{"numeric":[">=",0]}],)"
    R"("data.pad":[{"exists":true}]})";

int64_t FilterMatches(int64_t backlog) {
  int64_t n = 0;
  for (int64_t seq = 0; seq < backlog; ++seq) {
    n += std::to_string((static_cast<uint64_t>(seq) * 2654435761ULL) % 100000)[0] == '1';
  }
  return n;
}

constexpr double kTargetP99Ms = 5, kTargetPush = 25'000, kTargetFanout = 35'000,
                 kTargetPull = 100'000;

}  // namespace

// One run of every phase against one eragond; *push_per_s gets the push rate (0: none).
int RunDeliver(DeliverSettings s, double* push_per_s) {
  double load_start = LoadAverage1m();
  std::unique_ptr<EragondProcess> server;
  if (s.url.empty()) {
    std::string binary = s.eragond.empty() ? DefaultEragond() : s.eragond;
    auto spawned = EragondProcess::Spawn(binary, s.fsync, s.server_args, s.keep_data);
    if (!spawned.ok()) {
      std::fprintf(stderr, "eragon-bench deliver: %s\n", spawned.status().message().c_str());
      return 1;
    }
    server = std::move(*spawned);
    s.url = server->url();
    s.token = server->token();
    std::printf("eragond pid %d at %s, data dir %s, fsync %s, log %s\n", server->pid(),
                s.url.c_str(), server->data_dir().c_str(), s.fsync.c_str(),
                server->log_path().c_str());
  }
  Result<Endpoint> endpoint = ParseHttpUrl(s.url);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "eragon-bench deliver: %s\n", endpoint.status().message().c_str());
    return 2;
  }
  SinkServer sinks(2 + s.consumers, s.endpoint_threads);
  if (Status st = sinks.Start(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench deliver: consumer endpoint: %s\n", st.message().c_str());
    return 1;
  }
  std::printf(
      "load average at start %.2f (%u cpus); consumer endpoints: eragon_http, %d io "
      "threads\n",
      load_start, std::thread::hardware_concurrency(), s.endpoint_threads);
  std::fflush(stdout);

  ApiClient api(*endpoint, s.token);
  std::string tag = RunTag();
  auto fail = [&](const char* phase, const Status& st) {
    std::fprintf(stderr, "eragon-bench deliver: %s: %s\n", phase, st.message().c_str());
    return 1;
  };

  std::optional<LatencyOutcome> latency;
  if (!s.skip_latency) {
    std::printf(
        "latency: %.0f events/s open loop, %d connections, %d-byte events, %.0f s "
        "(+%.0f s warm-up), 1 push consumer\n",
        s.rate, s.connections, s.event_bytes, s.duration_s, s.warmup_s);
    std::fflush(stdout);
    auto r = RunLatency(*endpoint, s.token, api, sinks, tag, s);
    if (!r.ok()) return fail("latency", r.status());
    latency = std::move(*r);
  }

  // push and pull share one preloaded topic; fan-out has its own, smaller one.
  std::string backlog_type = "bench-" + tag + "-backlog";
  double preload_per_s = 0;
  std::optional<RateOutcome> push, fanout;
  std::optional<PullOutcome> pull, filtered;
  if (!s.skip_push || !s.skip_pull) {
    if (Status st = SetupProducer(api, backlog_type, s); !st.ok()) return fail("setup", st);
    WaitForRoutes();
    std::printf("preloading %lld events (batches of %d, %d connections)\n",
                static_cast<long long>(s.backlog), s.preload_batch, s.preload_threads);
    std::fflush(stdout);
    auto rate = Preload(*endpoint, s.token, backlog_type, s.backlog, s);
    if (!rate.ok()) return fail("preload", rate.status());
    preload_per_s = *rate;
  }
  if (!s.skip_push) {
    std::printf("push: backlog of %lld to 1 consumer (max_in_flight %d)\n",
                static_cast<long long>(s.backlog), s.max_in_flight);
    std::fflush(stdout);
    auto r = RunPushBacklog(backlog_type, "push-" + tag + "-", {{&sinks.sink(1), sinks.url(1)}},
                            s.backlog, api, s);
    if (!r.ok()) return fail("push", r.status());
    push = *r;
  }
  if (!s.skip_pull) {
    std::printf("pull: backlog of %lld, %d pullers, fetch max %d, ack each batch\n",
                static_cast<long long>(s.backlog), s.pull_threads, s.fetch_max);
    std::fflush(stdout);
    auto r = RunPull(backlog_type, "pull-" + tag, s.backlog, *endpoint, s.token, api, s);
    if (!r.ok()) return fail("pull", r.status());
    pull = *r;
    if (s.pull_filter) {
      std::printf("pull with a 3-field filter: the same backlog, %lld events match\n",
                  static_cast<long long>(FilterMatches(s.backlog)));
      std::fflush(stdout);
      auto f = RunPull(backlog_type, "pullf-" + tag, FilterMatches(s.backlog), *endpoint, s.token,
                       api, s, kPullFilter);
      if (!f.ok()) return fail("filtered pull", f.status());
      filtered = *f;
    }
  }
  if (!s.skip_fanout) {
    std::string type = "bench-" + tag + "-fanout";
    if (Status st = SetupProducer(api, type, s); !st.ok()) return fail("setup", st);
    WaitForRoutes();
    std::printf("fan-out: backlog of %lld to %d consumers (%s)\n",
                static_cast<long long>(s.fanout_backlog), s.consumers,
                s.fanout_shared_endpoint ? "paths of one endpoint server"
                                         : "one endpoint server each, 1 io thread");
    std::fflush(stdout);
    auto rate = Preload(*endpoint, s.token, type, s.fanout_backlog, s);
    if (!rate.ok()) return fail("preload", rate.status());
    // Separate services, separate endpoints (and connection pools) by default.
    std::vector<std::unique_ptr<SinkServer>> own;
    std::vector<PushTarget> targets;
    for (int i = 0; i < s.consumers; ++i) {
      if (s.fanout_shared_endpoint) {
        targets.push_back({&sinks.sink(2 + i), sinks.url(2 + i)});
        continue;
      }
      own.push_back(std::make_unique<SinkServer>(1, 1));
      if (Status st = own.back()->Start(); !st.ok()) return fail("fan-out endpoint", st);
      targets.push_back({&own.back()->sink(0), own.back()->url(0)});
    }
    auto r = RunPushBacklog(type, "fan-" + tag + "-", targets, s.fanout_backlog, api, s);
    if (!r.ok()) return fail("fan-out", r.status());
    fanout = *r;
  }
  double load_end = LoadAverage1m();

  std::printf("\n%-30s %14s %14s %5s   %s\n", "measure", "measured", "target", "met", "detail");
  std::string kv;
  char buf[512];
  if (latency) {
    const LatencyHistogram& h = latency->delivered;
    double p99 = static_cast<double>(h.ValueAtPercentile(99)) / 1e6;
    std::printf(
        "%-30s %11s ms %11s ms %5s   p50 %s, p99.9 %s, max %s ms; %llu/%llu delivered, "
        "%llu duplicates\n",
        ("p99 publish->receive @" + std::to_string(static_cast<int>(s.rate)) + "/s").c_str(),
        Ms(h.ValueAtPercentile(99)).c_str(), "<= 5", Met(h.count() > 0 && p99 <= kTargetP99Ms),
        Ms(h.ValueAtPercentile(50)).c_str(), Ms(h.ValueAtPercentile(99.9)).c_str(),
        Ms(h.max()).c_str(), static_cast<unsigned long long>(latency->delivered_in_window),
        static_cast<unsigned long long>(latency->sent_in_window),
        static_cast<unsigned long long>(latency->duplicates));
    const LoadResult& p = latency->publish;
    std::printf(
        "%-30s %14.0f %14s %5s   publish latency p50 %s p99 %s ms, non-2xx %llu, "
        "errors %llu\n",
        "  publish rate achieved", p.events_per_s(), "", "",
        Ms(p.latency_ns.ValueAtPercentile(50)).c_str(),
        Ms(p.latency_ns.ValueAtPercentile(99)).c_str(),
        static_cast<unsigned long long>(p.requests_failed),
        static_cast<unsigned long long>(p.transport_errors));
    if (!p.first_failure.empty()) std::printf("  first non-2xx: %s\n", p.first_failure.c_str());
    std::snprintf(buf, sizeof(buf),
                  "latency_rate=%.0f published_per_s=%.0f p50_ms=%s p99_ms=%s p999_ms=%s "
                  "max_ms=%s delivered_in_window=%llu sent_in_window=%llu publish_p99_ms=%s ",
                  s.rate, p.events_per_s(), Ms(h.ValueAtPercentile(50)).c_str(),
                  Ms(h.ValueAtPercentile(99)).c_str(), Ms(h.ValueAtPercentile(99.9)).c_str(),
                  Ms(h.max()).c_str(),
                  static_cast<unsigned long long>(latency->delivered_in_window),
                  static_cast<unsigned long long>(latency->sent_in_window),
                  Ms(p.latency_ns.ValueAtPercentile(99)).c_str());
    kv += buf;
  }
  if (preload_per_s > 0) {
    std::printf("%-30s %14.0f %14s %5s   batches of %d\n", "  preload (publish) events/s",
                preload_per_s, "", "", s.preload_batch);
    std::snprintf(buf, sizeof(buf), "preload_events_per_s=%.0f ", preload_per_s);
    kv += buf;
  }
  if (push) {
    PrintRateRow("push deliveries/s, 1 consumer", *push, kTargetPush);
    std::snprintf(buf, sizeof(buf), "push_deliveries_per_s=%.0f push_complete=%d ", push->per_s(),
                  push->complete ? 1 : 0);
    kv += buf;
  }
  if (fanout) {
    std::string name = "fan-out deliveries/s, " + std::to_string(s.consumers) + " cons.";
    PrintRateRow(name.c_str(), *fanout, kTargetFanout);
    std::snprintf(buf, sizeof(buf),
                  "fanout_deliveries_per_s=%.0f fanout_consumers=%d "
                  "fanout_complete=%d ",
                  fanout->per_s(), s.consumers, fanout->complete ? 1 : 0);
    kv += buf;
  }
  if (pull) {
    PrintRateRow("pull fetch+ack events/s", pull->rate, kTargetPull);
    std::snprintf(buf, sizeof(buf),
                  "pull_events_per_s=%.0f pull_complete=%d pull_threads=%d "
                  "fetch_max=%d ",
                  pull->rate.per_s(), pull->rate.complete ? 1 : 0, s.pull_threads, s.fetch_max);
    kv += buf;
  }
  if (pull && filtered) {
    // Events scanned: the whole backlog passed the filter in the time the matches took.
    const double scanned = filtered->rate.seconds > 0 ? s.backlog / filtered->rate.seconds : 0;
    const double ratio = pull->rate.per_s() > 0 ? scanned / pull->rate.per_s() : 0;
    std::printf("%-30s %14.0f %14s %5s   %llu of %lld matched in %.2f s%s (%.2f x unfiltered)\n",
                "pull, 3-field filter, scanned/s", scanned, ">= 0.9 x pull", Met(ratio >= 0.9),
                static_cast<unsigned long long>(filtered->rate.events),
                static_cast<long long>(s.backlog), filtered->rate.seconds,
                filtered->rate.complete ? "" : " (INCOMPLETE)", ratio);
    std::snprintf(buf, sizeof(buf), "filtered_pull_scanned_per_s=%.0f filtered_pull_ratio=%.2f ",
                  scanned, ratio);
    kv += buf;
  }
  std::snprintf(buf, sizeof(buf), "event_bytes=%d fsync=%s load1_start=%.2f load1_end=%.2f",
                s.event_bytes, server ? s.fsync.c_str() : "external", load_start, load_end);
  kv += buf;
  std::printf("load average at end %.2f\n", load_end);
  if (server) {
    if (Status st = server->Stop(); !st.ok()) {
      std::fprintf(stderr, "eragon-bench deliver: %s\n", st.message().c_str());
    }
  }
  std::printf("%s\n", kv.c_str());
  *push_per_s = push ? push->per_s() : 0;
  return 0;
}

int DeliverMain(Flags& flags) {
  DeliverSettings s = ReadDeliverSettings(flags);
  if (Status st = flags.CheckAllUsed(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench deliver: %s\n", st.message().c_str());
    return 2;
  }
  double a = 0, b = 0;
  if (int rc = RunDeliver(s, &a); rc != 0 || s.compare_args.empty()) return rc;
  if (!s.url.empty()) {
    std::fprintf(stderr, "eragon-bench deliver: --compare-server-args needs a spawned eragond\n");
    return 2;
  }
  std::string extra;
  for (const std::string& arg : s.compare_args) {
    s.server_args.push_back(arg);
    extra += " " + arg;
  }
  std::printf("\n---- again, with eragond%s ----\n", extra.c_str());
  if (int rc = RunDeliver(s, &b); rc != 0) return rc;
  std::printf("push deliveries/s: %.0f as given, %.0f with%s (%+.1f %%)\n", a, b, extra.c_str(),
              a > 0 ? (b - a) / a * 100 : 0.0);
  std::printf("compare_push_a=%.0f compare_push_b=%.0f\n", a, b);
  return 0;
}

}  // namespace eragon::bench
