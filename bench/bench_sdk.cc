// eragon-bench sdk (see bench_sdk.h): queue enqueue rates, file queue vs raw disk, and
// SDK -> eragond vs raw batched HTTP against one spawned eragond.
#include "bench/bench_sdk.h"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/bench_deliver_env.h"
#include "bench/raw_disk.h"
#include "eragon/producer.h"

#ifndef ERAGON_BENCH_DEFAULT_DIR
#define ERAGON_BENCH_DEFAULT_DIR "."
#endif

namespace eragon::bench {
namespace {

constexpr char kEventType[] = "bench.sdk";

struct Settings {
  double queue_seconds = 2;
  int event_bytes = 1024;
  std::string dir;
  int file_threads = 64;
  int file_batch = 100;
  LoadOptions load;  // the raw HTTP run
  int batch = 100;
  int sdk_lanes = 8;
  int sdk_batch = 500;
  int sdk_threads = 1;
  std::string eragond;
  std::string fsync = "always";
  bool skip_server = false;
  bool skip_queues = false;
};

// User + system CPU seconds of process `pid` so far (/proc/PID/stat), or 0.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {  // fields 14 and 15: utime, stime (ticks)
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU microseconds per event of this process and of the server during a phase.
struct CpuCost {
  double client_us = 0;
  double server_us = 0;
};

class CpuMeter {
 public:
  explicit CpuMeter(pid_t server)
      : server_(server), c0_(CpuSeconds(::getpid())), s0_(CpuSeconds(server)) {}
  CpuCost PerEvent(double events) const {
    if (events <= 0) return {};
    return {(CpuSeconds(::getpid()) - c0_) * 1e6 / events,
            (CpuSeconds(server_) - s0_) * 1e6 / events};
  }

 private:
  pid_t server_;
  double c0_, s0_;
};

std::string DefaultEragond() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "build/bin/eragond";
  return (self.parent_path() / "eragond").string();
}

std::unique_ptr<EventQueue> OpenBenchFileQueue(const std::string& dir, BackupFsync fsync) {
  std::filesystem::remove_all(dir);
  FileQueueOptions o;
  o.dir = dir;
  o.fsync = fsync;
  o.segment_bytes = 64ull << 20;
  auto q = OpenFileQueue(o);
  if (!q.ok()) {
    std::fprintf(stderr, "eragon-bench sdk: %s\n", q.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(q).value();
}

QueueRun QueueRow(const char* name, EventQueue& q, int threads, const Settings& s, int batch = 1) {
  QueueRun r = RunQueueRate(q, threads, static_cast<size_t>(s.event_bytes), s.queue_seconds, batch);
  std::printf("%-26s %3d threads x %3d-record calls %11.0f records/s %8.1f MB/s\n", name, threads,
              batch, r.enqueues_per_s, r.mb_per_s);
  std::fflush(stdout);
  return r;
}

// About event_bytes of event JSON once id, type and entity are added.
std::string EventData(int event_bytes) {
  const int pad = std::max(1, event_bytes - 140);
  return R"({"pad":")" + std::string(static_cast<size_t>(pad), 'x') + "\"}";
}

struct SdkRun {
  double events_per_s = 0;
  CpuCost cpu;
  uint64_t failed = 0;
  uint64_t requests = 0;
  uint64_t acked = 0;
};

SdkRun RunSdk(pid_t server, const std::string& url, const std::string& token, const Settings& s,
              QueueKind kind, const std::string& backup_dir) {
  ProducerOptions o;
  o.endpoint = url;
  o.token = token;
  o.mode = PublishMode::kAsync;
  o.queue = kind;
  o.backup_dir = backup_dir;
  o.lanes = s.sdk_lanes;
  o.batch_max_events = static_cast<size_t>(s.sdk_batch);
  o.queue_max_events = 200'000;
  o.queue_max_bytes = 256ull << 20;
  o.queue_full_block_ms = 60'000;
  if (kind == QueueKind::kFile) std::filesystem::remove_all(backup_dir);
  auto producer = Producer::Open(o);
  if (!producer.ok()) {
    std::fprintf(stderr, "eragon-bench sdk: %s\n", producer.status().ToString().c_str());
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked{0}, failed{0};
  const std::string data = EventData(s.event_bytes);
  std::vector<std::thread> publishers;
  for (int t = 0; t < s.sdk_threads; ++t) {
    publishers.emplace_back([&, t] {
      for (uint64_t n = static_cast<uint64_t>(t); !stop.load(std::memory_order_relaxed);
           n += static_cast<uint64_t>(s.sdk_threads)) {
        Event e;
        e.event_type = kEventType;
        e.entity_id = "entity-" + std::to_string((n * 2654435761ULL) % 100000);
        e.data = data;
        Status st = (*producer)->Publish(std::move(e), [&](const Result<PublishAck>& r) {
          (r.ok() ? acked : failed).fetch_add(1, std::memory_order_relaxed);
        });
        if (!st.ok()) {
          failed.fetch_add(1);
          if (st.code() != Code::kResourceExhausted) return;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(s.load.warmup_s));
  const uint64_t a0 = acked.load();
  const auto t0 = std::chrono::steady_clock::now();
  CpuMeter cpu(server);
  std::this_thread::sleep_for(std::chrono::duration<double>(s.load.duration_s));
  const uint64_t a1 = acked.load();
  const CpuCost cost = cpu.PerEvent(static_cast<double>(a1 - a0));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  for (auto& p : publishers) p.join();
  (void)(*producer)->Close();
  SdkRun r;
  r.events_per_s = static_cast<double>(a1 - a0) / secs;
  r.cpu = cost;
  r.failed = failed.load();
  r.requests = (*producer)->Stats().requests;
  r.acked = acked.load();
  return r;
}

// Prints one SDK row (label padded to the raw HTTP row's width); returns its events/s.
double PrintSdkRun(const char* label, const SdkRun& r) {
  std::printf(
      "%-26s %12.0f events/s  (cpu/event: client %.1f us, eragond %.1f us; %.0f "
      "events/request, failed %llu)\n",
      label, r.events_per_s, r.cpu.client_us, r.cpu.server_us,
      r.requests ? static_cast<double>(r.acked) / r.requests : 0.0,
      static_cast<unsigned long long>(r.failed));
  return r.events_per_s;
}

Status SetupRoute(const std::string& url, const std::string& token) {
  ERAGON_ASSIGN_OR_RETURN(Endpoint e, ParseHttpUrl(url));
  ApiClient api(e, token);
  ERAGON_ASSIGN_OR_RETURN(SimpleResponse r,
                          api.Call("PUT", std::string("/v1/routes/") + kEventType + "/producer",
                                   R"({"producer":"eragon-bench"})"));
  (void)r;
  return Status::Ok();
}

Settings ReadSettings(Flags& f) {
  Settings s;
  s.queue_seconds = f.GetDouble("queue-seconds", 2);
  s.event_bytes = static_cast<int>(f.GetInt("event-bytes", 1024));
  s.dir = f.GetString("dir", ERAGON_BENCH_DEFAULT_DIR);
  s.file_threads = static_cast<int>(f.GetInt("file-threads", 64));
  s.file_batch = static_cast<int>(f.GetInt("file-batch", 100));
  s.load.connections = static_cast<int>(f.GetInt("connections", 64));
  s.load.threads = static_cast<int>(f.GetInt("threads", 1));
  s.load.duration_s = f.GetDouble("duration", 5);
  s.load.warmup_s = f.GetDouble("warmup", 1);
  s.batch = static_cast<int>(f.GetInt("batch", 100));
  s.sdk_lanes = static_cast<int>(f.GetInt("sdk-lanes", 8));
  s.sdk_batch = static_cast<int>(f.GetInt("sdk-batch", 500));
  s.sdk_threads = static_cast<int>(f.GetInt("sdk-threads", 1));
  s.eragond = f.GetString("eragond", "");
  s.fsync = f.GetString("fsync", "always");
  s.skip_server = f.GetBool("skip-server");
  s.skip_queues = f.GetBool("skip-queues");
  return s;
}

}  // namespace

int SdkMain(Flags& flags) {
  Settings s = ReadSettings(flags);
  if (Status st = flags.CheckAllUsed(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench sdk: %s\n", st.message().c_str());
    return 2;
  }
  std::string tmpl = s.dir + "/eragon-bench-sdk-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "eragon-bench sdk: mkdtemp under %s failed\n", s.dir.c_str());
    return 1;
  }
  const std::string work = tmpl;
  std::printf("# eragon-bench sdk in %s: %d-byte events, %.1f s per queue run, load avg %.2f\n",
              work.c_str(), s.event_bytes, s.queue_seconds, LoadAverage1m());

  QueueRun mem1, mem8, group1, group8, groupN, groupB, interval1, interval8;
  double raw_mb = 0, file_ratio = 0, file_single_ratio = 0;
  if (!s.skip_queues) {
    auto mem = NewMemoryQueue({.max_records = 100'000, .max_bytes = 256ull << 20});
    mem1 = QueueRow("memory queue", *mem, 1, s);
    mem8 = QueueRow("memory queue", *mem, 8, s);
    mem.reset();
    auto group = OpenBenchFileQueue(work + "/q-group", BackupFsync::kGroup);
    group1 = QueueRow("file queue, group fsync", *group, 1, s);
    group8 = QueueRow("file queue, group fsync", *group, 8, s);
    groupN = QueueRow("file queue, group fsync", *group, s.file_threads, s);
    groupB = QueueRow("file queue, group fsync", *group, 8, s, s.file_batch);
    group.reset();
    auto interval = OpenBenchFileQueue(work + "/q-interval", BackupFsync::kInterval);
    interval1 = QueueRow("file queue, interval 100ms", *interval, 1, s);
    interval8 = QueueRow("file queue, interval 100ms", *interval, 8, s);
    interval.reset();
    auto raw = RawSequentialMbPerS(work, s.queue_seconds);
    if (!raw.ok()) {
      std::fprintf(stderr, "eragon-bench sdk: raw disk: %s\n", raw.status().ToString().c_str());
      return 1;
    }
    raw_mb = *raw;
    file_ratio = raw_mb > 0 ? groupB.mb_per_s / raw_mb : 0;
    file_single_ratio = raw_mb > 0 ? groupN.mb_per_s / raw_mb : 0;
    std::printf(
        "raw sequential write (1 MiB pwrite+fdatasync): %.1f MB/s; file queue, group "
        "fsync: 8 threads x %d-record batches %.1f MB/s = %.3f x raw; %d threads x 1 "
        "record %.1f MB/s = %.3f x raw\n",
        raw_mb, s.file_batch, groupB.mb_per_s, file_ratio, s.file_threads, groupN.mb_per_s,
        file_single_ratio);
    std::fflush(stdout);
  }

  double raw_http = 0, sdk_mem = 0, sdk_file = 0;
  if (!s.skip_server) {
    auto server =
        EragondProcess::Spawn(s.eragond.empty() ? DefaultEragond() : s.eragond, s.fsync, {}, false);
    if (!server.ok()) {
      std::fprintf(stderr, "eragon-bench sdk: %s\n", server.status().ToString().c_str());
      return 1;
    }
    const std::string url = (*server)->url(), token = (*server)->token();
    if (Status st = SetupRoute(url, token); !st.ok()) {
      std::fprintf(stderr, "eragon-bench sdk: route: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf(
        "eragond at %s, --fsync %s; raw HTTP: %d connections x batches of %d; SDK: %d "
        "publisher thread(s), %d lanes, batches up to %d\n",
        url.c_str(), s.fsync.c_str(), s.load.connections, s.batch, s.sdk_threads, s.sdk_lanes,
        s.sdk_batch);
    Result<Endpoint> endpoint = ParseHttpUrl(url);
    LoadOptions load = s.load;
    load.endpoint = *endpoint;
    CpuMeter raw_cpu((*server)->pid());
    const auto raw_t0 = std::chrono::steady_clock::now();
    auto raw = LoadGenerator(
                   load, MakePublishBuilder(*endpoint, token, kEventType, s.batch, s.event_bytes))
                   .Run();
    if (!raw.ok()) {
      std::fprintf(stderr, "eragon-bench sdk: raw run: %s\n", raw.status().ToString().c_str());
      return 1;
    }
    raw_http = raw->events_per_s();
    // CPU over the whole run (warm-up included) per event at the measured rate.
    const CpuCost rc = raw_cpu.PerEvent(
        raw_http *
        std::chrono::duration<double>(std::chrono::steady_clock::now() - raw_t0).count());
    std::printf(
        "raw HTTP batched publish   %12.0f events/s  (cpu/event: client %.1f us, eragond "
        "%.1f us; non-2xx %llu, errors %llu)\n",
        raw_http, rc.client_us, rc.server_us, static_cast<unsigned long long>(raw->requests_failed),
        static_cast<unsigned long long>(raw->transport_errors));
    std::fflush(stdout);
    sdk_mem = PrintSdkRun("SDK, memory queue",
                          RunSdk((*server)->pid(), url, token, s, QueueKind::kMemory, ""));
    std::fflush(stdout);
    sdk_file = PrintSdkRun(
        "SDK, file queue (group)",
        RunSdk((*server)->pid(), url, token, s, QueueKind::kFile, work + "/sdk-backup"));
    (void)(*server)->Stop();
  }
  std::filesystem::remove_all(work);
  std::printf(
      "memory_1t_per_s=%.0f memory_8t_per_s=%.0f file_group_1t_per_s=%.0f "
      "file_group_8t_per_s=%.0f file_group_%dt_mb_per_s=%.1f file_group_8tx%d_mb_per_s=%.1f "
      "file_interval_1t_per_s=%.0f file_interval_8t_per_s=%.0f raw_mb_per_s=%.1f "
      "file_ratio=%.3f file_single_ratio=%.3f raw_http_events_per_s=%.0f "
      "sdk_memory_events_per_s=%.0f sdk_file_events_per_s=%.0f sdk_ratio=%.3f load_avg=%.2f\n",
      mem1.enqueues_per_s, mem8.enqueues_per_s, group1.enqueues_per_s, group8.enqueues_per_s,
      s.file_threads, groupN.mb_per_s, s.file_batch, groupB.mb_per_s, interval1.enqueues_per_s,
      interval8.enqueues_per_s, raw_mb, file_ratio, file_single_ratio, raw_http, sdk_mem, sdk_file,
      raw_http > 0 ? sdk_mem / raw_http : 0.0, LoadAverage1m());
  return 0;
}

}  // namespace eragon::bench
