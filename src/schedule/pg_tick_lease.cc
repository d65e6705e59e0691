#include "schedule/pg_tick_lease.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "config/postgres/pg_db.h"

namespace eragon::schedule {
namespace {

// The server ends the session of a client that stopped answering within ~10 s.
constexpr char kServerKeepalives[] =
    "SET tcp_keepalives_idle = 4; SET tcp_keepalives_interval = 2;"
    " SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000";

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The same on our end: a query on a dead network fails within ~10 s instead of blocking
// for the kernel's default (minutes). Unix sockets ignore it.
void ClientKeepalives(int fd) {
  const int on = 1, idle = 4, interval = 2, count = 3;
  const unsigned int user_timeout_ms = 10000;
  (void)::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms);
}

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

}  // namespace

PgTickLease::PgTickLease(std::string url, int64_t retry_ms)
    : PgTickLease(std::move(url), PgLeaseOptions{.retry_ms = retry_ms}) {}

PgTickLease::PgTickLease(std::string url, PgLeaseOptions options)
    : url_(std::move(url)), o_(std::move(options)) {}

PgTickLease::~PgTickLease() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Status PgTickLease::Drop(const std::string& why) {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  if (held_) fprintf(stderr, "eragond: %s lease lost (%s)\n", o_.name.c_str(), why.c_str());
  held_ = false;
  return Status::Unavailable(o_.name + " lease: " + why);
}

Status PgTickLease::Connect() {
  ERAGON_ASSIGN_OR_RETURN(conn_, config::PgConnect(url_, ("eragond-" + o_.name).c_str()));
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  ClientKeepalives(PQsocket(conn_));
  // Best effort (a server that does not know a setting still serves the lease).
  ResultPtr res(PQexec(conn_, kServerKeepalives), PQclear);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Drop(config::PgStatus(conn_, res.get(), "keepalive settings").message());
  }
  return Status::Ok();
}

Result<bool> PgTickLease::TryLock() {
  if (conn_ == nullptr) ERAGON_RETURN_IF_ERROR(Connect());
  const std::string sql = "SELECT pg_try_advisory_lock(" + std::to_string(o_.lock_key) + ")";
  ResultPtr res(PQexec(conn_, sql.c_str()), PQclear);
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1) {
    return Drop(config::PgStatus(conn_, res.get(), "pg_try_advisory_lock").message());
  }
  held_ = PQgetvalue(res.get(), 0, 0)[0] == 't';
  if (held_) {
    fprintf(stderr, "eragond: %s lease taken: this node %s\n", o_.name.c_str(), o_.role.c_str());
    verified_ms_ = SteadyMs();
  }
  return held_;
}

Result<bool> PgTickLease::Hold() {
  const int64_t now = SteadyMs();
  if (held_ && o_.verify_ms > 0 && now - verified_ms_ >= o_.verify_ms) {
    ResultPtr res(PQexec(conn_, "SELECT 1"), PQclear);
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      return Drop(config::PgStatus(conn_, res.get(), "session check").message());
    }
    verified_ms_ = now;
  }
  if (held_) return true;
  if (now < next_try_ms_) return last_try_;
  next_try_ms_ = now + o_.retry_ms;
  last_try_ = TryLock();
  return last_try_;
}

Result<int64_t> PgTickLease::SharedLastTick(const std::string& name) {
  if (!held_) return Status::Unavailable("schedule lease: not held");
  const char* params[] = {name.c_str()};
  ResultPtr res(PQexecParams(conn_, "SELECT last_tick_ms FROM schedules WHERE name = $1", 1,
                             nullptr, params, nullptr, nullptr, 0),
                PQclear);
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
    return Drop(config::PgStatus(conn_, res.get(), "reading last_tick_ms").message());
  }
  if (PQntuples(res.get()) == 0) return Status::NotFound("no schedule '" + name + "'");
  return static_cast<int64_t>(std::strtoll(PQgetvalue(res.get(), 0, 0), nullptr, 10));
}

}  // namespace eragon::schedule
