// The ConfigStore on an SqlDb: the same portable SQL on SQLite (sqlite_config_store.h)
// and PostgreSQL (postgres/pg_config_store.h). Every change bumps config_version in the
// same transaction; a failed change is rolled back. Thread-safe (one mutex).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config_store.h"
#include "config/sql_db.h"

namespace eragon::config {

// The schema, as ordered migrations (plain TEXT/INTEGER/BIGINT: valid on both databases).
const std::vector<std::vector<std::string>>& ConfigMigrations();

// A store on `db`, whose schema is up to date (db->Migrate(ConfigMigrations())).
std::unique_ptr<ConfigStore> NewSqlConfigStore(std::unique_ptr<SqlDb> db);

}  // namespace eragon::config
