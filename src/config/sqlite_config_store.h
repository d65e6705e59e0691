// The ConfigStore on SQLite, for a single node: one database file in the data dir.
//
// Durability: WAL mode with synchronous=FULL, so a change is on disk when its call
// returns (config changes are rare; losing one after answering 200 is not acceptable).
// Several processes may share the file (busy timeout 5 s; Version() notices their changes).
// The SQL stays portable (plain types, no SQLite-only syntax except the PRAGMAs and BEGIN
// IMMEDIATE), so the PostgreSQL store can reuse the schema. Thread-safe (one mutex).
#pragma once

#include <memory>
#include <string>

#include "config/config_store.h"
#include "eragon/status.h"

namespace eragon::config {

// Opens or creates the store at `path` (file mode 0600: it holds webhook secrets) and
// brings its schema up to date. ":memory:" gives a private in-memory store for tests.
// `vfs`: the SQLite VFS to open it with ("" = SQLite's default); tests pass a
// fault-injecting one (testing/fault_injection_vfs.h). eragond always uses the default.
Result<std::unique_ptr<ConfigStore>> OpenSqliteConfigStore(const std::string& path,
                                                           const std::string& vfs = "");

}  // namespace eragon::config
