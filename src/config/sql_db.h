// The SQL database under the config store, as the store uses it: cached statements with
// `?` placeholders, transactions, a changed-rows count and ordered schema migrations.
// Two implementations: SQLite (sqlite_db.h, single node) and PostgreSQL (postgres/pg_db.h,
// many nodes), so one store (sql_config_store.h) runs the same SQL on both. Not
// thread-safe: the owner serializes calls (the store holds a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/status.h"

namespace eragon::config {

// One statement in use: binds parameters (in the order of the Bind calls) and steps
// through rows.
class Query {
 public:
  virtual ~Query() = default;
  virtual Query& Bind(std::string_view text) = 0;
  virtual Query& Bind(int64_t v) = 0;
  // Ok(true) with a row to read, Ok(false) when done.
  virtual Result<bool> Step() = 0;
  // Runs a statement that returns no rows.
  Status Run() { return Step().status(); }
  virtual std::string Text(int column) const = 0;
  virtual int64_t Int(int column) const = 0;
};

class SqlDb {
 public:
  virtual ~SqlDb() = default;
  // Runs one or more statements without parameters or results.
  virtual Status Exec(const std::string& sql) = 0;
  virtual Result<std::unique_ptr<Query>> Prepare(const std::string& sql) = 0;
  // A write transaction: writers of the same database never interleave (SQLite: BEGIN
  // IMMEDIATE; PostgreSQL: the config_version row locked first). Every transaction the
  // store opens is a configuration change: Commit tells the other nodes (PostgreSQL).
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  virtual int64_t Changes() = 0;
  // Applies migrations[k] for every k >= the stored schema version, together with the
  // version bump; refuses a database newer than this build.
  virtual Status Migrate(const std::vector<std::vector<std::string>>& migrations) = 0;
};

}  // namespace eragon::config
