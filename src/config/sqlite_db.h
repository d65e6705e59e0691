// The SqlDb on SQLite's C API (a thin RAII layer): one connection, cached prepared
// statements, transactions and ordered schema migrations. Not thread-safe: the owner
// serializes calls (the store holds a mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/sql_db.h"
#include "eragon/status.h"

namespace eragon::config {

// Maps an SQLite result code to a Status: BUSY/LOCKED -> Unavailable, FULL -> StorageFull,
// IOERR -> IOError, CORRUPT/NOTADB -> Corruption, CONSTRAINT -> Conflict, else Internal.
Status SqliteStatus(int rc, std::string_view what, sqlite3* db);

// One prepared statement in use (1-based parameters). Resets the statement when destroyed
// so it can be reused.
class SqliteQuery final : public Query {
 public:
  SqliteQuery(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteQuery(const SqliteQuery&) = delete;
  SqliteQuery& operator=(const SqliteQuery&) = delete;
  ~SqliteQuery() override;

  Query& Bind(std::string_view text) override;
  Query& Bind(int64_t v) override;
  Result<bool> Step() override;
  std::string Text(int column) const override;
  int64_t Int(int column) const override;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int next_param_ = 1;
  int bind_rc_ = SQLITE_OK;
};

class SqliteDb final : public SqlDb {
 public:
  // Opens (creating when absent, mode 0600) the database at `path`.
  // `vfs`: an SQLite VFS name ("" = the default).
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                const std::string& vfs = "");
  ~SqliteDb() override;

  Status Exec(const std::string& sql) override;
  // A query on a statement prepared once and cached for the connection's lifetime.
  Result<std::unique_ptr<Query>> Prepare(const std::string& sql) override;

  // BEGIN IMMEDIATE (takes the write lock up front, so two writers never deadlock on
  // upgrading their locks), COMMIT, ROLLBACK.
  Status Begin() override { return Exec("BEGIN IMMEDIATE"); }
  Status Commit() override { return Exec("COMMIT"); }
  void Rollback() override { (void)Exec("ROLLBACK"); }
  int64_t Changes() override { return sqlite3_changes(db_); }

  // Each migration in its own transaction together with the version bump.
  Status Migrate(const std::vector<std::vector<std::string>>& migrations) override;

  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace eragon::config
