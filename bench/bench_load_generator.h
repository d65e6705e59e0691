// LoadGenerator: an HTTP/1.1 keep-alive load generator. Each of `connections` sockets
// has one request outstanding at a time; what it sends is up to a pluggable
// RequestBuilder, so every subcommand (publish, and later deliver, sdk, compare) shares
// the same engine and the same latency accounting.
//
// Closed loop by default (send the next request as soon as the answer arrives). With
// `request_rate` > 0 it is open loop: request k of a connection is due at a fixed
// schedule, and latency is measured from that intended send time, so a stalled server
// is charged for the requests it delayed (no coordinated omission).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "bench/histogram.h"
#include "eragon/status.h"

namespace eragon::bench {

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 7070;
};

// "http://host:port[/...]" → host and port (default 80). https is not supported.
Result<Endpoint> ParseHttpUrl(std::string_view url);

struct BuiltRequest {
  int events = 1;            // events the request carries, for events/s
  size_t payload_bytes = 0;  // body bytes, for MB/s
  int replies = 1;           // answers the request expects (a pipeline of N commands: N)
};

// Writes request number `seq` (unique within a run, from 0) into `out` as complete
// HTTP/1.1 bytes (request line, headers, body). Called concurrently from the generator's
// threads, each with its own `out`.
using RequestBuilder = std::function<BuiltRequest(uint64_t seq, std::string& out)>;

// Frames the answers of a protocol other than HTTP (Redis RESP through hiredis, in
// `eragon-bench compare`). One per connection; the generator feeds it what it reads.
class ResponseFramer {
 public:
  virtual ~ResponseFramer() = default;
  // Takes bytes from the front of `data` (*consumed of them) towards the answer(s) of
  // `request`. 1: the answer is complete, *status is an HTTP-like status (2xx: success)
  // and *error the text of a failure; 0: needs more bytes; -1: the stream is broken.
  virtual int Frame(std::string_view data, const BuiltRequest& request, size_t* consumed,
                    int* status, std::string* error) = 0;
  // The connection was (re)opened: forget any partial answer.
  virtual void Reset() = 0;
};
using ResponseFramerFactory = std::function<std::unique_ptr<ResponseFramer>()>;

struct LoadOptions {
  Endpoint endpoint;
  int connections = 64;
  int threads = 1;               // client io threads
  double duration_s = 10;        // measured time, after the warm-up
  double warmup_s = 1;           // run but not measured
  double request_rate = 0;       // requests/s over all connections; 0 = as fast as possible
  ResponseFramerFactory framer;  // empty: HTTP/1.1 answers framed by Content-Length
  // Set: HTTPS, the server's certificate verified against this PEM file (its chain; the
  // host name is not checked). Each connection handshakes once and is kept alive.
  std::string tls_ca_file;
};

struct LoadResult {
  double measured_s = 0;
  uint64_t requests_ok = 0;       // 2xx answers in the measured window
  uint64_t requests_failed = 0;   // non-2xx answers in the measured window
  uint64_t transport_errors = 0;  // connect/read/write failures and bad responses
  uint64_t events_ok = 0;
  uint64_t payload_bytes_ok = 0;
  LatencyHistogram latency_ns;            // of 2xx answers
  std::map<int, uint64_t> status_counts;  // every answer, warm-up included
  std::string first_failure;              // status and body of the first non-2xx answer

  double requests_per_s() const { return measured_s > 0 ? requests_ok / measured_s : 0; }
  double events_per_s() const { return measured_s > 0 ? events_ok / measured_s : 0; }
  double mb_per_s() const { return measured_s > 0 ? payload_bytes_ok / 1e6 / measured_s : 0; }
};

class LoadGenerator {
 public:
  LoadGenerator(LoadOptions options, RequestBuilder builder)
      : options_(std::move(options)), builder_(std::move(builder)) {}

  // Runs the whole load (blocking) and returns the counts. Fails only when no
  // connection could be opened at all.
  Result<LoadResult> Run();

 private:
  LoadOptions options_;
  RequestBuilder builder_;
};

struct SimpleResponse {
  int status = 0;
  std::string body;
};

// A blocking keep-alive HTTP/1.1 client connection (setup calls, pullers): one request
// at a time, answers framed by Content-Length. Not thread-safe; one per thread.
class HttpConnection {
 public:
  // Connects, with TCP_NODELAY; `timeout_ms` bounds every later read.
  static Result<HttpConnection> Open(const Endpoint& endpoint, int timeout_ms = 10'000);
  HttpConnection(HttpConnection&&) noexcept;
  HttpConnection& operator=(HttpConnection&&) noexcept;
  ~HttpConnection();

  // Writes `request` (complete HTTP/1.1 bytes) and reads its answer. After an error or
  // an answer with "Connection: close" the connection is unusable; open a new one.
  Result<SimpleResponse> RoundTrip(std::string_view request);

 private:
  struct Impl;
  explicit HttpConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One blocking request on a fresh connection (setup calls, probes). `request` is
// complete HTTP/1.1 bytes.
Result<SimpleResponse> SendOnce(const Endpoint& endpoint, const std::string& request,
                                int timeout_ms = 10'000);

}  // namespace eragon::bench
