// The SQL of PgIdIndex: its tables, and the batched claim, commit and abort statements
// (each one statement over unnest()ed arrays, so a batch is one round trip).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/postgres/pg_db.h"
#include "index/id_index.h"

namespace eragon::index::pg {

// (producer, id): how rows are keyed.
using Key = std::pair<std::string, std::string>;

// Creates the tables when missing (under an advisory lock: nodes start together).
Status CreateTables(config::PgDb* db);

struct ClaimRow {
  Key key;
  std::string fingerprint;  // hex
  std::string claim;        // this claim's token
};
// Claims the rows (new, or left by a dead node before `stale_before_ms`); the outcome
// per key. An error when the statement failed (nothing is claimed then).
Result<std::map<Key, ClaimOutcome>> ClaimRows(config::PgDb* db, const std::vector<ClaimRow>& rows,
                                              int64_t now_ms, int64_t stale_before_ms);

struct CommitRow {
  Key key;
  std::string fingerprint;  // hex
  std::string claim;
  std::string event_type;
  Location loc;
};
// Writes the locations (rows of generated ids are inserted; a claimed row only while it
// still holds this claim) and records `new_types` (the rows' types not known to be stored
// yet), in one statement: one round trip, and the types land with their ids or not at all.
Status CommitRows(config::PgDb* db, const std::vector<CommitRow>& rows, int64_t now_ms,
                  const std::vector<std::string>& new_types);

// Deletes the rows still holding these claims.
Status AbortRows(config::PgDb* db, const std::vector<ClaimRow>& rows);

// Lookups: the located rows of (producer, id), or of id for every producer.
Result<std::vector<Holder>> FindRows(config::PgDb* db, const std::string& id,
                                     const std::string* producer);
// Where a partition's retained events start.
struct RetainedFrom {
  std::string topic;
  uint32_t partition = 0;
  uint64_t start = 0;
};
// Deletes the rows located below their partition's start; returns how many.
Result<int64_t> DeleteBelow(config::PgDb* db, const std::vector<RetainedFrom>& starts);

// Deletes the claims without a location made before before_ms; returns how many.
Result<int64_t> DeleteClaimsBefore(config::PgDb* db, int64_t before_ms);

Result<bool> TypeStored(config::PgDb* db, const std::string& event_type);

}  // namespace eragon::index::pg
