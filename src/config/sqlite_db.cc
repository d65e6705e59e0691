#include "config/sqlite_db.h"

#include <sys/stat.h>

#include <cerrno>

namespace eragon::config {

Status SqliteStatus(int rc, std::string_view what, sqlite3* db) {
  std::string m = "config store: " + std::string(what) + ": " +
                  (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(m));
    case SQLITE_FULL:
      return Status::StorageFull(std::move(m));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Status::IOError(std::move(m));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(m));
    case SQLITE_CONSTRAINT:
      return Status::Conflict(std::move(m));
    default:
      return Status::Internal(std::move(m));
  }
}

SqliteQuery::~SqliteQuery() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Query& SqliteQuery::Bind(std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, next_param_++, text.data(), static_cast<int>(text.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Query& SqliteQuery::Bind(int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, next_param_++, v);
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> SqliteQuery::Step() {
  if (bind_rc_ != SQLITE_OK) return SqliteStatus(bind_rc_, "bind", db_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(rc, sqlite3_sql(stmt_), db_);
}

std::string SqliteQuery::Text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

int64_t SqliteQuery::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, const std::string& vfs) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           vfs.empty() ? nullptr : vfs.c_str());
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  if (rc != SQLITE_OK) return SqliteStatus(rc, "open " + path, raw);
  // It holds webhook secrets and token hashes: owner-only. SQLite gives the -wal and -shm
  // files the database file's mode.
  if (path != ":memory:" && ::chmod(path.c_str(), 0600) != 0) {
    return Status::FromErrno("chmod 0600", path, errno);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  // The first statement reads the file: a file that is not a database fails here.
  ERAGON_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
  ERAGON_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
  ERAGON_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status SqliteDb::Exec(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string what = sql + (error != nullptr ? std::string(" (") + error + ")" : "");
  sqlite3_free(error);
  return SqliteStatus(rc, what, db_);
}

Result<std::unique_ptr<Query>> SqliteDb::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(rc, "prepare " + sql, db_);
    it = statements_.emplace(sql, stmt).first;
  }
  return std::unique_ptr<Query>(new SqliteQuery(db_, it->second));
}

Status SqliteDb::Migrate(const std::vector<std::vector<std::string>>& migrations) {
  ERAGON_RETURN_IF_ERROR(
      Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  int64_t version = 0;
  {
    ERAGON_ASSIGN_OR_RETURN(auto q, Prepare("SELECT MAX(version) FROM schema_version"));
    ERAGON_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) version = q->Int(0);
  }
  if (version > static_cast<int64_t>(migrations.size())) {
    return Status::Unavailable("config store schema version " + std::to_string(version) +
                               " is newer than this build knows (" +
                               std::to_string(migrations.size()) + "); upgrade eragond");
  }
  for (size_t k = static_cast<size_t>(version); k < migrations.size(); ++k) {
    ERAGON_RETURN_IF_ERROR(Begin());
    Status st;
    for (const std::string& sql : migrations[k]) {
      st = Exec(sql);
      if (!st.ok()) break;
    }
    if (st.ok()) {
      st = Exec("INSERT INTO schema_version (version) VALUES (" + std::to_string(k + 1) + ")");
    }
    if (st.ok()) st = Commit();
    if (!st.ok()) {
      Rollback();
      return st;
    }
  }
  return Status::Ok();
}

}  // namespace eragon::config
