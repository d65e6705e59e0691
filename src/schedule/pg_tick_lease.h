// PgTickLease: the schedule lease on PostgreSQL, a session-level advisory lock
// (pg_try_advisory_lock, key "eragon.s" in ASCII) held on a connection of its own, named
// "eragond-schedule". The node whose session holds the lock fires the schedules; when it
// dies its connection closes, PostgreSQL drops the lock with the session, and the next
// node to try (every `retry_ms`) takes it. SharedLastTick reads `schedules.last_tick_ms`
// on that same session: it answers only while the session (and so the lock) lives.
// A connection that fails is closed at once, which gives the lock up. TCP keepalives on
// both ends (about 10 s) end the session of a node cut off from PostgreSQL, and bound how
// long a query on a dead network can block. Not thread-safe: the Scheduler's Tick holds
// a mutex.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>

#include "schedule/tick_lease.h"

namespace eragon::schedule {

// What a lease is for: its advisory lock key, its name in messages and pg_stat_activity,
// and how often a held lease checks that its session still lives (0: never; the
// schedules check it through SharedLastTick before each fire instead).
struct PgLeaseOptions {
  int64_t retry_ms = 500;
  int64_t lock_key = 7310012242054753907;  // "eragon.s" in ASCII: the schedules'
  std::string name = "schedule";
  std::string role = "fires the schedules";
  int64_t verify_ms = 0;
};

class PgTickLease final : public TickLease {
 public:
  // `url`: the config store's (postgresql://...). Connects on the first Hold().
  explicit PgTickLease(std::string url, int64_t retry_ms = 500);
  PgTickLease(std::string url, PgLeaseOptions options);
  ~PgTickLease() override;  // closes the connection: the lock goes with it
  PgTickLease(const PgTickLease&) = delete;
  PgTickLease& operator=(const PgTickLease&) = delete;

  // Held: true without a round trip (SharedLastTick checks the session before each fire),
  // or with one every verify_ms when set.
  // Not held: tries to take the lock at most every retry_ms (connecting first when
  // needed); between tries it answers the last try's outcome.
  Result<bool> Hold() override;
  Result<int64_t> SharedLastTick(const std::string& name) override;

  // The backend process id of the lease's session (0 when not connected), for tests.
  int backend_pid() const { return conn_ != nullptr ? PQbackendPID(conn_) : 0; }

 private:
  Result<bool> TryLock();
  Status Connect();
  // Closes the connection (giving the lock up) and says why, once.
  Status Drop(const std::string& why);

  const std::string url_;
  const PgLeaseOptions o_;
  int64_t verified_ms_ = 0;  // steady clock: when the held session last answered
  PGconn* conn_ = nullptr;
  bool held_ = false;
  int64_t next_try_ms_ = 0;        // steady clock
  Result<bool> last_try_ = false;  // answered between tries
};

}  // namespace eragon::schedule
