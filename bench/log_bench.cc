// eragon-log-bench: throughput of the embedded log under each fsync policy, compared
// with raw pwrite+fdatasync loops measured in the same run on the same disk.
//
//   eragon-log-bench [--dir DIR] [--seconds S] [--segment-mb N]
//
// DIR (default: a temporary directory under the build directory) is removed at the end.
// The last line is key=value pairs; see README.md of src/log for their meaning.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/raw_disk.h"
#include "eragon/env.h"
#include "log/log.h"

namespace eragon {
namespace {

double Now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// An Env that counts WritableFile::Sync calls (the fsyncs of a run).
class CountingEnv final : public Env {
 public:
  explicit CountingEnv(Env* base) : base_(base) {}
  std::atomic<int64_t> syncs{0};

  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path, int mode) override {
    ERAGON_ASSIGN_OR_RETURN(auto f, base_->OpenWritable(path, mode));
    return std::unique_ptr<WritableFile>(new File(std::move(f), &syncs));
  }
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& p) override {
    return base_->OpenReadable(p);
  }
  Status CreateDirs(const std::string& d) override { return base_->CreateDirs(d); }
  Status SyncDir(const std::string& d) override { return base_->SyncDir(d); }
  Result<std::vector<std::string>> ListDir(const std::string& d) override {
    return base_->ListDir(d);
  }
  bool Exists(const std::string& p) override { return base_->Exists(p); }
  Result<uint64_t> FileSize(const std::string& p) override { return base_->FileSize(p); }
  Status RemoveFile(const std::string& p) override { return base_->RemoveFile(p); }
  Status Rename(const std::string& a, const std::string& b) override { return base_->Rename(a, b); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return base_->LockFile(p);
  }
  Result<DiskSpace> GetDiskSpace(const std::string& p) override { return base_->GetDiskSpace(p); }

 private:
  class File final : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> f, std::atomic<int64_t>* syncs)
        : f_(std::move(f)), syncs_(syncs) {}
    Status Write(uint64_t o, std::string_view d) override { return f_->Write(o, d); }
    Status Sync() override {
      ++*syncs_;
      return f_->Sync();
    }
    Status Preallocate(uint64_t s) override { return f_->Preallocate(s); }
    Status Truncate(uint64_t s) override { return f_->Truncate(s); }
    Status Close() override { return f_->Close(); }

   private:
    std::unique_ptr<WritableFile> f_;
    std::atomic<int64_t>* syncs_;
  };
  Env* base_;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "eragon-log-bench: %s\n", what.c_str());
  std::exit(1);
}

struct RunResult {
  double events_per_s = 0;
  double mb_per_s = 0;
  double fsyncs_per_s = 0;
  double events_per_fsync = 0;
  double commit_fsync_us = 0;  // mean fdatasync of a group commit (LogOptions::on_commit)
  double commit_cycle_us = 0;  // run time / group commits: what a commit costs in all
};

// Sums of LogOptions::on_commit reports during a run (called from the writer only).
struct CommitStats {
  std::atomic<int64_t> commits{0};
  std::atomic<int64_t> fsync_ns{0};
  std::atomic<int64_t> fsyncs{0};
};

// `threads` appenders each appending batches of `batch` x 1 KiB records for `seconds`.
RunResult RunLog(const std::string& dir, const std::string& policy, int threads, int batch,
                 double seconds, uint64_t segment_bytes) {
  CountingEnv env(Env::Default());
  log::LogOptions o;
  o.env = &env;
  o.fsync = channel::ParseFsyncOptions(policy).value();
  o.segment_bytes = segment_bytes;
  o.retention_ms = 0;
  o.max_pending_bytes = 256ull << 20;
  CommitStats stats;
  o.on_commit = [&stats](double, double fsync_s, uint64_t bytes, size_t) {
    if (bytes > 0) stats.commits.fetch_add(1, std::memory_order_relaxed);
    if (fsync_s >= 0) {
      stats.fsyncs.fetch_add(1, std::memory_order_relaxed);
      stats.fsync_ns.fetch_add(static_cast<int64_t>(fsync_s * 1e9), std::memory_order_relaxed);
    }
  };
  const std::string run_dir = dir + "/log-" + std::to_string(threads) + "x" +
                              std::to_string(batch) + "-" + policy.substr(0, 3);
  auto lm = channel::OpenEmbeddedChannel(run_dir, o);
  if (!lm.ok()) Die(lm.status().ToString());
  auto topic = (*lm)->OpenTopic("bench", log::TopicOptions{8});
  if (!topic.ok()) Die(topic.status().ToString());
  log::TopicLog* t = *topic;
  const std::string payload(1024, 'e');
  // Warm-up: creates the first segment outside the measured window.
  log::AppendRecord warm{"warm", payload, 0};
  if (!t->Append(std::span(&warm, 1)).ok()) Die("warm-up append failed");

  std::atomic<bool> stop{false};
  std::atomic<int64_t> events{0};
  const int64_t syncs_before = env.syncs.load();
  const int64_t commits_before = stats.commits.load();
  const int64_t fsyncs_before = stats.fsyncs.load();
  const int64_t fsync_ns_before = stats.fsync_ns.load();
  std::vector<std::thread> workers;
  const double start = Now();
  for (int w = 0; w < threads; ++w) {
    workers.emplace_back([&, w] {
      std::vector<std::string> keys;
      for (int i = 0; i < batch; ++i) keys.push_back("entity-" + std::to_string(w * batch + i));
      std::vector<log::AppendRecord> records;
      for (int i = 0; i < batch; ++i) records.push_back({keys[i], payload, 0});
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = t->Append(records);
        if (!r.ok()) Die("append: " + r.status().ToString());
        events.fetch_add(batch, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  const double elapsed = Now() - start;
  const int64_t n = events.load();
  const int64_t syncs = env.syncs.load() - syncs_before;
  const int64_t commits = stats.commits.load() - commits_before;
  const int64_t fsyncs = stats.fsyncs.load() - fsyncs_before;
  const int64_t fsync_ns = stats.fsync_ns.load() - fsync_ns_before;
  for (auto& th : workers) th.join();
  if (!(*lm)->Close().ok()) Die("close failed");
  lm->reset();
  std::filesystem::remove_all(run_dir);

  RunResult r;
  r.events_per_s = n / elapsed;
  r.mb_per_s = n * 1024.0 / elapsed / 1e6;
  r.fsyncs_per_s = syncs / elapsed;
  r.events_per_fsync = syncs > 0 ? static_cast<double>(n) / syncs : 0;
  r.commit_fsync_us = fsyncs > 0 ? fsync_ns / 1e3 / fsyncs : 0;
  r.commit_cycle_us = commits > 0 ? elapsed * 1e6 / commits : 0;
  return r;
}

int Main(int argc, char** argv) {
  std::string dir;
  double seconds = 2.0;
  uint64_t segment_mb = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--dir") {
      dir = value();
    } else if (a == "--seconds") {
      seconds = std::stod(value());
    } else if (a == "--segment-mb") {
      segment_mb = std::stoull(value());
    } else {
      Die("usage: eragon-log-bench [--dir DIR] [--seconds S] [--segment-mb N]");
    }
  }
  std::string base = dir.empty() ? std::string(ERAGON_BENCH_DEFAULT_DIR) : dir;
  std::string tmpl = base + "/eragon-log-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp under " + base + ": " + std::strerror(errno));
  const std::string work = tmpl;
  std::printf("# eragon-log-bench in %s, %.1f s per run, segments of %llu MiB\n", work.c_str(),
              seconds, static_cast<unsigned long long>(segment_mb));

  auto measured = [](Result<double> r) {
    if (!r.ok()) Die(r.status().ToString());
    return *r;
  };
  const double raw_mb_per_s = measured(bench::RawSequentialMbPerS(work, seconds));
  const double raw_fsync_64k = measured(bench::RawFsyncLoop(work, 64 << 10, seconds));
  const double raw_fsync_1k = measured(bench::RawFsyncLoop(work, 1 << 10, seconds));
  std::printf("raw: 1MiB pwrite+fdatasync %.1f MB/s; 64KiB %.0f fsync/s; 1KiB %.0f fsync/s\n",
              raw_mb_per_s, raw_fsync_64k, raw_fsync_1k);

  struct Shape {
    const char* name;
    int threads;
    int batch;
  };
  const Shape shapes[] = {{"1x1", 1, 1}, {"64x1", 64, 1}, {"64x100", 64, 100}};
  std::string summary;
  RunResult always[3];
  for (const char* policy : {"always", "interval:100", "never"}) {
    for (int s = 0; s < 3; ++s) {
      RunResult r =
          RunLog(work, policy, shapes[s].threads, shapes[s].batch, seconds, segment_mb << 20);
      std::printf(
          "%-13s %-7s events/s=%-10.0f MB/s=%-8.1f fsyncs/s=%-8.0f events/fsync=%-8.1f "
          "commit_us=%-7.0f fsync_us=%.0f\n",
          policy, shapes[s].name, r.events_per_s, r.mb_per_s, r.fsyncs_per_s, r.events_per_fsync,
          r.commit_cycle_us, r.commit_fsync_us);
      std::fflush(stdout);
      if (std::string(policy) == "always") always[s] = r;
      std::string p = std::string(policy).substr(0, std::string(policy).find(':'));
      char kv[128];
      std::snprintf(kv, sizeof(kv), " %s_%s_events_per_s=%.0f", p.c_str(), shapes[s].name,
                    r.events_per_s);
      summary += kv;
    }
  }
  std::filesystem::remove_all(work);
  std::printf(
      "raw_mb_per_s=%.1f raw_fsync_64k=%.0f raw_fsync_1k=%.0f group_commit_efficiency=%.3f "
      "batch_ratio=%.3f single_ratio=%.3f%s\n",
      raw_mb_per_s, raw_fsync_64k, raw_fsync_1k, always[1].events_per_s / (64 * raw_fsync_64k),
      always[2].mb_per_s / raw_mb_per_s, always[0].events_per_s / raw_fsync_1k, summary.c_str());
  return 0;
}

}  // namespace
}  // namespace eragon

int main(int argc, char** argv) { return eragon::Main(argc, argv); }
