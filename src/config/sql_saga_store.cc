#include "config/sql_saga_store.h"

namespace eragon::config {
namespace {

constexpr char kSagaColumns[] = "name, definition, version, created_at, updated_at";
constexpr char kInstanceColumns[] =
    "saga, id, state, step, deadline_ms, has_pending, started_at, updated_at, definition, doc";

SagaDefinition ReadSaga(Query& q) {
  return SagaDefinition{q.Text(0), q.Text(1), q.Int(2), q.Int(3), q.Int(4)};
}

SagaInstanceRow ReadInstance(Query& q) {
  SagaInstanceRow r;
  r.saga = q.Text(0);
  r.id = q.Text(1);
  r.state = q.Text(2);
  r.step = q.Int(3);
  r.deadline_ms = q.Int(4);
  r.has_pending = q.Int(5) != 0;
  r.started_at = q.Int(6);
  r.updated_at = q.Int(7);
  r.definition = q.Text(8);
  r.doc = q.Text(9);
  return r;
}

class SqlSagaStore final : public SagaStore {
 public:
  SqlSagaStore(SqlDb* db, std::mutex* mu) : db_(db), mu_(mu) {}

  Result<std::optional<SagaDefinition>> GetSaga(const std::string& name) override {
    auto rows = Sagas(" WHERE name = ?", name);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<SagaDefinition>();
    return std::optional<SagaDefinition>(std::move(rows->front()));
  }

  Result<std::vector<SagaDefinition>> ListSagas() override { return Sagas("", ""); }

  Result<PutOutcome> PutSaga(const SagaDefinition& s) override {
    std::lock_guard lock(*mu_);
    bool exists = false;
    ERAGON_RETURN_IF_ERROR(Changing([&]() -> Status {
      {
        ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT 1 FROM sagas WHERE name = ?"));
        q->Bind(s.name);
        ERAGON_ASSIGN_OR_RETURN(exists, q->Step());
      }
      ERAGON_ASSIGN_OR_RETURN(
          auto q, db_->Prepare(exists ? "UPDATE sagas SET definition = ?, version = ?,"
                                        " created_at = ?, updated_at = ? WHERE name = ?"
                                      : "INSERT INTO sagas (definition, version, created_at,"
                                        " updated_at, name) VALUES (?, ?, ?, ?, ?)"));
      q->Bind(s.definition).Bind(s.version).Bind(s.created_at).Bind(s.updated_at).Bind(s.name);
      return q->Run();
    }));
    return exists ? PutOutcome::kReplaced : PutOutcome::kCreated;
  }

  Status DeleteSaga(const std::string& name) override {
    std::lock_guard lock(*mu_);
    return Changing([&]() -> Status {
      ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM sagas WHERE name = ?"));
      q->Bind(name);
      ERAGON_RETURN_IF_ERROR(q->Run());
      if (db_->Changes() == 0) return Status::NotFound("no saga '" + name + "'");
      return Status::Ok();
    });
  }

  Result<std::optional<SagaInstanceRow>> GetInstance(const std::string& saga,
                                                     const std::string& id) override {
    ERAGON_ASSIGN_OR_RETURN(auto rows, Instances("saga = ? AND id = ?", {saga, id}, 1));
    if (rows.empty()) return std::optional<SagaInstanceRow>();
    return std::optional<SagaInstanceRow>(std::move(rows.front()));
  }

  Result<std::vector<SagaInstanceRow>> ListInstances(const std::string& saga,
                                                     const std::string& state,
                                                     const std::string& after,
                                                     size_t limit) override {
    if (state.empty()) return Instances("saga = ? AND id > ? ORDER BY id", {saga, after}, limit);
    return Instances("saga = ? AND id > ? AND state = ? ORDER BY id", {saga, after, state}, limit);
  }

  Result<std::vector<SagaInstanceRow>> FindInstances(const std::string& id) override {
    return Instances("id = ? ORDER BY saga", {id}, SIZE_MAX);
  }

  Result<std::vector<SagaInstanceRow>> ListActiveInstances() override {
    return Instances("state = 'running' OR has_pending = 1 ORDER BY saga, id", {}, SIZE_MAX);
  }

  // UPDATE, then INSERT when no row changed (no INSERT OR REPLACE: portable SQL). The
  // engine is the only writer of instances, so the two cannot race.
  Status PutInstance(const SagaInstanceRow& r) override {
    std::lock_guard lock(*mu_);
    {
      ERAGON_ASSIGN_OR_RETURN(
          auto q, db_->Prepare("UPDATE saga_instances SET state = ?, step = ?, deadline_ms = ?,"
                               " has_pending = ?, started_at = ?, updated_at = ?,"
                               " definition = ?, doc = ? WHERE saga = ? AND id = ?"));
      BindInstance(*q, r);
      ERAGON_RETURN_IF_ERROR(q->Run());
      if (db_->Changes() != 0) return Status::Ok();
    }
    ERAGON_ASSIGN_OR_RETURN(
        auto q, db_->Prepare("INSERT INTO saga_instances (state, step, deadline_ms,"
                             " has_pending, started_at, updated_at, definition, doc, saga, id)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    BindInstance(*q, r);
    return q->Run();
  }

 private:
  static void BindInstance(Query& q, const SagaInstanceRow& r) {
    q.Bind(r.state).Bind(r.step).Bind(r.deadline_ms).Bind(int64_t{r.has_pending ? 1 : 0});
    q.Bind(r.started_at).Bind(r.updated_at).Bind(r.definition).Bind(r.doc).Bind(r.saga).Bind(r.id);
  }

  // Runs `change` and bumps the config version in one transaction.
  template <typename Fn>
  Status Changing(Fn change) {
    ERAGON_RETURN_IF_ERROR(db_->Begin());
    Status st = change();
    if (st.ok()) {
      auto bump = db_->Prepare("UPDATE config_version SET version = version + 1 WHERE id = 1");
      st = bump.ok() ? (*bump)->Run() : bump.status();
    }
    if (st.ok()) st = db_->Commit();
    if (!st.ok()) db_->Rollback();
    return st;
  }

  Result<std::vector<SagaDefinition>> Sagas(const std::string& where, const std::string& key) {
    std::lock_guard lock(*mu_);
    ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kSagaColumns +
                                                 " FROM sagas" + where + " ORDER BY name"));
    if (!where.empty()) q->Bind(key);
    std::vector<SagaDefinition> out;
    while (true) {
      ERAGON_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      out.push_back(ReadSaga(*q));
    }
    return out;
  }

  Result<std::vector<SagaInstanceRow>> Instances(const std::string& where,
                                                 const std::vector<std::string>& keys,
                                                 size_t limit) {
    std::lock_guard lock(*mu_);
    ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kInstanceColumns +
                                                 " FROM saga_instances WHERE " + where));
    for (const std::string& k : keys) q->Bind(k);
    std::vector<SagaInstanceRow> out;
    while (out.size() < limit) {
      ERAGON_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      out.push_back(ReadInstance(*q));
    }
    return out;
  }

  SqlDb* db_;
  std::mutex* mu_;
};

}  // namespace

std::unique_ptr<SagaStore> NewSqlSagaStore(SqlDb* db, std::mutex* mu) {
  return std::make_unique<SqlSagaStore>(db, mu);
}

const std::vector<std::string>& SagaMigration() {
  static const auto* sql = new std::vector<std::string>{
      "CREATE TABLE sagas (name TEXT PRIMARY KEY, definition TEXT NOT NULL,"
      " version BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
      "CREATE TABLE saga_instances (saga TEXT NOT NULL, id TEXT NOT NULL,"
      " state TEXT NOT NULL, step BIGINT NOT NULL, deadline_ms BIGINT NOT NULL,"
      " has_pending INTEGER NOT NULL, started_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
      " definition TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (saga, id))",
      "CREATE INDEX saga_instances_by_id ON saga_instances (id)",
      "CREATE INDEX saga_instances_active ON saga_instances (state, has_pending)",
  };
  return *sql;
}

}  // namespace eragon::config
