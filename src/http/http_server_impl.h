// Internal to eragon_http: the state HttpServer (http_server.cc: start, stop) shares with
// its connections and acceptor (http_connection.cc). Asio types, no Beast; included by
// those two files only.
#pragma once

#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/http_server.h"
#include "http/tls_context.h"

namespace eragon::http {

class Connection;  // http_connection.cc

namespace detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;
using ErrorCode = boost::system::error_code;

struct ServerImpl : std::enable_shared_from_this<ServerImpl> {
  ServerImpl(HttpServerOptions opts, const Router* r)
      : options(std::move(opts)),
        router(r),
        ioc(std::max(1, options.io_threads)),
        acceptor(asio::make_strand(ioc)),
        accept_retry(acceptor.get_executor()) {
    auto shortest =
        std::min({options.request_timeout, options.idle_timeout, options.write_timeout});
    tick = std::clamp(shortest / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
  }

  void DoAccept();
  void OnAccept(const ErrorCode& ec);
  // At max_connections: closes the longest-idle connection (true), or finds none (false).
  // REQUIRES mu.
  bool CloseLongestIdleLocked();
  void Deactivate(Connection* c);
  void Unregister(Connection* c);
  // Stop(): posts OnStop (`close` false: idle connections close, the others after their
  // current answer) or Close to every registered connection, on its strand.
  void PostToConnections(bool close);
  // The TLS context new connections use; null without TLS.
  std::shared_ptr<asio::ssl::context> CurrentTls() {
    std::lock_guard<std::mutex> lock(tls_mu);
    return tls_context;
  }

  const HttpServerOptions options;
  const Router* const router;
  LatencyHook hook;
  OversizeHook oversize_hook;
  std::chrono::milliseconds tick;  // how often a connection checks its deadline

  asio::io_context ioc;
  tcp::acceptor acceptor;  // on its own strand
  asio::steady_timer accept_retry;
  std::optional<Strand> pending_strand;
  std::optional<tcp::socket> pending_socket;
  uint16_t port = 0;

  std::mutex tls_mu;  // guards tls_context: read per accept, replaced by ReloadTls
  std::shared_ptr<asio::ssl::context> tls_context;

  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<bool> finished{false};  // io threads joined
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};  // answered 503 at max_connections

  // Guards the registry below: touched on accept and close, never per request.
  std::mutex mu;
  std::condition_variable cv;
  struct Entry {
    std::weak_ptr<Connection> connection;
    bool active;   // false once the connection lingers after its last answer
    bool closing;  // chosen to make room at max_connections (CloseLongestIdleLocked)
  };
  std::unordered_map<Connection*, Entry> connections;
  size_t active_connections = 0;  // Stop() waits for this to reach 0
  int running_threads = 0;
};

}  // namespace detail
}  // namespace eragon::http
