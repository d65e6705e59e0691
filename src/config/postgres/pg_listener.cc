#include "config/postgres/pg_listener.h"

#include <poll.h>

#include <chrono>
#include <cstdio>

#include "config/postgres/pg_db.h"
#include "core/thread_name.h"

namespace eragon::config {
namespace {

constexpr int64_t kReconnectMs = 250;
constexpr int kWaitSliceMs = 100;  // how soon Stop is noticed while waiting on the socket

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

PgListener::PgListener(std::string url, int64_t poll_ms, bool listen, std::function<void()> check)
    : url_(std::move(url)), poll_ms_(poll_ms), listen_(listen), check_(std::move(check)) {
  thread_ = std::thread([this] {
    SetThreadName("pg-listen");
    Loop();
  });
}

PgListener::~PgListener() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (conn_ != nullptr) PQfinish(conn_);
}

bool PgListener::WaitFor(int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
  return !stopping_;
}

bool PgListener::Connect() {
  Result<PGconn*> conn = PgConnect(url_, "eragond-listen");
  if (conn.ok()) {
    PGresult* res = PQexec(*conn, (std::string("LISTEN ") + kPgConfigChannel).c_str());
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (ok) {
      conn_ = *conn;
      connected_.store(true, std::memory_order_release);
      if (logged_down_) fprintf(stderr, "eragond: config store: listening for changes again\n");
      logged_down_ = false;
      return true;
    }
    PQfinish(*conn);
  }
  if (!logged_down_) {
    fprintf(stderr, "eragond: config store: cannot listen for changes (retrying): %s\n",
            conn.ok() ? "LISTEN failed" : conn.status().message().c_str());
    logged_down_ = true;
  }
  return false;
}

void PgListener::Drain() {
  bool changed = false;
  if (PQconsumeInput(conn_) == 0) {
    PQfinish(conn_);
    conn_ = nullptr;
    connected_.store(false, std::memory_order_release);
    return;
  }
  while (PGnotify* n = PQnotifies(conn_)) {
    changed = true;
    PQfreemem(n);
  }
  if (changed) check_();
}

void PgListener::Loop() {
  int64_t last_poll = NowMs();
  while (true) {
    if (listen_ && conn_ == nullptr) {
      if (!Connect()) {
        if (!WaitFor(kReconnectMs)) return;
        continue;
      }
      check_();  // what changed while the connection was down
      last_poll = NowMs();
    }
    if (listen_) {
      pollfd p{PQsocket(conn_), POLLIN, 0};
      if (::poll(&p, 1, kWaitSliceMs) > 0) Drain();
      std::lock_guard lock(mu_);
      if (stopping_) return;
    } else if (!WaitFor(kWaitSliceMs)) {
      return;
    }
    if (NowMs() - last_poll >= poll_ms_) {
      check_();
      last_poll = NowMs();
    }
  }
}

}  // namespace eragon::config
