// Internal to eragon_push: the state PushClient's two translation units share.
// push_client.cc holds the per-request path (Send, the pools' Dispatch, the connection
// state machine, Beast inside); push_client_lifecycle.cc holds Create (TLS set-up, io
// threads), Stop and the timer of calls waiting for a free connection. Asio types, no
// Beast; included by those two files only.
//
// Threading: one io_context per io thread (a context run by several threads hands every
// completion between them: ~5 thread wake-ups per push at low rates, ~2.4 with one
// thread); a connection is placed on one of them, round robin, when it is opened. Every
// connection has its own strand; its socket, timer and resolver run there, so a request
// never hops threads between Send's one post and `done`. Each endpoint's Pool is shared
// between those strands and Send's callers and is guarded by its own mutex, held only for
// list operations (never across I/O or a callback).
#pragma once

#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dispatch/push_client.h"
#include "dispatch/push_parse.h"

namespace eragon::dispatch::detail {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using SteadyClock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;
using Strand = asio::strand<asio::io_context::executor_type>;

inline constexpr const char* kStopped = "push client stopped";

// One push from Send to `done`.
struct Call {
  PushUrl url;
  std::string head;  // request line and headers, ending with the blank line
  std::string body;
  std::chrono::milliseconds timeout{0};
  SteadyClock::time_point deadline;
  std::function<void(PushResult)> done;
  bool retried = false;  // already re-sent once after a stale keep-alive connection
};
using CallPtr = std::unique_ptr<Call>;

inline PushResult ErrorResult(std::string error) {
  PushResult r;
  r.error = std::move(error);
  return r;
}

inline std::string TimeoutError(const Call& call) {
  return "timeout after " + std::to_string(call.timeout.count()) + " ms";
}

struct PushClientImpl;

// The base of push_client.cc's connection class, which stays local to that file (so the
// compiler treats its per-request functions as file-local); pools hold connections
// through this empty base.
struct PooledConnection {};

struct Pool {
  explicit Pool(PushClientImpl* i, const PushUrl& url, asio::io_context& ioc)
      : impl(i), endpoint(url), strand(asio::make_strand(ioc)), wait_timer(strand) {}

  PushClientImpl* const impl;     // outlives every pool
  const PushUrl endpoint;         // host, port and tls of every call here
  Strand strand;                  // runs wait_timer
  asio::steady_timer wait_timer;  // expires calls that wait too long for a connection

  std::mutex mu;                                        // guards everything below
  std::vector<std::shared_ptr<PooledConnection>> idle;  // LIFO: the warmest connection first
  std::deque<CallPtr> waiting;                          // FIFO beyond the connection cap
  std::unordered_map<PooledConnection*, std::weak_ptr<PooledConnection>> all;
  size_t open = 0;  // connections counted against the cap
  bool wait_timer_armed = false;
  bool closed = false;  // Stop() began: no new connections, no new calls
};

struct PushClientImpl {
  explicit PushClientImpl(PushClientOptions opts) : options(std::move(opts)) {
    for (int i = 0; i < std::max(1, options.io_threads); ++i) {
      iocs.push_back(std::make_unique<asio::io_context>(1));
      work.emplace_back(iocs.back()->get_executor());
    }
  }

  // The context of a new connection or pool: each in turn.
  asio::io_context& NextIoc() { return *iocs[next_ioc.fetch_add(1) % iocs.size()]; }

  void ArmWaitTimer(const std::shared_ptr<Pool>& pool);
  void OnWaitTimer(const std::shared_ptr<Pool>& pool);
  // Runs `done` and accounts for it. Call on an io thread.
  void Complete(CallPtr call, PushResult result);
  void Uncount();  // one accepted call fewer; wakes Stop() at zero
  // Completes `call` with an error from an io thread.
  void PostError(CallPtr call, std::string error);
  void Stop();  // push_client_lifecycle.cc

  const PushClientOptions options;
  ssl::context tls{ssl::context::tls_client};           // before iocs: streams refer to it
  std::vector<std::unique_ptr<asio::io_context>> iocs;  // one per io thread
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::atomic<size_t> next_ioc{0};
  std::vector<std::thread> threads;  // threads[i] runs iocs[i]

  std::mutex mu;  // guards pools, stopping_locked and stopped
  std::unordered_map<std::string, std::shared_ptr<Pool>> pools;
  bool stopping_locked = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};

  std::atomic<int64_t> outstanding{0};  // accepted calls whose `done` has not returned
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::atomic<uint64_t> opened{0};
};

// An error code for last_error: "Connection refused" -> "connection refused". In
// push_client_lifecycle.cc.
std::string Describe(const ErrorCode& ec);

// Removes from `endpoints` what `targets` refuses (null: nothing is refused); returns
// why the last one was refused. In push_client_lifecycle.cc.
std::string KeepAllowed(const PushTargets* targets,
                        std::vector<asio::ip::tcp::endpoint>* endpoints);

// Stop(): aborts `connection` on its strand (Connection::Abort). In push_client.cc.
void PostAbort(std::shared_ptr<PooledConnection> connection);

}  // namespace eragon::dispatch::detail
