// The queue half of `eragon-bench sdk`: enqueue loops against a discarding drainer (the
// raw disk bandwidth the file queue is compared with is bench/raw_disk.h's).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "bench/bench_sdk.h"

namespace eragon::bench {
namespace {

double NowS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "eragon-bench sdk: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

QueueRun RunQueueRate(EventQueue& queue, int threads, size_t payload_bytes, double seconds,
                      int batch) {
  std::atomic<bool> stop{false};
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    std::vector<QueuedRecord> taken;
    std::vector<uint64_t> seqs;
    while (!drained.load()) {
      taken.clear();
      if (!queue.Take(1 << 16, std::chrono::milliseconds(5), &taken).ok()) break;
      seqs.clear();
      for (const QueuedRecord& r : taken) seqs.push_back(r.seq);
      if (!seqs.empty()) (void)queue.Done(seqs);
    }
  });
  std::vector<std::atomic<uint64_t>> counts(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  const std::string payload(payload_bytes, 'p');
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      uint64_t n = 0;
      std::vector<QueuedRecord> records;
      while (!stop.load(std::memory_order_relaxed)) {
        if (batch > 1) {
          records.resize(static_cast<size_t>(batch));
          for (QueuedRecord& r : records) r.payload = payload;
          auto r = queue.EnqueueBatch(std::move(records), std::chrono::seconds(60));
          if (!r.ok()) Die("enqueue: " + r.status().ToString());
          records = {};
          n += static_cast<uint64_t>(batch);
        } else {
          auto r = queue.Enqueue(std::string(payload), nullptr, std::chrono::seconds(60));
          if (!r.ok()) Die("enqueue: " + r.status().ToString());
          ++n;
        }
        if ((n & 63) == 0 || batch > 1) {
          counts[static_cast<size_t>(t)].store(n, std::memory_order_relaxed);
        }
      }
      counts[static_cast<size_t>(t)].store(n, std::memory_order_relaxed);
    });
  }
  auto total = [&] {
    uint64_t s = 0;
    for (auto& c : counts) s += c.load(std::memory_order_relaxed);
    return s;
  };
  const double warmup = std::min(0.5, seconds / 4);
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
  const uint64_t n0 = total();
  const double t0 = NowS();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const uint64_t n1 = total();
  const double t1 = NowS();
  stop = true;
  for (auto& w : workers) w.join();
  drained = true;
  drainer.join();
  QueueRun r;
  r.enqueues_per_s = static_cast<double>(n1 - n0) / (t1 - t0);
  r.mb_per_s = r.enqueues_per_s * static_cast<double>(payload_bytes) / 1e6;
  return r;
}

}  // namespace eragon::bench
