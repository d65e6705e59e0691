// The SagaStore on the config store's database (sql_config_store.cc owns it and shares
// its database and mutex), SQLite or PostgreSQL. Tables `sagas` and `saga_instances`, created by
// the config store's migration 3.
#pragma once

#include <memory>
#include <mutex>

#include "config/config_store.h"
#include "config/sql_db.h"

namespace eragon::config {

// `db` and `mu` are borrowed: every call locks `mu` around its use of `db`.
std::unique_ptr<SagaStore> NewSqlSagaStore(SqlDb* db, std::mutex* mu);

// The SQL of the migration that adds the saga tables.
const std::vector<std::string>& SagaMigration();

}  // namespace eragon::config
