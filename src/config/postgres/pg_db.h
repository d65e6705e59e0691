// The SqlDb on PostgreSQL (libpq): one connection, `?` placeholders sent as $n text
// parameters, transactions that serialize config writers across nodes and tell the other
// nodes (NOTIFY eragon_config on commit), and migrations under an advisory lock. The
// connection is re-established by itself after a loss (PostgreSQL restarted); while the
// server is unreachable every call answers Unavailable. Not thread-safe: the store holds
// a mutex.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

#include "config/sql_db.h"

namespace eragon::config {

// The channel the config store's changes are announced on.
inline constexpr char kPgConfigChannel[] = "eragon_config";

// Checks that `url` is a PostgreSQL connection URL (postgresql://... or postgres://...)
// libpq can parse; InvalidArgument saying why otherwise (the password is never repeated).
Status CheckPgUrl(const std::string& url);

// Connects to `url` (libpq's connection URL; connect_timeout 5 s unless it sets one).
// `application_name` names the connection in pg_stat_activity unless the URL does.
// Unavailable naming the server when it cannot be reached, Unauthenticated on a refused
// login.
Result<PGconn*> PgConnect(const std::string& url, const char* application_name);

// Maps a failed result (or a lost connection) to a Status: connection lost, server
// shutting down or overloaded, serialization failures -> Unavailable, unique or other
// constraint violations -> Conflict, disk full -> StorageFull, data corrupted ->
// Corruption, else Internal.
Status PgStatus(PGconn* conn, const PGresult* res, const std::string& what);

// A PostgreSQL array literal of text elements ({"a","b\"c"}), for one `$n::text[]`
// parameter (batches go as arrays and unnest() in one statement).
std::string PgTextArray(const std::vector<std::string>& items);

class PgDb final : public SqlDb {
 public:
  // `application_name` names the connection in pg_stat_activity unless the URL does.
  static Result<std::unique_ptr<PgDb>> Open(const std::string& url,
                                            const char* application_name = "eragond");
  ~PgDb() override;

  Status Exec(const std::string& sql) override;
  Result<std::unique_ptr<Query>> Prepare(const std::string& sql) override;
  // BEGIN, then the config_version row locked FOR UPDATE: config writers of every node
  // take turns, as SQLite's BEGIN IMMEDIATE makes them.
  Status Begin() override;
  // NOTIFY eragon_config, then COMMIT (the notification goes out with the commit).
  Status Commit() override;
  void Rollback() override;
  int64_t Changes() override { return changes_; }
  // All pending migrations in one transaction under pg_advisory_xact_lock, so nodes that
  // start together apply each migration once.
  Status Migrate(const std::vector<std::vector<std::string>>& migrations) override;

  // Runs `sql` with text parameters; reconnects first when the connection was lost, and
  // retries once on a connection lost outside a transaction (a restarted server).
  // Sets Changes() for commands.
  Result<std::shared_ptr<PGresult>> Run(const std::string& sql,
                                        const std::vector<std::string>& params);

 private:
  PgDb(std::string url, PGconn* conn) : url_(std::move(url)), conn_(conn) {}
  Status Reconnect();

  std::string url_;
  PGconn* conn_;
  bool in_transaction_ = false;
  int64_t changes_ = 0;
};

}  // namespace eragon::config
