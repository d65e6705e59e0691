// What `eragon-bench cluster` runs against: the nodes of a running cluster (URLs and
// pids, from `scripts/cluster up`), the CPU time of processes from /proc, and an
// in-process push endpoint that records, per Kafka partition, when deliveries arrive.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_load_generator.h"
#include "eragon/status.h"

namespace eragon::http {
class HttpServer;
class Router;
}  // namespace eragon::http

namespace eragon::bench {

// One eragond node of the cluster.
struct ClusterNode {
  std::string url;
  Endpoint endpoint;
  pid_t pid = -1;
};

constexpr uint32_t kClusterPartitions = 8;  // of the benchmark's topics

// What `eragon-bench cluster` was told (bench_cluster.cc reads the flags).
struct ClusterSettings {
  std::vector<ClusterNode> nodes;
  std::vector<pid_t> kafka_pids;     // the brokers
  std::vector<pid_t> postgres_pids;  // the postmaster (its backends are counted with it)
  std::string token, phase = "load";
  // load
  int connections = 48, client_threads = 1, event_bytes = 1024, max_in_flight = 256;
  double duration_s = 10, warmup_s = 2, idle_s = 2;
  double load_rate = 0;  // events/s over all nodes, open loop; 0: closed loop
  // takeover
  int runs = 5, victim = 3;  // 1-based index into nodes
  double rate = 400, settle_s = 3;
  std::string restart_cmd;
  int endpoint_threads = 2;
};

class ClusterSink;

// Six hex digits for the names of one run.
std::string RunTag();
// The producer route `type` (Kafka, 8 partitions, unordered like bench/kafka) and one
// push consumer route to the sink; answers the consumer's name.
Result<std::string> SetUpRoutes(const ClusterSettings& s, const std::string& type,
                                const ClusterSink& sink);
// Best effort: deletes the consumer route.
void RemoveClusterConsumer(const ClusterSettings& s, const std::string& type,
                           const std::string& name);
// Waits (up to `timeout_s`) until the nodes deliver the 8 partitions between them, each
// some; *shared tells whether they did. Answers the per-node counts seen last.
std::vector<int> WaitShared(const ClusterSettings& s, double timeout_s, bool* shared);
std::string JoinCounts(const std::vector<int>& v);  // "3+3+2"
// Publish requests of one 1 KiB-style event each (AppendCompareEvent); the event's seq
// comes from `next_seq`, so that seqs stay unique over every generator of the run.
RequestBuilder EventBuilder(const Endpoint& e, const std::string& token, const std::string& type,
                            int event_bytes, std::atomic<uint64_t>& next_seq);

int RunLoad(const ClusterSettings& s);      // bench_cluster.cc
int RunTakeover(const ClusterSettings& s);  // bench_cluster_takeover.cc

// "a,b,c" → {"a","b","c"} (empty items dropped).
std::vector<std::string> SplitList(const std::string& list);

// utime + stime of `pid` in seconds from /proc/PID/stat (0 when it is gone).
double ProcessCpuSeconds(pid_t pid);
// The same for each pid and, with `children`, every live process whose parent is one of
// them (PostgreSQL's backends under the postmaster).
double CpuSeconds(const std::vector<pid_t>& pids, bool children);
// This process (load generator and push endpoint), from getrusage.
double SelfCpuSeconds();

// The node's `eragon_delivering_partitions` from /metrics; -1 when it does not answer.
int DeliveringPartitions(const ClusterNode& node, const std::string& token);

// The push endpoint of the benchmark's consumer route: POST /sink answers 200 at once.
// Every event carries data.seq (unique in the run) and its entity id; the sink counts
// distinct seqs and, per partition (Kafka's murmur2 of the entity id, as eragond places
// events), the arrival times of deliveries since Mark(). Thread-safe.
class ClusterSink {
 public:
  ClusterSink(int io_threads, uint32_t partitions);
  ~ClusterSink();
  Status Start();
  std::string url() const;  // http://127.0.0.1:PORT/sink

  uint64_t distinct() const { return distinct_.load(std::memory_order_relaxed); }
  uint64_t deliveries() const { return deliveries_.load(std::memory_order_relaxed); }
  int64_t last_new_ns() const { return last_new_ns_.load(std::memory_order_relaxed); }
  // Per partition, the first arrival at or after `from_ns` (0: none yet).
  std::vector<int64_t> FirstArrivalsSince(int64_t from_ns) const;
  // Per partition, the last arrival (0: none).
  std::vector<int64_t> LastArrivals() const;

 private:
  void Record(std::string_view body, int64_t now_ns);

  const uint32_t partitions_;
  mutable std::mutex mu_;
  std::vector<bool> seen_;                      // by seq
  std::vector<std::vector<int64_t>> arrivals_;  // by partition, last 4096 arrival times
  std::atomic<uint64_t> distinct_{0}, deliveries_{0};
  std::atomic<int64_t> last_new_ns_{0};
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace eragon::bench
