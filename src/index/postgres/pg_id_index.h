// PgIdIndex: the id index of a cluster, in PostgreSQL (table event_ids), shared by every
// node: a publish through any node is idempotent by (producer, id) across the cluster, and
// GET /v1/events/{id} finds an event whichever node stored it.
//
// A row is claimed (log_offset NULL) before the append and gets its location after it.
// One writer thread batches what goes to PostgreSQL: the claims of every concurrent
// request in one statement (callers wait for it), the commits and aborts in one statement
// each. Ids the server generated are not claimed in PostgreSQL (nobody else can know
// them); their rows are written with the commit.
//
// Failures: a claim that cannot be checked (PostgreSQL unreachable) is kUnavailable
// (the publish answers 503, nothing appended). A commit whose write fails is kept in
// memory (this node's Find and Claim see it) and written again every 500 ms until it
// works; the event itself is already durable in the channel. A claim left behind by a
// node that died between append and commit is taken over after `stale_claim_ms`; if that
// node had appended the record, the channel holds it twice under one id (at-least-once).
#pragma once

#include <memory>
#include <string>

#include "index/id_index.h"

namespace eragon::index {

struct PgIdIndexOptions {
  // A claim without a location older than this belongs to a node that died mid-publish.
  int64_t stale_claim_ms = 60'000;
  // How long a ClaimMany waits for PostgreSQL before it answers kUnavailable.
  int64_t claim_wait_ms = 5'000;
  // SweepExpired deletes claims without a location older than this (long past
  // stale_claim_ms: nobody waits on them), besides the rows of events no longer retained.
  int64_t forget_claims_after_ms = 3'600'000;
};

// Connects (two connections: the writer's and the lookups'), creates the tables when
// missing, and starts the writer. `logs` must outlive the index.
Result<std::unique_ptr<IdIndex>> OpenPgIdIndex(const std::string& url, channel::Channel* logs,
                                               PgIdIndexOptions options = {});

}  // namespace eragon::index
