#include "testing/test_postgres.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

namespace eragon::testing {

std::string TestPostgresUrl() {
  if (const char* url = std::getenv("ERAGON_TEST_POSTGRES_URL"); url != nullptr && *url) {
    return url;
  }
  const char* file = std::getenv("ERAGON_TEST_POSTGRES_FILE");
  if (file == nullptr) return "";
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

Result<std::string> PgQueryValue(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::Unavailable("connect: " + why);
  }
  PGresult* res = PQexec(conn, sql.c_str());
  Result<std::string> out = std::string();
  ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_TUPLES_OK && PQntuples(res) > 0) {
    out = std::string(PQgetvalue(res, 0, 0));
  } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    out = Status::Internal(sql + ": " + PQresultErrorMessage(res));
  }
  PQclear(res);
  PQfinish(conn);
  return out;
}

TestDatabase::TestDatabase(const std::string& server_url) : server_url_(server_url) {
  static std::atomic<int> next{0};
  name_ = "eragon_test_" + std::to_string(getpid()) + "_" + std::to_string(next++);
  size_t slash = server_url.rfind('/');
  if (server_url.empty() || slash == std::string::npos || slash < 3) {
    error_ = "no PostgreSQL URL";
    return;
  }
  url_ = server_url.substr(0, slash + 1) + name_;
  Result<std::string> made = PgQueryValue(server_url, "CREATE DATABASE " + name_);
  if (!made.ok()) error_ = made.status().ToString();
}

TestDatabase::~TestDatabase() {
  if (ok()) (void)PgQueryValue(server_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

}  // namespace eragon::testing
