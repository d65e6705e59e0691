// A thin RAII layer over SQLite's C API for the config store: one connection, cached
// prepared statements, transactions and ordered schema migrations. Not thread-safe: the
// owner serializes calls (SqliteConfigStore holds a mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eragon/status.h"

namespace eragon::config {

// Maps an SQLite result code to a Status: BUSY/LOCKED -> Unavailable, FULL -> StorageFull,
// IOERR -> IOError, CORRUPT/NOTADB -> Corruption, CONSTRAINT -> Conflict, else Internal.
Status SqliteStatus(int rc, std::string_view what, sqlite3* db);

// One prepared statement in use: binds parameters (1-based, in the order of the Bind calls)
// and steps through rows. Resets the statement when destroyed so it can be reused.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query();

  Query& Bind(std::string_view text);
  Query& Bind(int64_t v);

  // Ok(true) with a row to read, Ok(false) when done.
  Result<bool> Step();
  // Runs a statement that returns no rows.
  Status Run();

  std::string Text(int column) const;
  int64_t Int(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int next_param_ = 1;
  int bind_rc_ = SQLITE_OK;
};

class SqliteDb {
 public:
  // Opens (creating when absent, mode 0600) the database at `path`.
  // `vfs`: an SQLite VFS name ("" = the default).
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                const std::string& vfs = "");
  ~SqliteDb();

  // Runs one or more statements without parameters or results.
  Status Exec(const std::string& sql);
  // A query on a statement prepared once and cached for the connection's lifetime.
  Result<std::unique_ptr<Query>> Prepare(const std::string& sql);

  // BEGIN IMMEDIATE (takes the write lock up front, so two writers never deadlock on
  // upgrading their locks), COMMIT, ROLLBACK.
  Status Begin() { return Exec("BEGIN IMMEDIATE"); }
  Status Commit() { return Exec("COMMIT"); }
  void Rollback() { (void)Exec("ROLLBACK"); }

  // Applies migrations[k] for every k >= the stored schema version, each in its own
  // transaction together with the version bump; refuses a database newer than this build.
  Status Migrate(const std::vector<std::vector<std::string>>& migrations);

  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace eragon::config
