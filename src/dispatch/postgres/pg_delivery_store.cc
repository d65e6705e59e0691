#include "dispatch/postgres/pg_delivery_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <tuple>

#include "config/postgres/pg_db.h"
#include "core/hash.h"

namespace eragon::dispatch {
namespace {

using config::PgTextArray;

constexpr const char* kTables[] = {
    "SELECT pg_advisory_xact_lock(111546296461168)",
    "CREATE TABLE IF NOT EXISTS delivery_states (consumer TEXT NOT NULL, topic TEXT NOT NULL,"
    " part INTEGER NOT NULL, off BIGINT NOT NULL, state TEXT NOT NULL,"
    " PRIMARY KEY (consumer, topic, part, off))",
    "CREATE TABLE IF NOT EXISTS dead_letters (key TEXT COLLATE \"C\" PRIMARY KEY,"
    " consumer TEXT NOT NULL, event_type TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS dead_letters_by_route ON dead_letters (consumer, event_type, key)",
    "CREATE TABLE IF NOT EXISTS dedup_keys (consumer TEXT NOT NULL, event_type TEXT NOT NULL,"
    " key TEXT NOT NULL, claimed_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
    " PRIMARY KEY (consumer, event_type, key))",
    "CREATE TABLE IF NOT EXISTS redrive_marks (consumer TEXT NOT NULL, topic TEXT NOT NULL,"
    " dead_key TEXT COLLATE \"C\" NOT NULL, PRIMARY KEY (consumer, topic, dead_key))",
    // The event's partition: the node that delivers it delivers the redrive (NULL: any).
    "ALTER TABLE redrive_marks ADD COLUMN IF NOT EXISTS part INTEGER",
    "CREATE TABLE IF NOT EXISTS delivery_attempts (consumer TEXT NOT NULL, topic TEXT NOT NULL,"
    " part INTEGER NOT NULL, off BIGINT NOT NULL, seq BIGSERIAL, rec TEXT NOT NULL,"
    " PRIMARY KEY (consumer, topic, part, off, seq))",
};

constexpr int64_t kDedupSweepMs = 60'000;  // expired dedup keys are deleted this often

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(std::string_view bytes) { return HexEncode(bytes); }
std::string Unhex(const char* text) { return HexDecode(text).value_or(std::string()); }

// A dead letter's key: sorts by dead_at within (consumer, event type); unique with the id.
std::string DeadKey(std::string_view consumer, const DeadLetter& d) {
  char at[24];
  std::snprintf(at, sizeof at, "%020lld", static_cast<long long>(d.dead_at));
  std::string k(consumer);
  k += '\x1f';
  k += d.event.event_type;
  k += '\x1f';
  k += at;
  k += '\x1f';
  k += d.event.id;
  return k;
}

std::string Ints(const std::vector<int64_t>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "}";
}

// A statement's parameters, numbered as they are added.
struct Params {
  std::vector<std::string> values;
  std::string Add(std::string v) {
    values.push_back(std::move(v));
    return "$" + std::to_string(values.size());
  }
};

// A batch resolved to what each key ends as (a batch may change a key twice), by table.
struct Resolved {
  std::map<std::tuple<std::string, std::string, int64_t, int64_t>, std::string> states;
  std::map<std::string, std::optional<std::tuple<std::string, std::string, std::string>>> dead;
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<int64_t, int64_t>> dedup;
  // (consumer, topic, dead key) -> marked (and the event's partition, -1: unknown)
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<bool, int64_t>> marks;
  std::vector<std::tuple<std::string, std::string, int64_t, int64_t, std::string>> attempts;
};

Resolved Resolve(const DeliveryBatch& batch) {
  Resolved r;
  batch.ForEach([&](const DeliveryOp& op) {
    const std::string consumer(op.consumer), scope(op.scope);
    const auto part = static_cast<int64_t>(op.partition);
    const auto off = static_cast<int64_t>(op.offset);
    switch (op.kind) {
      case DeliveryOp::Kind::kPutState:
        r.states[{consumer, scope, part, off}] = Hex(op.state);
        break;
      case DeliveryOp::Kind::kPutDead:
        r.dead[DeadKey(op.consumer, *op.dead)] =
            std::tuple{consumer, op.dead->event.event_type, Hex(EncodeDeadLetter(*op.dead))};
        break;
      case DeliveryOp::Kind::kRemoveDead:
        r.dead[std::string(op.key)] = std::nullopt;
        break;
      case DeliveryOp::Kind::kClaimDedup:
        r.dedup[{consumer, scope, Hex(op.key)}] = {op.claimed_at, op.expires_at};
        break;
      case DeliveryOp::Kind::kMarkRedrive:
      case DeliveryOp::Kind::kUnmarkRedrive:
        r.marks[{consumer, scope, std::string(op.key)}] = {
            op.kind == DeliveryOp::Kind::kMarkRedrive,
            op.kind == DeliveryOp::Kind::kMarkRedrive && op.partition != kNoPartition ? part : -1};
        break;
      case DeliveryOp::Kind::kAddAttempt:
        r.attempts.emplace_back(consumer, scope, part, off, Hex(op.state));
        break;
    }
  });
  return r;
}

// One data-modifying CTE per non-empty kind; keys are resolved, so none touches a row
// another one does.
void AddStates(const Resolved& r, Params* p, std::vector<std::string>* ctes) {
  if (r.states.empty()) return;
  std::vector<std::string> c, t, s;
  std::vector<int64_t> part, off;
  for (const auto& [k, v] : r.states) {
    c.push_back(std::get<0>(k));
    t.push_back(std::get<1>(k));
    part.push_back(std::get<2>(k));
    off.push_back(std::get<3>(k));
    s.push_back(v);
  }
  ctes->push_back(
      "INSERT INTO delivery_states (consumer, topic, part, off, state) SELECT * FROM unnest(" +
      p->Add(PgTextArray(c)) + "::text[], " + p->Add(PgTextArray(t)) + "::text[], " +
      p->Add(Ints(part)) + "::int[], " + p->Add(Ints(off)) + "::bigint[], " +
      p->Add(PgTextArray(s)) +
      "::text[]) ON CONFLICT (consumer, topic, part, off) DO UPDATE SET state = EXCLUDED.state");
}

void AddDead(const Resolved& r, Params* p, std::vector<std::string>* ctes) {
  std::vector<std::string> keys, consumers, types, bodies, removed;
  for (const auto& [key, v] : r.dead) {
    if (!v) {
      removed.push_back(key);
      continue;
    }
    keys.push_back(key);
    consumers.push_back(std::get<0>(*v));
    types.push_back(std::get<1>(*v));
    bodies.push_back(std::get<2>(*v));
  }
  if (!keys.empty()) {
    ctes->push_back(
        "INSERT INTO dead_letters (key, consumer, event_type, body) SELECT * FROM unnest(" +
        p->Add(PgTextArray(keys)) + "::text[], " + p->Add(PgTextArray(consumers)) + "::text[], " +
        p->Add(PgTextArray(types)) + "::text[], " + p->Add(PgTextArray(bodies)) +
        "::text[]) ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body");
  }
  if (!removed.empty()) {
    ctes->push_back("DELETE FROM dead_letters WHERE key = ANY(" + p->Add(PgTextArray(removed)) +
                    "::text[])");
  }
}

void AddDedup(const Resolved& r, Params* p, std::vector<std::string>* ctes) {
  if (r.dedup.empty()) return;
  std::vector<std::string> c, t, k;
  std::vector<int64_t> claimed, expires;
  for (const auto& [key, v] : r.dedup) {
    c.push_back(std::get<0>(key));
    t.push_back(std::get<1>(key));
    k.push_back(std::get<2>(key));
    claimed.push_back(v.first);
    expires.push_back(v.second);
  }
  ctes->push_back(
      "INSERT INTO dedup_keys (consumer, event_type, key, claimed_at, expires_at)"
      " SELECT * FROM unnest(" +
      p->Add(PgTextArray(c)) + "::text[], " + p->Add(PgTextArray(t)) + "::text[], " +
      p->Add(PgTextArray(k)) + "::text[], " + p->Add(Ints(claimed)) + "::bigint[], " +
      p->Add(Ints(expires)) +
      "::bigint[]) ON CONFLICT (consumer, event_type, key) DO UPDATE SET"
      " claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at");
}

void AddMarks(const Resolved& r, Params* p, std::vector<std::string>* ctes) {
  std::vector<std::string> mc, mt, mk, uc, ut, uk;
  std::vector<int64_t> mp;
  for (const auto& [key, mark] : r.marks) {
    (mark.first ? mc : uc).push_back(std::get<0>(key));
    (mark.first ? mt : ut).push_back(std::get<1>(key));
    (mark.first ? mk : uk).push_back(std::get<2>(key));
    if (mark.first) mp.push_back(mark.second);
  }
  if (!mc.empty()) {
    ctes->push_back(
        "INSERT INTO redrive_marks (consumer, topic, dead_key, part)"
        " SELECT consumer, topic, dead_key, NULLIF(part, -1) FROM unnest(" +
        p->Add(PgTextArray(mc)) + "::text[], " + p->Add(PgTextArray(mt)) + "::text[], " +
        p->Add(PgTextArray(mk)) + "::text[], " + p->Add(Ints(mp)) +
        "::int[]) AS t(consumer, topic, dead_key, part) ON CONFLICT DO NOTHING");
  }
  if (!uc.empty()) {
    ctes->push_back("DELETE FROM redrive_marks m USING unnest(" + p->Add(PgTextArray(uc)) +
                    "::text[], " + p->Add(PgTextArray(ut)) + "::text[], " +
                    p->Add(PgTextArray(uk)) +
                    "::text[]) AS u(consumer, topic, dead_key) WHERE m.consumer = u.consumer"
                    " AND m.topic = u.topic AND m.dead_key = u.dead_key");
  }
}

void AddAttempts(const Resolved& r, Params* p, std::vector<std::string>* ctes) {
  if (r.attempts.empty()) return;
  std::vector<std::string> c, t, rec;
  std::vector<int64_t> part, off;
  for (const auto& [consumer, topic, pa, of, bytes] : r.attempts) {
    c.push_back(consumer);
    t.push_back(topic);
    part.push_back(pa);
    off.push_back(of);
    rec.push_back(bytes);
  }
  ctes->push_back(
      "INSERT INTO delivery_attempts (consumer, topic, part, off, rec)"
      " SELECT c, t, p, o, r FROM unnest(" +
      p->Add(PgTextArray(c)) + "::text[], " + p->Add(PgTextArray(t)) + "::text[], " +
      p->Add(Ints(part)) + "::int[], " + p->Add(Ints(off)) + "::bigint[], " +
      p->Add(PgTextArray(rec)) + "::text[]) WITH ORDINALITY AS u(c, t, p, o, r, n) ORDER BY n");
}

class PgDeliveryStore final : public DeliveryStore {
 public:
  PgDeliveryStore(std::unique_ptr<config::PgDb> writer, std::unique_ptr<config::PgDb> reader)
      : writer_(std::move(writer)), reader_(std::move(reader)) {}

  Status Write(const DeliveryBatch& batch, bool) override {
    if (batch.empty()) return Status::Ok();
    Resolved r = Resolve(batch);
    Params p;
    std::vector<std::string> ctes;
    AddStates(r, &p, &ctes);
    AddDead(r, &p, &ctes);
    AddDedup(r, &p, &ctes);
    AddMarks(r, &p, &ctes);
    AddAttempts(r, &p, &ctes);
    std::string sql = "WITH ";
    for (size_t i = 0; i < ctes.size(); ++i) {
      sql += (i ? ", w" : "w") + std::to_string(i) + " AS (" + ctes[i] + ")";
    }
    sql += " SELECT 1";
    std::lock_guard lock(writer_mu_);
    ERAGON_RETURN_IF_ERROR(writer_->Run(sql, p.values).status());
    SweepDedupLocked();
    return Status::Ok();
  }
  // Every Write that returned is committed, and PostgreSQL's commits are durable.
  Status Sync() override { return Status::Ok(); }

  std::optional<DeliveryState> GetState(const std::string& consumer, const std::string& topic,
                                        uint32_t partition, uint64_t offset) override {
    auto res = Read(
        "SELECT state FROM delivery_states WHERE consumer = $1 AND topic = $2 AND part = $3"
        " AND off = $4",
        {consumer, topic, std::to_string(partition), std::to_string(offset)});
    if (!res || PQntuples(res.get()) == 0) return std::nullopt;
    return DecodeDeliveryState(Unhex(PQgetvalue(res.get(), 0, 0)));
  }
  uint64_t StateEnd(const std::string& consumer, const std::string& topic, uint32_t partition,
                    uint64_t from) override {
    auto res = Read(
        "SELECT max(off) FROM delivery_states WHERE consumer = $1 AND topic = $2 AND part = $3"
        " AND off >= $4",
        {consumer, topic, std::to_string(partition), std::to_string(from)});
    if (!res || PQgetisnull(res.get(), 0, 0)) return 0;
    return std::strtoull(PQgetvalue(res.get(), 0, 0), nullptr, 10) + 1;
  }
  bool DedupClaimed(const std::string& consumer, const std::string& event_type,
                    const std::string& key, int64_t now_ms) override {
    auto res = Read(
        "SELECT 1 FROM dedup_keys WHERE consumer = $1 AND event_type = $2 AND key = $3"
        " AND expires_at > $4",
        {consumer, event_type, Hex(key), std::to_string(now_ms)});
    return res && PQntuples(res.get()) > 0;
  }
  std::vector<DeadLetter> ListDead(const std::string& consumer, const std::string& event_type,
                                   const std::string& after_key, size_t limit) override {
    return DeadLetters(Read(
        "SELECT key, body FROM dead_letters WHERE consumer = $1 AND event_type = $2"
        " AND key > $3 ORDER BY key LIMIT $4",
        {consumer, event_type, after_key, std::to_string(std::min<size_t>(limit, INT32_MAX))}));
  }
  uint64_t CountDead(const std::string& consumer) override {
    auto res = Read("SELECT count(*) FROM dead_letters WHERE consumer = $1", {consumer});
    return res ? std::strtoull(PQgetvalue(res.get(), 0, 0), nullptr, 10) : 0;
  }
  std::vector<DeadLetter> ListRedrives(const std::string& consumer, const std::string& topic,
                                       size_t limit,
                                       const std::vector<uint32_t>* partitions) override {
    std::string sql =
        "SELECT d.key, d.body FROM redrive_marks m JOIN dead_letters d ON d.key = m.dead_key"
        " WHERE m.consumer = $1 AND m.topic = $2";
    std::vector<std::string> params{consumer, topic,
                                    std::to_string(std::min<size_t>(limit, INT32_MAX))};
    if (partitions != nullptr) {
      std::vector<int64_t> parts(partitions->begin(), partitions->end());
      sql += " AND (m.part IS NULL OR m.part = ANY($4::int[]))";
      params.push_back(Ints(parts));
    }
    return DeadLetters(Read(sql + " ORDER BY m.dead_key LIMIT $3", params));
  }
  std::vector<AttemptRecord> Attempts(const std::string& consumer, const std::string& topic,
                                      uint32_t partition, uint64_t offset) override;
  Status RemoveAttempts(const std::string& consumer, const std::string& topic, uint32_t partition,
                        uint64_t from, uint64_t to) override {
    return Exec(
        "DELETE FROM delivery_attempts WHERE consumer = $1 AND topic = $2 AND part = $3"
        " AND off >= $4 AND off < $5",
        {consumer, topic, std::to_string(partition), std::to_string(from), std::to_string(to)});
  }
  Status RemoveStates(const std::string& consumer, const std::string& topic, uint32_t partition,
                      uint64_t from, uint64_t to) override {
    return Exec(
        "DELETE FROM delivery_states WHERE consumer = $1 AND topic = $2 AND part = $3"
        " AND off >= $4 AND off < $5",
        {consumer, topic, std::to_string(partition), std::to_string(from), std::to_string(to)});
  }
  Status RemoveConsumerType(const std::string& consumer, const std::string& event_type) override {
    return Exec(
        "WITH d AS (DELETE FROM dead_letters WHERE consumer = $1 AND event_type = $2)"
        " DELETE FROM dedup_keys WHERE consumer = $1 AND event_type = $2",
        {consumer, event_type});
  }
  Status RemoveConsumerTopic(const std::string& consumer, const std::string& topic) override {
    return Exec(
        "WITH s AS (DELETE FROM delivery_states WHERE consumer = $1 AND topic = $2),"
        " a AS (DELETE FROM delivery_attempts WHERE consumer = $1 AND topic = $2)"
        " DELETE FROM redrive_marks WHERE consumer = $1 AND topic = $2",
        {consumer, topic});
  }
  Status Close() override { return Status::Ok(); }

 private:
  using Res = std::shared_ptr<PGresult>;

  // A lookup; null when PostgreSQL could not answer (the caller's "none").
  Res Read(const std::string& sql, const std::vector<std::string>& params) {
    std::lock_guard lock(reader_mu_);
    Result<Res> res = reader_->Run(sql, params);
    return res.ok() ? *res : nullptr;
  }
  Status Exec(const std::string& sql, const std::vector<std::string>& params) {
    std::lock_guard lock(writer_mu_);
    return writer_->Run(sql, params).status();
  }
  static std::vector<DeadLetter> DeadLetters(const Res& res) {
    std::vector<DeadLetter> out;
    for (int row = 0; res && row < PQntuples(res.get()); ++row) {
      std::optional<DeadLetter> d = DecodeDeadLetter(Unhex(PQgetvalue(res.get(), row, 1)));
      if (!d) continue;
      d->key.assign(PQgetvalue(res.get(), row, 0), PQgetlength(res.get(), row, 0));
      out.push_back(std::move(*d));
    }
    return out;
  }
  void SweepDedupLocked() {
    const int64_t now = NowMs();
    if (now - last_sweep_ms_ < kDedupSweepMs) return;
    last_sweep_ms_ = now;
    (void)writer_->Run("DELETE FROM dedup_keys WHERE expires_at <= $1", {std::to_string(now)});
  }

  std::mutex writer_mu_;
  std::unique_ptr<config::PgDb> writer_;
  std::mutex reader_mu_;
  std::unique_ptr<config::PgDb> reader_;
  int64_t last_sweep_ms_ = 0;
};

std::vector<AttemptRecord> PgDeliveryStore::Attempts(const std::string& consumer,
                                                     const std::string& topic, uint32_t partition,
                                                     uint64_t offset) {
  Res res = Read(
      "SELECT rec FROM delivery_attempts WHERE consumer = $1 AND topic = $2 AND part = $3"
      " AND off = $4 ORDER BY seq DESC LIMIT $5",
      {consumer, topic, std::to_string(partition), std::to_string(offset),
       std::to_string(kAttemptsKept)});
  std::string run;  // oldest first
  for (int row = res ? PQntuples(res.get()) - 1 : -1; row >= 0; --row) {
    run += Unhex(PQgetvalue(res.get(), row, 0));
  }
  return DecodeAttemptRecords(run);
}

}  // namespace

Result<std::unique_ptr<DeliveryStore>> OpenPgDeliveryStore(const std::string& url) {
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<config::PgDb> writer,
                          config::PgDb::Open(url, "eragond deliveries"));
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<config::PgDb> reader,
                          config::PgDb::Open(url, "eragond delivery lookups"));
  ERAGON_RETURN_IF_ERROR(writer->Exec("BEGIN"));
  for (const char* sql : kTables) {
    if (Status st = writer->Exec(sql); !st.ok()) {
      (void)writer->Exec("ROLLBACK");
      return st;
    }
  }
  ERAGON_RETURN_IF_ERROR(writer->Exec("COMMIT"));
  return std::unique_ptr<DeliveryStore>(new PgDeliveryStore(std::move(writer), std::move(reader)));
}

}  // namespace eragon::dispatch
