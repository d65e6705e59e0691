// PushClient: the asynchronous HTTP/1.1 client that pushes events to consumer endpoints
// (API.md "HTTP push"). Keep-alive connection pools per endpoint, http and https with
// verified certificates, one deadline per request. Beast and OpenSSL stay inside
// push_client.cc; this header is free of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/push_targets.h"
#include "eragon/status.h"

namespace eragon::dispatch {

// One POST. The client adds Host and Content-Length itself; `headers` must not contain
// them (nor Connection or Transfer-Encoding), and no name or value may contain CR, LF or
// NUL: such a request is never sent and completes with an error result.
struct PushRequest {
  std::string url;  // http://host[:port]/path?query or https://...; [v6] hosts allowed
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Covers everything: waiting for a pooled connection, resolve, connect, TLS handshake,
  // writing the request and reading the whole answer.
  std::chrono::milliseconds timeout{5000};
};

struct PushResult {
  int status = 0;  // the HTTP status; 0 when there was no HTTP answer (see `error`)
  // Empty when an answer arrived. Otherwise what went wrong, for a person and for
  // last_error: "connect: connection refused", "timeout after 5000 ms", "connection
  // reset", "tls: certificate verify failed: unable to get local issuer certificate",
  // "invalid url: ...", "push client stopped", ...
  std::string error;
  // Retry-After of the answer (delta-seconds or HTTP-date), as a delay from when the
  // answer arrived; never negative. nullopt when absent or unparsable.
  std::optional<int64_t> retry_after_ms;
  std::string body_prefix;  // the first 512 bytes of the answer's body
};

struct PushClientOptions {
  int io_threads = 1;  // threads running the client's io_context; >= 1
  // Bound on resolve + TCP connect + TLS handshake of a new connection (the request's own
  // timeout still applies when it is shorter).
  std::chrono::milliseconds connect_timeout{5000};
  // Open connections per endpoint (scheme, host, port). Requests beyond it wait, in
  // order, for a connection to become free (their timeout keeps running).
  size_t max_connections_per_endpoint = 256;
  // A pooled keep-alive connection unused for this long is closed.
  std::chrono::milliseconds idle_timeout{30'000};
  // PEM file of CA certificates trusted in addition to the system's default verify paths
  // (e.g. a private CA). Empty: the system's CAs only.
  std::string extra_ca_file;
  // At most this much of an answer's body is read; a longer answer still yields its
  // status, and its connection is closed instead of being reused.
  size_t max_response_body_bytes = 64 * 1024;
  // Addresses that may be pushed to, checked against every resolved address before each
  // connection; a call whose addresses are all refused fails with "connect: <why>"
  // (API.md "TLS and push targets"). Null: every address.
  std::shared_ptr<const PushTargets> targets;
};

namespace detail {
struct PushClientImpl;
}

// Thread-safe. Typical use: one client per process, shared by all consumers.
class PushClient {
 public:
  // Fails (kInvalidArgument) on bad options or an extra CA file that cannot be loaded.
  static Result<std::unique_ptr<PushClient>> Create(PushClientOptions options);

  // Stops (see Stop) and joins the io threads.
  ~PushClient();
  PushClient(const PushClient&) = delete;
  PushClient& operator=(const PushClient&) = delete;

  // Starts a push and returns at once; never blocks on the network. `done` runs exactly
  // once, on one of the client's io threads, with the outcome. A request that fails on a
  // reused keep-alive connection with EOF or reset before any byte of the answer arrived
  // (the server closed the idle connection) is sent once more on a fresh connection, so
  // the endpoint may see it twice (delivery is at-least-once anyway).
  // After Stop() has begun, `done` runs at once on the calling thread with the error
  // "push client stopped".
  void Send(PushRequest request, std::function<void(PushResult)> done);

  // Refuses new requests, aborts every request in flight or waiting (their `done` runs
  // with the error "push client stopped" unless the answer won the race), closes every
  // connection and joins the io threads. Returns once every `done` has returned.
  // Idempotent. REQUIRES: not called from a `done` callback (aborts).
  void Stop();

  // Connections opened so far (all endpoints), for tests and metrics.
  uint64_t connections_opened() const;

 private:
  explicit PushClient(std::shared_ptr<detail::PushClientImpl> impl);
  std::shared_ptr<detail::PushClientImpl> impl_;
};

}  // namespace eragon::dispatch
