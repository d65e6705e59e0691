// The PostgreSQL of the `postgres` ctest fixture (tests/infra/postgres_fixture.sh) and a
// fresh database on it per test. Library `eragon_testing_postgres` (libpq).
#pragma once

#include <string>

#include "eragon/status.h"

namespace eragon::testing {

// ERAGON_TEST_POSTGRES_URL, else the first line of the file ERAGON_TEST_POSTGRES_FILE
// names (the fixture writes it), else "" (no PostgreSQL for this run).
std::string TestPostgresUrl();

// Runs `sql` on `url`; the first column of the first row ("" when none).
Result<std::string> PgQueryValue(const std::string& url, const std::string& sql);

// A database of its own on the server of `server_url`, dropped (WITH (FORCE)) on
// destruction. ok() is false (error() says why) when it could not be created.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& server_url);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }  // postgresql://.../<name>
  const std::string& name() const { return name_; }

 private:
  std::string server_url_;
  std::string name_;
  std::string url_;
  std::string error_;
};

}  // namespace eragon::testing
