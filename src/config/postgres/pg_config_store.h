// The ConfigStore on PostgreSQL, shared by every node of a cluster
// (`eragond --config-store postgresql://...`): the SQL store (sql_config_store.h) on a
// PgDb, behind a CachedConfigStore whose snapshot a PgListener refreshes within
// milliseconds of a change committed by any node (LISTEN/NOTIFY), and every poll_ms
// (a single SELECT version) for what a dropped connection missed. See README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/config_store.h"

namespace eragon::config {

struct PgStoreOptions {
  int64_t poll_ms = 5000;  // version poll
  bool listen = true;      // false: the poll alone (eragond --config-listen false)
};

// Connects, applies the schema migrations (under an advisory lock: nodes may start
// together) and loads the first snapshot. InvalidArgument for a malformed URL,
// Unavailable when the server cannot be reached.
Result<std::unique_ptr<ConfigStore>> OpenPgConfigStore(const std::string& url,
                                                       const PgStoreOptions& options = {});

}  // namespace eragon::config
