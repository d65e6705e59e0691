// What the three systems of `eragon-bench compare` share: the event bytes, the
// thread-per-client load loop, and the consume / latency tallies.
#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "bench/bench_compare.h"

namespace eragon::bench {

void AppendCompareEvent(std::string& out, std::string_view type, uint64_t seq, int64_t sent_ns,
                        int event_bytes) {
  size_t start = out.size();
  out.append(R"({"event_type":")").append(type);
  // Knuth's multiplicative hash spreads consecutive events over 100,000 entities.
  out.append(R"(","entity_id":"entity-)").append(std::to_string((seq * 2654435761ULL) % 100000));
  out.append(R"(","data":{"sent_ns":)").append(std::to_string(sent_ns));
  out.append(R"(,"seq":)").append(std::to_string(seq)).append(R"(,"pad":")");
  size_t so_far = out.size() - start + 3;  // + closing "}}
  if (static_cast<size_t>(event_bytes) > so_far) out.append(event_bytes - so_far, 'x');
  out.append(R"("}})");
}

namespace {

struct ThreadLoadState {
  int64_t start_ns = 0, measure_start_ns = 0, end_ns = 0, interval_ns = 0;
  std::atomic<uint64_t> seq{0};
};

// One client's loop; the mirror of the generator's Conn::Next/Send/OnResponse.
void ClientLoop(const LoadOptions& options, ThreadLoadState& run, int index, ClientOp& op,
                LoadResult* out) {
  int64_t next_due =
      run.interval_ns > 0 ? run.start_ns + run.interval_ns * index / options.connections : 0;
  for (;;) {
    int64_t now = SteadyNowNs();
    if (now >= run.end_ns) return;
    int64_t sent_at = now;
    if (run.interval_ns > 0) {
      sent_at = next_due;
      next_due += run.interval_ns;
      if (sent_at > now) {
        std::this_thread::sleep_for(std::chrono::nanoseconds(sent_at - now));
        if (SteadyNowNs() >= run.end_ns) return;
      }
    }
    int events = 0;
    Status st = op(run.seq.fetch_add(1, std::memory_order_relaxed), &events);
    int64_t done = SteadyNowNs();
    ++out->status_counts[st.ok() ? 200 : 500];
    if (!st.ok() && out->first_failure.empty()) out->first_failure = st.message();
    if (sent_at < run.measure_start_ns || done > run.end_ns) continue;
    if (st.ok()) {
      ++out->requests_ok;
      out->events_ok += static_cast<uint64_t>(events);
      out->latency_ns.Record(static_cast<uint64_t>(done - sent_at));
    } else {
      ++out->requests_failed;
    }
  }
}

}  // namespace

Result<LoadResult> RunThreadLoad(const LoadOptions& options,
                                 const std::function<Result<ClientOp>(int)>& make) {
  std::vector<ClientOp> ops;
  for (int i = 0; i < options.connections; ++i) {
    ERAGON_ASSIGN_OR_RETURN(ClientOp op, make(i));
    ops.push_back(std::move(op));
  }
  ThreadLoadState run;
  run.start_ns = SteadyNowNs();
  run.measure_start_ns = run.start_ns + static_cast<int64_t>(options.warmup_s * 1e9);
  run.end_ns = run.measure_start_ns + static_cast<int64_t>(options.duration_s * 1e9);
  if (options.request_rate > 0) {
    run.interval_ns = std::max<int64_t>(
        1, static_cast<int64_t>(options.connections * 1e9 / options.request_rate));
  }
  std::vector<LoadResult> results(ops.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ops.size(); ++i) {
    threads.emplace_back(
        [&, i] { ClientLoop(options, run, static_cast<int>(i), ops[i], &results[i]); });
  }
  for (auto& t : threads) t.join();
  LoadResult total;
  total.measured_s = options.duration_s;
  for (const LoadResult& r : results) {
    total.requests_ok += r.requests_ok;
    total.requests_failed += r.requests_failed;
    total.events_ok += r.events_ok;
    total.latency_ns.Merge(r.latency_ns);
    for (auto [status, n] : r.status_counts) total.status_counts[status] += n;
    if (total.first_failure.empty()) total.first_failure = r.first_failure;
  }
  return total;
}

void ConsumeTally::Fail(Status st) {
  std::lock_guard lock(mu);
  if (failure.ok()) failure = std::move(st);
  stop = true;
}

void ConsumeTally::FetchStarted(int64_t now_ns) {
  int64_t zero = 0;
  first_fetch_ns.compare_exchange_strong(zero, now_ns);
}

void ConsumeTally::Acked(int64_t now_ns, uint64_t expected) {
  int64_t prev = last_ack_ns.load();
  while (prev < now_ns && !last_ack_ns.compare_exchange_weak(prev, now_ns)) {
  }
  if (sink.distinct() >= expected) stop = true;
}

CellResult ConsumeTally::Outcome(uint64_t expected) const {
  CellResult r;
  r.events = sink.distinct();
  r.expected = expected;
  r.errors = sink.duplicates() + sink.malformed();
  r.complete = r.events >= expected;
  int64_t first = first_fetch_ns.load(), last = last_ack_ns.load();
  if (first != 0 && last > first) {
    r.events_per_s = static_cast<double>(r.events) * 1e9 / static_cast<double>(last - first);
  }
  return r;
}

bool WaitForDistinct(const PushSink& sink, uint64_t expected, double timeout_s) {
  int64_t start = SteadyNowNs();
  int64_t deadline = start + static_cast<int64_t>(timeout_s * 1e9);
  uint64_t last = 0;
  int64_t last_progress = start;
  for (;;) {
    uint64_t n = sink.distinct();
    if (n >= expected) return true;
    int64_t now = SteadyNowNs();
    if (n != last) last_progress = now;
    last = n;
    if (now >= deadline || now - last_progress > 5'000'000'000) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

LatencyWindow::LatencyWindow(const CompareSettings& s, PushSink& sink)
    : s_(s),
      sink_(sink),
      from_ns_(SteadyNowNs() + static_cast<int64_t>(s.warmup_s * 1e9)),
      to_ns_(from_ns_ + static_cast<int64_t>(s.latency_duration_s * 1e9)) {
  sink_.Reset(from_ns_, to_ns_);
}

void LatencyWindow::Count(int64_t now_ns) {
  built_.fetch_add(1, std::memory_order_relaxed);
  if (now_ns >= from_ns_ && now_ns < to_ns_) in_window_.fetch_add(1, std::memory_order_relaxed);
}

RequestBuilder LatencyWindow::Counting(RequestBuilder inner) {
  return [this, inner = std::move(inner)](uint64_t seq, std::string& out) {
    Count(SteadyNowNs());
    return inner(seq, out);
  };
}

CellResult LatencyWindow::Finish(const LoadResult& publish, uint64_t refused) {
  const uint64_t built = built_.load();
  bool complete = WaitForDistinct(sink_, built > refused ? built - refused : 0, s_.phase_timeout_s);
  return LatencyResult(publish, sink_, in_window_.load(), complete);
}

CellResult LatencyResult(const LoadResult& publish, const PushSink& sink, uint64_t sent_in_window,
                         bool complete) {
  CellResult r;
  r.latency = sink.latency();
  r.publish_latency = publish.latency_ns;
  r.events = sink.in_window();
  r.expected = sent_in_window;
  r.events_per_s = publish.events_per_s();
  r.errors = publish.requests_failed + publish.transport_errors + sink.duplicates();
  r.complete = complete && r.events >= sent_in_window;
  return r;
}

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kPublish:
      return "publish";
    case Workload::kRelaxed:
      return "relaxed";
    case Workload::kBatch:
      return "batch";
    case Workload::kConsume:
      return "consume";
    case Workload::kLatency:
      return "latency";
  }
  return "?";
}

}  // namespace eragon::bench
