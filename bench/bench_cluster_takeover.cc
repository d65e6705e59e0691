// eragon-bench cluster --phase takeover: kill -9 of one node while the others publish
// steadily; the time until every partition it delivered is delivered again by another
// node, --runs times (the node restarted in between), median and max.
//
// Which partitions the killed node had: the sink places every delivery in its partition
// (Kafka's murmur2 of the entity id, as eragond does). Publishing goes on through the
// other nodes at --rate, so every partition a live node owns keeps receiving within a few
// ms; the killed node's partitions receive nothing until another node owns them. A
// partition's takeover = its first arrival later than 200 ms after the kill (a push
// already on its way when the node died may land just after the kill) − the kill. The
// node's partitions are the k latest of those, k its eragon_delivering_partitions read
// just before the kill.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "bench/bench_cluster_env.h"
#include "bench/bench_compare.h"
#include "bench/bench_deliver_env.h"

namespace eragon::bench {
namespace {

constexpr int64_t kGuardNs = 200'000'000;

struct Publishers {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked{0}, failed{0}, next_seq{0};
  std::vector<std::thread> threads;

  // Two paced threads per node but the victim, `rate` events/s in all.
  void Start(const ClusterSettings& s, const std::string& type) {
    const int senders = 2 * (static_cast<int>(s.nodes.size()) - 1);
    const auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 * senders / s.rate));
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      if (static_cast<int>(i) == s.victim - 1) continue;
      for (int k = 0; k < 2; ++k) {
        threads.emplace_back([this, &s, type, interval, i] { Loop(s, type, interval, i); });
      }
    }
  }
  void Loop(const ClusterSettings& s, const std::string& type, std::chrono::nanoseconds interval,
            size_t node) {
    ApiClient api(s.nodes[node].endpoint, s.token);
    std::string body;
    auto due = std::chrono::steady_clock::now();
    while (!stop.load()) {
      body.clear();
      AppendCompareEvent(body, type, next_seq.fetch_add(1), SteadyNowNs(), s.event_bytes);
      (api.Call("POST", "/v1/events", body).ok() ? acked : failed).fetch_add(1);
      due += interval;
      std::this_thread::sleep_until(due);
    }
  }
  void Stop() {
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  }
};

struct TakeoverRun {
  int victim_partitions = 0;
  double first_ms = 0, last_ms = 0;  // the node's first and last partition delivered again
  double rejoin_s = 0;               // restart → it delivers a share again
  bool ok = false;
};

// Until every partition received a delivery in the last 500 ms (or 30 s).
void WaitSteady(const ClusterSink& sink) {
  auto deadline = SteadyNowNs() + 30'000'000'000;
  while (SteadyNowNs() < deadline) {
    std::vector<int64_t> last = sink.LastArrivals();
    int64_t now = SteadyNowNs();
    if (std::all_of(last.begin(), last.end(), [&](int64_t t) { return now - t < 500'000'000; })) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Per partition, its first arrival later than kill + guard, once all have one (or 60 s).
std::vector<int64_t> WaitAllResumed(const ClusterSink& sink, int64_t kill_ns) {
  auto deadline = kill_ns + 60'000'000'000;
  for (;;) {
    std::vector<int64_t> firsts = sink.FirstArrivalsSince(kill_ns + kGuardNs);
    bool all = std::all_of(firsts.begin(), firsts.end(), [](int64_t t) { return t != 0; });
    if (all || SteadyNowNs() > deadline) return firsts;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Runs `cmd` (scripts/cluster start-node N ...) and answers the pid= it printed.
Result<pid_t> Restart(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return Status::IOError("popen " + cmd);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int rc = ::pclose(p);
  size_t at = out.find("pid=");
  if (rc != 0 || at == std::string::npos) {
    return Status::Unavailable("'" + cmd + "' failed: " + out);
  }
  return static_cast<pid_t>(std::stol(out.substr(at + 4)));
}

Result<TakeoverRun> OneTakeover(ClusterSettings& s, const ClusterSink& sink) {
  bool shared = false;
  std::vector<int> counts = WaitShared(s, 90, &shared);
  if (!shared)
    return Status::Unavailable("the nodes do not share the partitions: " + JoinCounts(counts));
  WaitSteady(sink);
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(s.settle_s * 1000)));
  ClusterNode& victim = s.nodes[static_cast<size_t>(s.victim - 1)];
  TakeoverRun run;
  run.victim_partitions = DeliveringPartitions(victim, s.token);
  const int64_t kill_ns = SteadyNowNs();
  if (::kill(victim.pid, SIGKILL) != 0)
    return Status::IOError("kill -9 " + std::to_string(victim.pid));
  std::vector<int64_t> firsts = WaitAllResumed(sink, kill_ns);
  std::sort(firsts.begin(), firsts.end());
  run.ok = firsts.front() != 0 && run.victim_partitions > 0;
  if (run.ok) {
    run.last_ms = static_cast<double>(firsts.back() - kill_ns) / 1e6;
    run.first_ms =
        static_cast<double>(firsts[firsts.size() - static_cast<size_t>(run.victim_partitions)] -
                            kill_ns) /
        1e6;
  }
  const int64_t restart_ns = SteadyNowNs();
  ERAGON_ASSIGN_OR_RETURN(victim.pid, Restart(s.restart_cmd));
  WaitShared(s, 90, &shared);
  run.rejoin_s = static_cast<double>(SteadyNowNs() - restart_ns) / 1e9;
  return run;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

}  // namespace

int RunTakeover(const ClusterSettings& settings) {
  ClusterSettings s = settings;  // the victim's pid changes with each restart
  ClusterSink sink(s.endpoint_threads, kClusterPartitions);
  Status st = sink.Start();
  const std::string type = "cbench-" + RunTag() + "-takeover";
  auto consumer = st.ok() ? SetUpRoutes(s, type, sink) : Result<std::string>(st);
  if (!consumer.ok()) {
    std::fprintf(stderr, "eragon-bench cluster: %s\n", consumer.status().message().c_str());
    return 1;
  }
  Publishers pub;
  pub.Start(s, type);
  std::vector<double> lasts, firsts;
  for (int i = 1; i <= s.runs; ++i) {
    Result<TakeoverRun> r = OneTakeover(s, sink);
    if (!r.ok()) {
      std::fprintf(stderr, "  run %d: %s\n", i, r.status().message().c_str());
      break;
    }
    std::printf(
        "run %d: kill -9 of node %d (%d partitions): first of them delivered again "
        "after %.0f ms, all after %.0f ms; restarted, delivering again after %.1f s%s\n",
        i, s.victim, r->victim_partitions, r->first_ms, r->last_ms, r->rejoin_s,
        r->ok ? "" : " (INCOMPLETE)");
    std::fflush(stdout);
    if (r->ok) lasts.push_back(r->last_ms), firsts.push_back(r->first_ms);
  }
  pub.Stop();
  const uint64_t acked = pub.acked.load();
  auto deadline = SteadyNowNs() + 30'000'000'000;
  while (sink.distinct() < acked && SteadyNowNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  RemoveClusterConsumer(s, type, *consumer);
  const double max_last = lasts.empty() ? 0 : *std::max_element(lasts.begin(), lasts.end());
  std::printf(
      "takeover after kill -9 (%zu runs, %.0f events/s through the other nodes): every "
      "partition of the killed node delivered again after median %.0f ms, max %.0f ms "
      "(its first partition: median %.0f ms); %llu events 202'd, %llu delivered, %llu "
      "deliveries beyond the first, %llu publishes failed\n",
      lasts.size(), s.rate, Median(lasts), max_last, Median(firsts),
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(sink.distinct()),
      static_cast<unsigned long long>(sink.deliveries() - sink.distinct()),
      static_cast<unsigned long long>(pub.failed.load()));
  std::printf(
      "takeover_runs=%zu takeover_median_ms=%.0f takeover_max_ms=%.0f "
      "takeover_first_median_ms=%.0f acked=%llu delivered=%llu failed=%llu load1=%.2f\n",
      lasts.size(), Median(lasts), max_last, Median(firsts), static_cast<unsigned long long>(acked),
      static_cast<unsigned long long>(sink.distinct()),
      static_cast<unsigned long long>(pub.failed.load()), LoadAverage1m());
  return static_cast<int>(lasts.size()) == s.runs ? 0 : 1;
}

}  // namespace eragon::bench
