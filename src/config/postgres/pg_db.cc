#include "config/postgres/pg_db.h"

#include <cstdlib>
#include <cstring>

namespace eragon::config {
namespace {

// Settles pg_advisory_xact_lock's key: "eragon" in ASCII.
constexpr char kMigrationLock[] = "SELECT pg_advisory_xact_lock(111546296461166)";

std::string Trimmed(const char* message) {
  std::string m = message == nullptr ? "" : message;
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// `?` placeholders as $1, $2, ... (the store's SQL has no `?` inside string literals).
std::string NumberedPlaceholders(const std::string& sql) {
  std::string out;
  int n = 0;
  for (char c : sql) {
    if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

using ResultPtr = std::shared_ptr<PGresult>;

class PgQuery final : public Query {
 public:
  PgQuery(PgDb* db, std::string sql) : db_(db), sql_(std::move(sql)) {}

  Query& Bind(std::string_view text) override {
    params_.emplace_back(text);
    return *this;
  }
  Query& Bind(int64_t v) override {
    params_.push_back(std::to_string(v));
    return *this;
  }

  Result<bool> Step() override {
    if (!result_) {
      ERAGON_ASSIGN_OR_RETURN(result_, db_->Run(sql_, params_));
      row_ = -1;
    }
    return ++row_ < PQntuples(result_.get());
  }

  std::string Text(int column) const override {
    return std::string(PQgetvalue(result_.get(), row_, column),
                       PQgetlength(result_.get(), row_, column));
  }
  int64_t Int(int column) const override {
    return std::strtoll(PQgetvalue(result_.get(), row_, column), nullptr, 10);
  }

 private:
  PgDb* db_;
  std::string sql_;
  std::vector<std::string> params_;
  ResultPtr result_;
  int row_ = -1;
};

// The server a connection goes to, for messages (never the password).
std::string ServerName(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  return std::string(host != nullptr ? host : "?") + ":" + (port != nullptr ? port : "?");
}

}  // namespace

Status CheckPgUrl(const std::string& url) {
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) {
    return Status::InvalidArgument(
        "--config-store: expected sqlite (the default) or a postgresql://... URL");
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string why = Trimmed(error != nullptr ? error : "out of memory");
    PQfreemem(error);
    // libpq quotes the URL, password included: keep what comes before.
    if (size_t at = why.find(" in URI"); at != std::string::npos) why.resize(at);
    return Status::InvalidArgument("--config-store: not a valid PostgreSQL URL: " + why);
  }
  PQconninfoFree(options);
  return Status::Ok();
}

Result<PGconn*> PgConnect(const std::string& url, const char* application_name) {
  // Defaults first: the URL (expanded from dbname) overrides them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", application_name, url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status::Internal("config store: libpq: out of memory");
  if (PQstatus(conn) == CONNECTION_OK) return conn;
  std::string why = Trimmed(PQerrorMessage(conn));
  std::string server = ServerName(conn);
  bool refused_login = why.find("authentication failed") != std::string::npos ||
                       why.find("does not exist") != std::string::npos;
  PQfinish(conn);
  std::string m = "config store: cannot connect to PostgreSQL at " + server + ": " + why;
  return refused_login ? Status::Unauthenticated(std::move(m)) : Status::Unavailable(std::move(m));
}

Status PgStatus(PGconn* conn, const PGresult* res, const std::string& what) {
  std::string why = Trimmed(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (why.empty()) why = Trimmed(PQerrorMessage(conn));
  std::string m = "config store: " + what + ": " + why;
  if (PQstatus(conn) != CONNECTION_OK) {
    return Status::Unavailable("config store: PostgreSQL unreachable: " + why);
  }
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string s = state != nullptr ? state : "";
  if (s.rfind("23", 0) == 0) return Status::Conflict(std::move(m));
  if (s == "53100") return Status::StorageFull(std::move(m));
  if (s.rfind("08", 0) == 0 || s.rfind("53", 0) == 0 || s.rfind("57P", 0) == 0 ||
      s.rfind("40", 0) == 0) {
    return Status::Unavailable(std::move(m));
  }
  if (s == "XX001" || s == "XX002") return Status::Corruption(std::move(m));
  return Status::Internal(std::move(m));
}

Result<std::unique_ptr<PgDb>> PgDb::Open(const std::string& url, const char* application_name) {
  ERAGON_RETURN_IF_ERROR(CheckPgUrl(url));
  ERAGON_ASSIGN_OR_RETURN(PGconn * conn, PgConnect(url, application_name));
  std::unique_ptr<PgDb> db(new PgDb(url, conn));
  // Server messages (NOTICE) are not ours to print.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return db;
}

PgDb::~PgDb() { PQfinish(conn_); }

Status PgDb::Reconnect() {
  PQreset(conn_);
  if (PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
  return Status::Unavailable("config store: PostgreSQL at " + ServerName(conn_) +
                             " unreachable: " + Trimmed(PQerrorMessage(conn_)));
}

Result<std::shared_ptr<PGresult>> PgDb::Run(const std::string& sql,
                                            const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const std::string& p : params) values.push_back(p.c_str());
  for (int attempt = 0;; ++attempt) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      if (in_transaction_) return Status::Unavailable("config store: PostgreSQL connection lost");
      ERAGON_RETURN_IF_ERROR(Reconnect());
    }
    std::shared_ptr<PGresult> res(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                               nullptr, values.data(), nullptr, nullptr, 0),
                                  PQclear);
    ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      changes_ = std::strtoll(PQcmdTuples(res.get()), nullptr, 10);
      return res;
    }
    if (PQstatus(conn_) != CONNECTION_OK && !in_transaction_ && attempt == 0) continue;
    return PgStatus(conn_, res.get(), sql.substr(0, 60));
  }
}

Status PgDb::Exec(const std::string& sql) { return Run(sql, {}).status(); }

Result<std::unique_ptr<Query>> PgDb::Prepare(const std::string& sql) {
  return std::unique_ptr<Query>(new PgQuery(this, NumberedPlaceholders(sql)));
}

Status PgDb::Begin() {
  ERAGON_RETURN_IF_ERROR(Exec("BEGIN"));
  in_transaction_ = true;
  Status st = Exec("SELECT version FROM config_version WHERE id = 1 FOR UPDATE");
  if (!st.ok()) Rollback();
  return st;
}

Status PgDb::Commit() {
  Status st = Exec(std::string("NOTIFY ") + kPgConfigChannel);
  if (st.ok()) st = Exec("COMMIT");
  in_transaction_ = false;
  return st;
}

void PgDb::Rollback() {
  (void)Exec("ROLLBACK");
  in_transaction_ = false;
}

Status PgDb::Migrate(const std::vector<std::vector<std::string>>& migrations) {
  ERAGON_RETURN_IF_ERROR(Exec("BEGIN"));
  in_transaction_ = true;
  Status st = [&]() -> Status {
    ERAGON_RETURN_IF_ERROR(Exec(kMigrationLock));
    ERAGON_RETURN_IF_ERROR(
        Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    ERAGON_ASSIGN_OR_RETURN(auto res,
                            Run("SELECT COALESCE(MAX(version), 0) FROM schema_version", {}));
    const int64_t version = std::strtoll(PQgetvalue(res.get(), 0, 0), nullptr, 10);
    if (version > static_cast<int64_t>(migrations.size())) {
      return Status::Unavailable("config store schema version " + std::to_string(version) +
                                 " is newer than this build knows (" +
                                 std::to_string(migrations.size()) + "); upgrade eragond");
    }
    for (size_t k = static_cast<size_t>(version); k < migrations.size(); ++k) {
      for (const std::string& sql : migrations[k]) ERAGON_RETURN_IF_ERROR(Exec(sql));
      ERAGON_RETURN_IF_ERROR(
          Exec("INSERT INTO schema_version (version) VALUES (" + std::to_string(k + 1) + ")"));
    }
    return Exec("COMMIT");
  }();
  if (!st.ok()) Rollback();
  in_transaction_ = false;
  return st;
}

std::string PgTextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace eragon::config
