// What `eragon-bench deliver` runs against: an eragond (spawned as a child process, or
// one already running), admin calls on it, and in-process consumer endpoints (eragon_http)
// that record what reaches them.
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
#include "bench/histogram.h"
#include "eragon/status.h"

namespace eragon::http {
class HttpServer;
class Router;
}  // namespace eragon::http

namespace eragon::bench {

int64_t SteadyNowNs();  // steady_clock, the clock of every timestamp in this benchmark

// An eragond child process on 127.0.0.1:0 with a fresh data dir under $TMPDIR (or /tmp).
// Its stderr goes to <temp dir>/eragond.log. The destructor sends SIGTERM, waits for the
// exit and removes the temp dir (unless keep_data).
class EragondProcess {
 public:
  // Starts `binary --data-dir D --listen 127.0.0.1:0 --fsync F [extra_args]`, waits (up
  // to 30 s) for its start line `eragond: listening on http://HOST:PORT ...` and reads
  // D/admin.token.
  static Result<std::unique_ptr<EragondProcess>> Spawn(const std::string& binary,
                                                       const std::string& fsync,
                                                       const std::vector<std::string>& extra_args,
                                                       bool keep_data);
  ~EragondProcess();

  // SIGTERM, then waits up to 20 s (SIGKILL after). Ok when it exited 0. Idempotent.
  Status Stop();

  const std::string& url() const { return url_; }
  const std::string& token() const { return token_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  pid_t pid() const { return pid_; }

 private:
  EragondProcess() = default;

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  bool keep_data_ = false;
  std::string temp_dir_, data_dir_, log_path_, url_, token_;
};

// "<eragond dir>/admin.token" without trailing whitespace; "" when unreadable.
std::string ReadTokenFile(const std::string& data_dir);

// JSON admin and consumer calls with the admin token, on one keep-alive connection that
// is reopened after a failure. Not thread-safe.
class ApiClient {
 public:
  ApiClient(Endpoint endpoint, std::string token)
      : endpoint_(std::move(endpoint)), token_(std::move(token)) {}
  // Sends the request; non-2xx answers become an error naming the call and the body.
  Result<SimpleResponse> Call(std::string_view method, std::string_view path,
                              std::string_view body);
  // The complete request bytes for Call(), also used by the pullers and preloaders.
  std::string Request(std::string_view method, std::string_view path, std::string_view body) const;

 private:
  Endpoint endpoint_;
  std::string token_;
  std::unique_ptr<HttpConnection> conn_;
};

// One push consumer's receiving end. Every event the benchmark publishes carries
// "sent_ns" (SteadyNowNs() when its request was built) and "seq" (unique within its
// phase) in its data; the sink counts distinct seqs, duplicates and, for events sent
// inside the latency window, receive − send. Thread-safe (the endpoint's io threads).
class PushSink {
 public:
  // Forgets everything; latency is recorded for events sent in [from_ns, to_ns).
  void Reset(int64_t latency_from_ns = 0, int64_t latency_to_ns = 0);
  // Records one delivery's body; false when it carries no sent_ns/seq.
  bool Record(std::string_view body, int64_t now_ns);

  uint64_t distinct() const { return distinct_.load(std::memory_order_relaxed); }
  uint64_t deliveries() const { return deliveries_.load(std::memory_order_relaxed); }
  int64_t last_new_ns() const { return last_new_ns_.load(std::memory_order_relaxed); }
  int64_t first_ns() const { return first_ns_.load(std::memory_order_relaxed); }
  uint64_t duplicates() const { return deliveries() - distinct(); }
  uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }
  LatencyHistogram latency() const;  // a copy
  uint64_t in_window() const;        // distinct events sent inside the latency window

 private:
  mutable std::mutex mu_;
  std::vector<bool> seen_;  // by seq
  LatencyHistogram latency_;
  uint64_t in_window_ = 0;
  int64_t from_ns_ = 0, to_ns_ = 0;
  std::atomic<uint64_t> distinct_{0}, deliveries_{0}, malformed_{0};
  std::atomic<int64_t> first_ns_{0}, last_new_ns_{0};
};

// An in-process eragon_http server with `sinks` endpoints POST /sink/{i}, each answering
// 200 with an empty body at once.
class SinkServer {
 public:
  SinkServer(int sinks, int io_threads);
  ~SinkServer();
  Status Start();
  std::string url(int i) const;  // http://127.0.0.1:PORT/sink/i
  PushSink& sink(int i) { return *sinks_[static_cast<size_t>(i)]; }

 private:
  std::vector<std::unique_ptr<PushSink>> sinks_;
  std::unique_ptr<http::Router> router_;
  std::unique_ptr<http::HttpServer> server_;
};

// The 1-minute load average from /proc/loadavg (-1 when unreadable).
double LoadAverage1m();

// The unsigned integer after `quoted_key_colon` (e.g. `"seq":`) in `body`, or -1.
int64_t FindJsonNumber(std::string_view body, std::string_view quoted_key_colon);

// eragond next to this binary (build/bin/eragond).
std::string EragondNextToBench();

}  // namespace eragon::bench
