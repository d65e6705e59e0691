// PgDeliveryStore: the DeliveryStore of a cluster, in the PostgreSQL every node shares:
// delivery states, dead letters, dedup keys, redrive marks and attempt histories. Any
// node answers GET /v1/events/{id} with every consumer's state, lists and redrives dead
// letters, and a node that takes a partition over sees the dedup keys and states the
// previous owner wrote.
//
// Write(batch) is one statement (data-modifying CTEs over unnest()ed arrays, one per kind
// of change), so a batch is atomic and one round trip; PostgreSQL's commit is durable
// (synchronous_commit), so Sync() has nothing left to do. While PostgreSQL is unreachable
// Write answers Unavailable and the worker keeps its batch and tries it again (the
// positions do not move past it meanwhile).
#pragma once

#include <memory>
#include <string>

#include "dispatch/delivery_store.h"

namespace eragon::dispatch {

// Connects (a connection for writes, one for reads) and creates the tables when missing.
Result<std::unique_ptr<DeliveryStore>> OpenPgDeliveryStore(const std::string& url);

}  // namespace eragon::dispatch
