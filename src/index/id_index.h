// IdIndex: event id -> where the event lives in the log, for publish idempotency and
// GET /v1/events/{id} without scanning.
//
// Storage: RocksDB in <data-dir>/index, written without its WAL. The log is the source
// of truth: each write batch also records, per (topic, partition), the offset up to
// which the index covers the log (the checkpoint). RocksDB persists a prefix of the
// write batches, so after a crash Open() re-reads the log from the checkpoints and
// re-indexes what was missing. A crash between log append and index write therefore
// never lets a retried publish store an event twice.
//
// Concurrency: Claim/Commit/Abort/Find are thread-safe. Claims of one id serialise on a
// lock stripe, and an id stays in memory from Claim until its index write is persisted
// in RocksDB's memtable, so no check can miss it in between.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "channel/channel.h"
#include "eragon/event.h"
#include "eragon/status.h"

namespace rocksdb {
class Env;
}

namespace eragon::index {

// SHA-256 (first 16 bytes) over event_type, entity_id and data: what "same content"
// means for publish idempotency.
using Fingerprint = std::array<uint8_t, 16>;
Fingerprint FingerprintOf(const Event& e);

struct Location {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  bool operator==(const Location&) const = default;
};

// A producer's event with a given id.
struct Holder {
  std::string producer;
  Location loc;
};

// Ids are scoped per producer: every operation names the (id, producer) pair, and another
// producer's event with the same id is unrelated to it.
enum class ClaimOutcome {
  kNew,        // reserved: the caller must append, then Commit or Abort
  kDuplicate,  // the producer stored this id already with the same content: store nothing
  kConflict,   // the producer stored this id already with other content: 409
  kInFlight,   // a publish of the same id has not completed yet: try again shortly
  // The index could not be read (an I/O error under RocksDB): whether the id is stored is
  // unknown, so nothing is reserved and the publish must fail (503), never be taken as new.
  kUnavailable,
};

// One id of a batch to claim (ClaimMany).
struct ClaimRequest {
  std::string id;
  Fingerprint fp;
  std::string producer;
};

// The id index: RocksDB in the data dir on a single node (Open below), PostgreSQL in a
// cluster (index/postgres/pg_id_index.h), where every node's publishes share it.
class IdIndex {
 public:
  // Opens (creating) the RocksDB index in `dir` and brings it up to date with `logs`.
  // `logs` must outlive the index. `env` (null: RocksDB's default) must outlive it too;
  // tests pass one over a fault-injecting file system (testing/fault_injection_fs.h).
  static Result<std::unique_ptr<IdIndex>> Open(const std::string& dir, channel::Channel* logs,
                                               rocksdb::Env* env = nullptr);
  virtual ~IdIndex() = default;

  virtual ClaimOutcome Claim(const std::string& id, const Fingerprint& fp,
                             const std::string& producer) = 0;
  // Claim() of each request, in order (the requests name distinct (id, producer) pairs).
  // PostgreSQL claims them in one round trip.
  virtual std::vector<ClaimOutcome> ClaimMany(std::span<const ClaimRequest> requests);
  // Claim() for an id this server has just generated (a UUIDv7: 74 random bits): it
  // cannot be stored yet, so it is reserved without a lookup. Always kNew; the caller
  // must append, then Commit or Abort, as after Claim().
  virtual void ClaimGenerated(const std::string& id, const Fingerprint& fp,
                              const std::string& producer) = 0;
  // The claimed event is durable in the log at `loc`. Makes it visible to Find (on this
  // node at once; see AfterCommits for the others).
  virtual void Commit(const std::string& id, const std::string& producer,
                      const std::string& event_type, const Location& loc) = 0;
  // Calls `done` once the commits made so far are visible to every node's Find and Claim:
  // at once for RocksDB; for PostgreSQL once they are written there, or their first write
  // failed (they are written again until it works). From any thread.
  virtual void AfterCommits(std::function<void()> done) { done(); }
  // The append failed: forget the claim.
  virtual void Abort(const std::string& id, const std::string& producer) = 0;

  // Where the producer's event with this id is, if it was stored and is still retained
  // (empty when not). A read error of the index is an error (kUnavailable or
  // kCorruption), never "not stored".
  virtual Result<std::optional<Location>> Find(const std::string& id,
                                               const std::string& producer) = 0;
  // Every producer's retained event with this id, by producer name; errors as Find.
  virtual Result<std::vector<Holder>> FindAll(const std::string& id) = 0;
  // Whether any event of this type was ever stored (routes may not change topic then).
  virtual bool HasEventsOfType(const std::string& event_type) = 0;

  // Persists everything committed so far. Idempotent.
  virtual Status Close() = 0;
  // Forgets the ids of events the channel no longer retains, so they are free again
  // (API.md: idempotent "for as long as the event is retained"); returns how many. The
  // data dir's index does that as the log drops segments (nothing to do here); the
  // cluster's (PostgreSQL) deletes its rows below each partition's start.
  virtual Result<uint64_t> SweepExpired() { return uint64_t{0}; }
};

}  // namespace eragon::index
