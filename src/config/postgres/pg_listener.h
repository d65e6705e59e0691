// PgListener: calls `check` when another node may have changed the configuration:
// on every NOTIFY eragon_config (LISTEN on a connection of its own, named
// "eragond-listen"), every `poll_ms` (what a dropped connection missed), and after each
// (re)connection. Reconnects by itself, every 250 ms while PostgreSQL is unreachable.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace eragon::config {

class PgListener {
 public:
  // listen = false: the poll alone (tests of the poll).
  PgListener(std::string url, int64_t poll_ms, bool listen, std::function<void()> check);
  ~PgListener();  // stops the thread
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Whether the LISTEN connection is up.
  bool connected() const { return connected_.load(std::memory_order_acquire); }

 private:
  void Loop();
  bool Connect();            // LISTEN on a new connection; false (logged once per outage) when down
  void Drain();              // reads what arrived; calls check_ on notifications
  bool WaitFor(int64_t ms);  // false when stopping

  const std::string url_;
  const int64_t poll_ms_;
  const bool listen_;
  const std::function<void()> check_;
  PGconn* conn_ = nullptr;  // the loop thread's
  bool logged_down_ = false;
  std::atomic<bool> connected_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eragon::config
