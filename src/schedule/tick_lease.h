// TickLease: who fires the schedules when several nodes share one config store
// (API.md "Running a cluster": each schedule tick fires once in the whole cluster).
// The Scheduler asks Hold() on every Tick and fires only while it answers true; before
// each fire it reads the schedule's last fired tick through SharedLastTick, which fails
// once the lease is lost, so a node that lost it never fires again on a stale view.
// PgTickLease (pg_tick_lease.h) is the one on PostgreSQL; a single node has none.
#pragma once

#include <cstdint>
#include <string>

#include "eragon/status.h"

namespace eragon::schedule {

class TickLease {
 public:
  virtual ~TickLease() = default;

  // Whether this node fires the schedules now, taking the lease when it is free.
  // Unavailable when the shared store cannot be reached (nobody fires here meanwhile).
  virtual Result<bool> Hold() = 0;

  // The schedule's last fired tick as the shared store has it now, read under the lease:
  // NotFound when the schedule is gone, Unavailable when the lease was lost (this node
  // must not fire; Hold() tries to take it again).
  virtual Result<int64_t> SharedLastTick(const std::string& name) = 0;
};

}  // namespace eragon::schedule
