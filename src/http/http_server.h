// HttpServer: the HTTP/1.1 server under eragond's API (Boost.Beast inside, none of it
// in this header).
//
// Threading: `io_threads` threads run one io_context. Each connection is bound to its
// own strand, so its reads, writes and timers never run concurrently; different
// connections run in parallel. Handlers run on an io thread and answer through a
// Responder (see responder.h), possibly later and from another thread.
//
// One request per connection is handled at a time: pipelined requests are parsed only
// after the previous answer is written, so answers always come in request order.
//
// Limits and timeouts (HttpServerOptions) are enforced per connection; a body whose
// Content-Length exceeds max_body_bytes is answered 413 before any of it is read.
//
// With HttpServerOptions::tls the server speaks HTTPS only (HTTP/1.1 over TLS 1.2+); the
// certificate can be replaced while running (ReloadTls) without closing the listener.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eragon/status.h"
#include "http/http_message.h"
#include "http/router.h"

namespace eragon::http {

namespace detail {
struct ServerImpl;
}

// PEM files of a TLS server.
struct TlsServerFiles {
  std::string cert_file;  // the certificate chain, leaf first
  std::string key_file;   // the private key of the leaf
  // CAs that client certificates must chain to. Empty: no client certificate is asked
  // for. Set: a client without a valid certificate fails the handshake.
  std::string client_ca_file;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7070;  // 0: pick a free port; see HttpServer::port()
  int io_threads = 2;
  int listen_backlog = 4096;  // the kernel caps it at net.core.somaxconn

  // Request line plus header fields, in bytes; beyond it: 431 and close.
  uint32_t max_header_bytes = 16 * 1024;
  // Body bytes, by Content-Length (checked before the body is read) or summed over
  // chunks; beyond it: 413 too_large and close.
  uint64_t max_body_bytes = 8 * 1024 * 1024;

  // From the first byte of a request to its last; slow senders are cut off.
  std::chrono::milliseconds request_timeout{30'000};
  // How long a keep-alive connection may wait for the first byte of its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  // How long writing one answer may take.
  std::chrono::milliseconds write_timeout{30'000};

  // Set: HTTPS only. The TLS handshake counts against request_timeout.
  std::optional<TlsServerFiles> tls;
  // Open connections at most. A connection accepted beyond it closes the longest-idle
  // keep-alive connection (one waiting for its next request) to make room; when none is
  // idle the new one is answered 503 unavailable and closed. Idle connections cannot
  // exhaust the process's descriptors and lock out new clients.
  size_t max_connections = 4096;
};

// One finished request, for metrics. `route` is the matched pattern ("" for 404/405 and
// requests that never reached the router), `duration` runs from the complete request to
// the answer being handed to the socket.
struct RequestStats {
  Method method;
  std::string_view route;
  int status;
  std::chrono::nanoseconds duration;
};
// Called on an io thread after each answer is queued; must be cheap and thread-safe.
using LatencyHook = std::function<void(const RequestStats&)>;

// Called on an io thread when a request's Content-Length is over max_body_bytes, with
// the request's method, target and headers (no body), before 413 is answered. An answer
// it returns is sent instead (e.g. 401 when the token is bad: API.md ranks 401 first).
using OversizeHook = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

class HttpServer {
 public:
  // `router` must outlive the server.
  HttpServer(HttpServerOptions options, const Router* router);
  // Stops (with a zero grace period) if still running.
  // REQUIRES: every Responder of this server has been called or destroyed.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // REQUIRES: before Start().
  void SetLatencyHook(LatencyHook hook);
  // REQUIRES: before Start().
  void SetOversizeHook(OversizeHook hook);

  // Binds (SO_REUSEADDR), listens and starts the io threads. Returns an error if the
  // address cannot be resolved or bound. REQUIRES: called once.
  Status Start();

  // The bound port (useful with port 0). REQUIRES: Start() succeeded.
  uint16_t port() const;

  // Re-reads the TLS files named in the options. On success, connections accepted from
  // now on use them (open ones keep their session); on failure (unreadable file, key not
  // matching the certificate, ...) the old certificate stays in use and the error says
  // why. InvalidArgument when the server was started without TLS. Any thread.
  Status ReloadTls();

  // Graceful shutdown: stops accepting, closes idle keep-alive connections, lets
  // requests already being read or handled finish (their answers carry
  // "Connection: close", async Responders still complete), and waits for connections to
  // drain until `grace` has passed; then closes whatever is left and joins the io
  // threads. Responders called after that are dropped. Idempotent; not from an io thread.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Requests handed to a handler whose answer is not written yet (the shutdown gate).
  int64_t in_flight() const;
  // Connections accepted since Start.
  uint64_t connections_accepted() const;

 private:
  std::shared_ptr<detail::ServerImpl> impl_;
};

}  // namespace eragon::http
