// eragon-bench cluster: a running cluster (bench/cluster starts it with scripts/cluster)
// measured from outside. Two phases:
//   load      single-event publishes spread evenly over the given nodes for --duration s
//             (closed loop, --connections in all), one push consumer route to an
//             in-process endpoint; events/s published and pushed, and CPU per event =
//             (utime+stime of every eragond) / events, from publish start to the drain;
//   takeover  steady publishing through the other nodes, kill -9 of --victim, time until
//             every partition it delivered is delivered again by another node; the node
//             is restarted (--restart-cmd) and takes its share back before the next run.
// Figures are printed, never judged; the last line is key=value pairs.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "bench/bench_cluster_env.h"
#include "bench/bench_compare.h"  // AppendCompareEvent: the same event bytes as compare
#include "bench/bench_deliver_env.h"
#include "bench/bench_flags.h"

namespace eragon::bench {
namespace {

pid_t ToPid(const std::string& s) { return static_cast<pid_t>(std::stol(s)); }

Result<ClusterSettings> ReadClusterSettings(Flags& f) {
  ClusterSettings s;
  std::vector<std::string> urls = SplitList(f.GetString("urls", ""));
  std::vector<std::string> pids = SplitList(f.GetString("pids", ""));
  if (urls.empty() || urls.size() != pids.size()) {
    return Status::InvalidArgument("--urls U1,U2,... and --pids P1,P2,... (one per node) needed");
  }
  for (size_t i = 0; i < urls.size(); ++i) {
    ERAGON_ASSIGN_OR_RETURN(Endpoint e, ParseHttpUrl(urls[i]));
    s.nodes.push_back(ClusterNode{urls[i], e, ToPid(pids[i])});
  }
  for (const std::string& p : SplitList(f.GetString("kafka-pids", ""))) {
    s.kafka_pids.push_back(ToPid(p));
  }
  for (const std::string& p : SplitList(f.GetString("postgres-pids", ""))) {
    s.postgres_pids.push_back(ToPid(p));
  }
  s.token = f.GetString("token", "");
  s.phase = f.GetString("phase", s.phase);
  s.connections = static_cast<int>(std::max<int64_t>(1, f.GetInt("connections", s.connections)));
  s.client_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("threads", 1)));
  s.event_bytes = static_cast<int>(f.GetInt("event-bytes", s.event_bytes));
  s.max_in_flight = static_cast<int>(f.GetInt("max-in-flight", s.max_in_flight));
  s.duration_s = f.GetDouble("duration", s.duration_s);
  s.warmup_s = f.GetDouble("warmup", s.warmup_s);
  s.idle_s = f.GetDouble("idle", s.idle_s);
  s.load_rate = std::max(0.0, f.GetDouble("load-rate", 0));
  s.runs = static_cast<int>(std::max<int64_t>(1, f.GetInt("runs", s.runs)));
  s.victim = static_cast<int>(f.GetInt("victim", static_cast<int64_t>(s.nodes.size())));
  s.rate = f.GetDouble("rate", s.rate);
  s.settle_s = f.GetDouble("settle", s.settle_s);
  s.restart_cmd = f.GetString("restart-cmd", "");
  s.endpoint_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("endpoint-threads", 2)));
  if (s.token.empty()) return Status::InvalidArgument("--token (the admin token) needed");
  if (s.phase == "takeover" &&
      (s.nodes.size() < 2 || s.victim < 1 || s.victim > static_cast<int>(s.nodes.size()))) {
    return Status::InvalidArgument("takeover needs 2+ nodes and --victim in 1..nodes");
  }
  if (s.phase == "takeover" && s.restart_cmd.empty()) {
    return Status::InvalidArgument("takeover needs --restart-cmd");
  }
  return s;
}

// ---- load ----

// CPU seconds so far: the eragond nodes, the Kafka brokers, PostgreSQL (postmaster and
// backends), this process (load generator and push endpoint).
struct Cpu {
  double eragond = 0, kafka = 0, postgres = 0, self = 0;

  static Cpu Now(const ClusterSettings& s) {
    std::vector<pid_t> pids;
    for (const ClusterNode& n : s.nodes) pids.push_back(n.pid);
    return Cpu{CpuSeconds(pids, false), CpuSeconds(s.kafka_pids, false),
               CpuSeconds(s.postgres_pids, true), SelfCpuSeconds()};
  }
  Cpu operator-(const Cpu& o) const {
    return Cpu{eragond - o.eragond, kafka - o.kafka, postgres - o.postgres, self - o.self};
  }
};

struct LoadFigures {
  uint64_t published = 0, failed = 0, pushed = 0, duplicates = 0;
  double publish_s = 0, push_s = 0, wall_s = 0;
  Cpu cpu;                      // publish start to drain
  Cpu idle;                     // per second, before the load (heartbeats, consumer polls)
  LatencyHistogram publish_ns;  // of the 202 answers
  bool drained = false;
};

// Publishes through every node at once (the connections split evenly) for `duration_s`.
LoadFigures Publish(const ClusterSettings& s, const std::string& type, double duration_s,
                    std::atomic<uint64_t>& next_seq) {
  std::vector<LoadResult> results(s.nodes.size());
  std::vector<std::thread> threads;
  const int n = static_cast<int>(s.nodes.size());
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      LoadOptions load;
      load.endpoint = s.nodes[static_cast<size_t>(i)].endpoint;
      load.connections = s.connections / n + (i < s.connections % n ? 1 : 0);
      load.threads = s.client_threads;
      load.duration_s = duration_s;
      load.warmup_s = 0;
      load.request_rate = s.load_rate / n;  // 0: closed loop
      auto r =
          LoadGenerator(load, EventBuilder(load.endpoint, s.token, type, s.event_bytes, next_seq))
              .Run();
      if (r.ok()) results[static_cast<size_t>(i)] = std::move(*r);
    });
  }
  for (auto& t : threads) t.join();
  LoadFigures f;
  for (const LoadResult& r : results) {
    f.published += r.events_ok;
    f.failed += r.requests_failed + r.transport_errors;
    f.publish_ns.Merge(r.latency_ns);
  }
  f.publish_s = duration_s;
  return f;
}

// Until the sink holds `expected` distinct events, or 1 s passed without a new one once
// it holds at least `acked`, or 60 s.
bool WaitDrained(const ClusterSink& sink, uint64_t acked, uint64_t expected) {
  int64_t start = SteadyNowNs(), last_progress = start;
  uint64_t last = 0;
  for (;;) {
    uint64_t d = sink.distinct();
    int64_t now = SteadyNowNs();
    if (d != last) last_progress = now;
    last = d;
    if (d >= expected) return true;
    if (d >= acked && now - last_progress > 1'000'000'000) return true;
    if (now - start > 60'000'000'000) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

LoadFigures MeasureLoad(const ClusterSettings& s, const std::string& type, ClusterSink& sink,
                        std::atomic<uint64_t>& next_seq) {
  const Cpu idle0 = Cpu::Now(s);
  const int64_t idle_t0 = SteadyNowNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(s.idle_s * 1000)));
  const Cpu idle = Cpu::Now(s) - idle0;
  const double idle_wall = static_cast<double>(SteadyNowNs() - idle_t0) / 1e9;
  if (s.warmup_s > 0) {  // warm-up: connections, Kafka producers, caches; then drained
    LoadFigures w = Publish(s, type, s.warmup_s, next_seq);
    WaitDrained(sink, w.published, next_seq.load());
  }
  const uint64_t distinct0 = sink.distinct(), deliveries0 = sink.deliveries();
  const Cpu cpu0 = Cpu::Now(s);
  const int64_t t0 = SteadyNowNs();
  LoadFigures f = Publish(s, type, s.duration_s, next_seq);
  f.drained = WaitDrained(sink, distinct0 + f.published, next_seq.load());
  f.cpu = Cpu::Now(s) - cpu0;
  f.wall_s = static_cast<double>(SteadyNowNs() - t0) / 1e9;
  f.idle = Cpu{idle.eragond / idle_wall, idle.kafka / idle_wall, idle.postgres / idle_wall,
               idle.self / idle_wall};
  f.pushed = sink.distinct() - distinct0;
  f.duplicates = (sink.deliveries() - deliveries0) - f.pushed;
  f.push_s = static_cast<double>(sink.last_new_ns() - t0) / 1e9;
  return f;
}

void ReportLoad(const ClusterSettings& s, const LoadFigures& f, const std::vector<int>& split) {
  const double events = static_cast<double>(std::max<uint64_t>(1, f.pushed));
  auto us = [&](double cpu_s) { return cpu_s * 1e6 / events; };
  const double net = us(f.cpu.eragond - f.idle.eragond * f.wall_s);
  const double published_per_s = static_cast<double>(f.published) / f.publish_s;
  const double pushed_per_s = f.push_s > 0 ? static_cast<double>(f.pushed) / f.push_s : 0;
  const double p50 = static_cast<double>(f.publish_ns.ValueAtPercentile(50)) / 1e6,
               p99 = static_cast<double>(f.publish_ns.ValueAtPercentile(99)) / 1e6;
  const std::string mode =
      s.load_rate > 0 ? "open loop at " + std::to_string(static_cast<int>(s.load_rate)) + "/s"
                      : "closed loop";
  std::printf(
      "nodes %zu (partitions %s), %d connections, %s, %.0f s: published %.0f events/s (answer p50 "
      "%.1f ms, p99 %.1f ms), pushed %.0f events/s (%llu events, %llu duplicates%s)\n",
      s.nodes.size(), JoinCounts(split).c_str(), s.connections, mode.c_str(), s.duration_s,
      published_per_s, p50, p99, pushed_per_s, static_cast<unsigned long long>(f.pushed),
      static_cast<unsigned long long>(f.duplicates), f.drained ? "" : ", NOT DRAINED");
  std::printf(
      "  CPU per event (publish + push), over %.1f s: eragond %.1f us (%.2f cores; idle "
      "before: %.3f cores, so %.1f us above idle), Kafka %.1f us (idle %.3f cores), "
      "PostgreSQL %.1f us (idle %.3f cores), load generator + endpoint %.1f us\n",
      f.wall_s, us(f.cpu.eragond), f.cpu.eragond / f.wall_s, f.idle.eragond, net, us(f.cpu.kafka),
      f.idle.kafka, us(f.cpu.postgres), f.idle.postgres, us(f.cpu.self));
  std::printf(
      "nodes=%zu load_rate=%.0f published_per_s=%.0f pushed_per_s=%.0f events=%llu failed=%llu "
      "duplicates=%llu cpu_us_per_event=%.2f net_cpu_us_per_event=%.2f idle_cores=%.3f "
      "kafka_cpu_us_per_event=%.2f postgres_cpu_us_per_event=%.2f "
      "bench_cpu_us_per_event=%.2f eragond_cores=%.2f publish_p50_ms=%.1f publish_p99_ms=%.1f "
      "drained=%d load1=%.2f\n",
      s.nodes.size(), s.load_rate, published_per_s, pushed_per_s,
      static_cast<unsigned long long>(f.pushed), static_cast<unsigned long long>(f.failed),
      static_cast<unsigned long long>(f.duplicates), us(f.cpu.eragond), net, f.idle.eragond,
      us(f.cpu.kafka), us(f.cpu.postgres), us(f.cpu.self), f.cpu.eragond / f.wall_s, p50, p99,
      f.drained ? 1 : 0, LoadAverage1m());
}

}  // namespace

int RunLoad(const ClusterSettings& s) {
  ClusterSink sink(s.endpoint_threads, kClusterPartitions);
  if (Status st = sink.Start(); !st.ok())
    return std::fprintf(stderr, "sink: %s\n", st.message().c_str()), 1;
  const std::string type = "cbench-" + RunTag();
  auto consumer = SetUpRoutes(s, type, sink);
  if (!consumer.ok()) {
    std::fprintf(stderr, "eragon-bench cluster: %s\n", consumer.status().message().c_str());
    return 1;
  }
  bool shared = false;
  std::vector<int> split = WaitShared(s, 60, &shared);
  if (!shared)
    std::fprintf(stderr, "  (the nodes do not share the partitions: %s)\n",
                 JoinCounts(split).c_str());
  std::atomic<uint64_t> next_seq{0};
  LoadFigures f = MeasureLoad(s, type, sink, next_seq);
  ReportLoad(s, f, split);
  RemoveClusterConsumer(s, type, *consumer);
  return f.drained ? 0 : 1;
}

int ClusterMain(Flags& flags) {
  auto s = ReadClusterSettings(flags);
  if (Status st = flags.CheckAllUsed(); !s.ok() || !st.ok()) {
    std::fprintf(stderr, "eragon-bench cluster: %s\n",
                 (s.ok() ? st : s.status()).message().c_str());
    return 2;
  }
  if (s->phase == "load") return RunLoad(*s);
  if (s->phase == "takeover") return RunTakeover(*s);
  std::fprintf(stderr, "eragon-bench cluster: --phase load|takeover\n");
  return 2;
}

}  // namespace eragon::bench
