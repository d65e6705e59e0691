#include "index/postgres/pg_id_sql.h"

#include <cstdlib>

namespace eragon::index::pg {
namespace {

using config::PgTextArray;

constexpr const char* kTables[] = {
    "SELECT pg_advisory_xact_lock(111546296461167)",
    "CREATE TABLE IF NOT EXISTS event_ids ("
    " id TEXT NOT NULL, producer TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    " claim TEXT NOT NULL, claimed_ms BIGINT NOT NULL, event_type TEXT, topic TEXT,"
    " part INTEGER, log_offset BIGINT, PRIMARY KEY (id, producer))",
    "CREATE TABLE IF NOT EXISTS event_types_stored (event_type TEXT PRIMARY KEY)",
    // The retention sweep deletes by location.
    "CREATE INDEX IF NOT EXISTS event_ids_location ON event_ids (topic, part, log_offset)",
    // ... and claims a dead node left without a location (only those rows are in it).
    ("CREATE INDEX IF NOT EXISTS event_ids_claims ON event_ids (claimed_ms)"
     " WHERE log_offset IS NULL"),
};

// Claims: a new row, or one left without a location by a node that died before
// $6; then, per input row, whether it was claimed and what the stored row holds (the
// snapshot before the statement, which is what a row not claimed was).
constexpr char kClaim[] =
    "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
    "   AS t(id, producer, fingerprint, claim)),"
    " claimed AS (INSERT INTO event_ids AS e (id, producer, fingerprint, claim, claimed_ms)"
    "   SELECT id, producer, fingerprint, claim, $5 FROM input"
    "   ON CONFLICT (id, producer) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,"
    "     claim = EXCLUDED.claim, claimed_ms = EXCLUDED.claimed_ms"
    "   WHERE e.log_offset IS NULL AND e.claimed_ms < $6"
    "   RETURNING e.id, e.producer)"
    " SELECT i.id, i.producer, c.id IS NOT NULL, e.fingerprint, e.log_offset IS NOT NULL"
    " FROM input i LEFT JOIN claimed c ON c.id = i.id AND c.producer = i.producer"
    " LEFT JOIN event_ids e ON e.id = i.id AND e.producer = i.producer";

constexpr char kCommit[] =
    "INSERT INTO event_ids AS e (id, producer, fingerprint, claim, claimed_ms, event_type,"
    "   topic, part, log_offset)"
    " SELECT id, producer, fingerprint, claim, $9, event_type, topic, part, log_offset"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
    "   $7::int[], $8::bigint[])"
    "   AS t(id, producer, fingerprint, claim, event_type, topic, part, log_offset)"
    " ON CONFLICT (id, producer) DO UPDATE SET event_type = EXCLUDED.event_type,"
    "   topic = EXCLUDED.topic, part = EXCLUDED.part, log_offset = EXCLUDED.log_offset"
    " WHERE e.claim = EXCLUDED.claim";

// kCommit and the types not yet stored ($10) in one statement.
constexpr char kCommitWithTypes[] =
    "WITH t AS (INSERT INTO event_types_stored (event_type)"
    "   SELECT DISTINCT unnest($10::text[]) ON CONFLICT DO NOTHING)";

constexpr char kAbort[] =
    "DELETE FROM event_ids e USING unnest($1::text[], $2::text[], $3::text[])"
    "   AS t(id, producer, claim)"
    " WHERE e.id = t.id AND e.producer = t.producer AND e.claim = t.claim"
    "   AND e.log_offset IS NULL";

// Rows whose event is below its partition's first retained offset.
constexpr char kSweep[] =
    "DELETE FROM event_ids e USING unnest($1::text[], $2::int[], $3::bigint[])"
    "   AS t(topic, part, start)"
    " WHERE e.topic = t.topic AND e.part = t.part AND e.log_offset < t.start";

// Claims left without a location long ago (their node died mid-publish; any node could
// have taken them over since stale_claim_ms).
constexpr char kSweepClaims[] =
    "DELETE FROM event_ids WHERE log_offset IS NULL AND claimed_ms < $1";

std::string NumberArray(const std::vector<std::string>& numbers) {
  std::string out = "{";
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (i > 0) out += ',';
    out += numbers[i];
  }
  return out + "}";
}

bool Bool(const PGresult* res, int row, int col) { return PQgetvalue(res, row, col)[0] == 't'; }

std::string Text(const PGresult* res, int row, int col) {
  return std::string(PQgetvalue(res, row, col), PQgetlength(res, row, col));
}

}  // namespace

Status CreateTables(config::PgDb* db) {
  ERAGON_RETURN_IF_ERROR(db->Exec("BEGIN"));
  for (const char* sql : kTables) {
    if (Status st = db->Exec(sql); !st.ok()) {
      (void)db->Exec("ROLLBACK");
      return st;
    }
  }
  return db->Exec("COMMIT");
}

Result<std::map<Key, ClaimOutcome>> ClaimRows(config::PgDb* db, const std::vector<ClaimRow>& rows,
                                              int64_t now_ms, int64_t stale_before_ms) {
  std::vector<std::string> ids, producers, fps, claims;
  std::map<Key, const ClaimRow*> by_key;
  for (const ClaimRow& r : rows) {
    producers.push_back(r.key.first);
    ids.push_back(r.key.second);
    fps.push_back(r.fingerprint);
    claims.push_back(r.claim);
    by_key[r.key] = &r;
  }
  ERAGON_ASSIGN_OR_RETURN(
      auto res, db->Run(kClaim, {PgTextArray(ids), PgTextArray(producers), PgTextArray(fps),
                                 PgTextArray(claims), std::to_string(now_ms),
                                 std::to_string(stale_before_ms)}));
  std::map<Key, ClaimOutcome> out;
  for (int row = 0; row < PQntuples(res.get()); ++row) {
    Key key{Text(res.get(), row, 1), Text(res.get(), row, 0)};
    auto it = by_key.find(key);
    if (it == by_key.end()) continue;
    ClaimOutcome o = ClaimOutcome::kInFlight;  // a row another node holds, or one that
    if (Bool(res.get(), row, 2)) {             // appeared after the statement's snapshot
      o = ClaimOutcome::kNew;
    } else if (!PQgetisnull(res.get(), row, 3)) {
      if (Text(res.get(), row, 3) != it->second->fingerprint) {
        o = ClaimOutcome::kConflict;
      } else if (Bool(res.get(), row, 4)) {
        o = ClaimOutcome::kDuplicate;
      }
    }
    out[key] = o;
  }
  return out;
}

Status CommitRows(config::PgDb* db, const std::vector<CommitRow>& rows, int64_t now_ms,
                  const std::vector<std::string>& new_types) {
  std::vector<std::string> ids, producers, fps, claims, types, topics, parts, offsets;
  for (const CommitRow& r : rows) {
    producers.push_back(r.key.first);
    ids.push_back(r.key.second);
    fps.push_back(r.fingerprint);
    claims.push_back(r.claim);
    types.push_back(r.event_type);
    topics.push_back(r.loc.topic);
    parts.push_back(std::to_string(r.loc.partition));
    offsets.push_back(std::to_string(r.loc.offset));
  }
  std::vector<std::string> params{
      PgTextArray(ids),    PgTextArray(producers), PgTextArray(fps),
      PgTextArray(claims), PgTextArray(types),     PgTextArray(topics),
      NumberArray(parts),  NumberArray(offsets),   std::to_string(now_ms)};
  if (new_types.empty()) return db->Run(kCommit, params).status();
  params.push_back(PgTextArray(new_types));
  return db->Run(std::string(kCommitWithTypes) + " " + kCommit, params).status();
}

Status AbortRows(config::PgDb* db, const std::vector<ClaimRow>& rows) {
  std::vector<std::string> ids, producers, claims;
  for (const ClaimRow& r : rows) {
    producers.push_back(r.key.first);
    ids.push_back(r.key.second);
    claims.push_back(r.claim);
  }
  return db->Run(kAbort, {PgTextArray(ids), PgTextArray(producers), PgTextArray(claims)}).status();
}

Result<int64_t> DeleteBelow(config::PgDb* db, const std::vector<RetainedFrom>& starts) {
  std::vector<std::string> topics, parts, offsets;
  for (const RetainedFrom& r : starts) {
    topics.push_back(r.topic);
    parts.push_back(std::to_string(r.partition));
    offsets.push_back(std::to_string(r.start));
  }
  ERAGON_RETURN_IF_ERROR(
      db->Run(kSweep, {PgTextArray(topics), NumberArray(parts), NumberArray(offsets)}).status());
  return db->Changes();
}

Result<int64_t> DeleteClaimsBefore(config::PgDb* db, int64_t before_ms) {
  ERAGON_RETURN_IF_ERROR(db->Run(kSweepClaims, {std::to_string(before_ms)}).status());
  return db->Changes();
}

Result<std::vector<Holder>> FindRows(config::PgDb* db, const std::string& id,
                                     const std::string* producer) {
  std::string sql =
      "SELECT producer, topic, part, log_offset FROM event_ids"
      " WHERE id = $1 AND log_offset IS NOT NULL";
  std::vector<std::string> params{id};
  if (producer != nullptr) {
    sql += " AND producer = $2";
    params.push_back(*producer);
  }
  ERAGON_ASSIGN_OR_RETURN(auto res, db->Run(sql + " ORDER BY producer", params));
  std::vector<Holder> out;
  for (int row = 0; row < PQntuples(res.get()); ++row) {
    Holder h;
    h.producer = Text(res.get(), row, 0);
    h.loc.topic = Text(res.get(), row, 1);
    h.loc.partition =
        static_cast<uint32_t>(std::strtoul(PQgetvalue(res.get(), row, 2), nullptr, 10));
    h.loc.offset = std::strtoull(PQgetvalue(res.get(), row, 3), nullptr, 10);
    out.push_back(std::move(h));
  }
  return out;
}

Result<bool> TypeStored(config::PgDb* db, const std::string& event_type) {
  ERAGON_ASSIGN_OR_RETURN(
      auto res, db->Run("SELECT 1 FROM event_types_stored WHERE event_type = $1", {event_type}));
  return PQntuples(res.get()) > 0;
}

}  // namespace eragon::index::pg
