// eragon-bench compare: Eragon, Redis Streams and NATS JetStream under the same
// workloads, in one run, alternating the systems round by round. The servers are started
// by bench/compare (or are already running); this binary only drives them and reports.
//
// Every system gets byte-identical 1 KiB JSON events (AppendCompareEvent) and the same
// latency histogram. Eragon and Redis are driven by the same Asio LoadGenerator (Redis
// through hiredis's command formatter and reply reader as a ResponseFramer); NATS owns its
// sockets inside libnats, so it is driven by RunThreadLoad, a thread-per-client loop with
// the generator's schedule, warm-up and measurement window.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "bench/bench_deliver_env.h"
#include "bench/bench_flags.h"
#include "bench/bench_load_generator.h"
#include "bench/histogram.h"
#include "eragon/status.h"

namespace eragon::bench {

enum class Workload {
  kPublish,  // 1: durable single-event publish
  kRelaxed,  // 2: the same on the relaxed tier
  kBatch,    // 3: batched / pipelined publish
  kConsume,  // 4: consume a preloaded backlog with acknowledgement
  kLatency,  // 5: publish -> consumer receives at a fixed rate
};

struct CompareSettings {
  int clients = 64;          // outstanding single publishes (workloads 1, 2, 5)
  int batch_clients = 16;    // outstanding batches (workload 3)
  int batch = 100;           // events per batch / pipeline / async-publish window
  int event_bytes = 1024;    // JSON event size
  int client_threads = 2;    // io threads of the Asio generator (Eragon, Redis)
  int nats_connections = 8;  // NATS connections shared by the publisher threads
  double duration_s = 5, warmup_s = 1;
  int64_t backlog = 100'000;  // workload 4
  int consumers = 4;          // workload 4: concurrent consumers, each fetching `batch`
  double latency_rate = 10'000, latency_duration_s = 8;  // workload 5
  double phase_timeout_s = 30;
  std::string eragon_latency_mode = "push";  // "push" (HTTP endpoint) or "pull" (long poll)
  std::string eragon_channel = "embedded";   // the producer routes' channel: or "kafka"
};

struct CellResult {
  double events_per_s = 0;
  LatencyHistogram latency;          // publish answer latency (1-3), publish -> receive (5)
  LatencyHistogram publish_latency;  // workload 5: publish answer latency
  uint64_t events = 0;               // events counted (published, consumed or received in window)
  uint64_t expected = 0;             // workload 4/5: events that should have arrived
  uint64_t errors = 0;               // failed requests, transport errors, duplicates
  bool complete = true;              // workloads 4/5: everything arrived before the timeout
};

// One system under test at one durability tier. Run() uses fresh names (derived from
// `tag`) for whatever it creates and removes them afterwards where the system allows.
class TestedSystem {
 public:
  virtual ~TestedSystem() = default;
  virtual Result<CellResult> Run(Workload w, const std::string& tag, const CompareSettings& s) = 0;
};

Result<std::unique_ptr<TestedSystem>> MakeEragonSystem(const std::string& url,
                                                       const std::string& token);
// "host:port"
Result<std::unique_ptr<TestedSystem>> MakeRedisSystem(const std::string& address);
// "nats://host:port"
Result<std::unique_ptr<TestedSystem>> MakeNatsSystem(const std::string& url);

// ---- shared by the systems (bench_compare_common.cc) ----

// One event of about `event_bytes` bytes: {"event_type":T,"entity_id":..,"data":{"sent_ns":
// N,"seq":S,"pad":"xx.."}}. Every system stores these bytes.
void AppendCompareEvent(std::string& out, std::string_view type, uint64_t seq, int64_t sent_ns,
                        int event_bytes);

// One request of a thread-per-client load: publish event(s) starting at `seq`; sets
// *events to how many it carried. Not shared between threads.
using ClientOp = std::function<Status(uint64_t seq, int* events)>;

// The LoadGenerator's loop (options.connections clients, closed loop or paced at
// options.request_rate, warm-up then measured window, latency from the intended send
// time) with one blocking thread per client. `make(i)` builds client i's op before the
// clock starts. `connections` and `request_rate` are honoured; `threads` is not used.
Result<LoadResult> RunThreadLoad(const LoadOptions& options,
                                 const std::function<Result<ClientOp>(int)>& make);

// What consumers report in workload 4: distinct events (a PushSink per run), the time
// from the first fetch to the last acknowledgement, and any failure.
struct ConsumeTally {
  PushSink sink;
  std::atomic<int64_t> first_fetch_ns{0}, last_ack_ns{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  Status failure;
  void Fail(Status st);
  void FetchStarted(int64_t now_ns);
  void Acked(int64_t now_ns, uint64_t expected);  // sets stop once everything arrived
  CellResult Outcome(uint64_t expected) const;
};

// Waits until `sink` holds `expected` distinct events, none arrived for 5 s, or
// `timeout_s` passed; false when incomplete.
bool WaitForDistinct(const PushSink& sink, uint64_t expected, double timeout_s);

// Workload 5's result from a paced publish run and the receiving sink.
CellResult LatencyResult(const LoadResult& publish, const PushSink& sink, uint64_t sent_in_window,
                         bool complete);

// Workload 5's measuring window (it opens after the warm-up) over `sink`, and the events
// the paced publisher built: all of them, and those inside the window, whose arrivals
// the sink must see. The same for every system.
class LatencyWindow {
 public:
  LatencyWindow(const CompareSettings& s, PushSink& sink);
  // One event built at `now_ns` (SteadyNowNs).
  void Count(int64_t now_ns);
  // Wraps a request builder so that each request it builds is counted at build time.
  RequestBuilder Counting(RequestBuilder inner);
  // Waits for the events sent less `refused` to arrive, then the cell's result.
  CellResult Finish(const LoadResult& publish, uint64_t refused);

 private:
  const CompareSettings& s_;
  PushSink& sink_;
  int64_t from_ns_;
  int64_t to_ns_;
  std::atomic<uint64_t> built_{0};
  std::atomic<uint64_t> in_window_{0};
};

const char* WorkloadName(Workload w);

int CompareMain(Flags& flags);

}  // namespace eragon::bench
