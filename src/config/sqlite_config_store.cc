#include "config/sqlite_config_store.h"

#include "config/sql_config_store.h"
#include "config/sqlite_db.h"

namespace eragon::config {

Result<std::unique_ptr<ConfigStore>> OpenSqliteConfigStore(const std::string& path,
                                                           const std::string& vfs) {
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path, vfs));
  ERAGON_RETURN_IF_ERROR(db->Migrate(ConfigMigrations()));
  return NewSqlConfigStore(std::move(db));
}

}  // namespace eragon::config
