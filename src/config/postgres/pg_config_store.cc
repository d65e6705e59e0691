#include "config/postgres/pg_config_store.h"

#include "config/cached_config_store.h"
#include "config/postgres/pg_db.h"
#include "config/postgres/pg_listener.h"
#include "config/sql_config_store.h"

namespace eragon::config {
namespace {

class PgConfigStore final : public CachedConfigStore {
 public:
  explicit PgConfigStore(std::unique_ptr<ConfigStore> inner)
      : CachedConfigStore(std::move(inner)) {}
  // The listener stops before the snapshot it refreshes goes.
  ~PgConfigStore() override { listener_.reset(); }

  void Listen(const std::string& url, const PgStoreOptions& o) {
    listener_ = std::make_unique<PgListener>(url, o.poll_ms, o.listen, [this] { (void)Refresh(); });
  }

 private:
  std::unique_ptr<PgListener> listener_;
};

}  // namespace

Result<std::unique_ptr<ConfigStore>> OpenPgConfigStore(const std::string& url,
                                                       const PgStoreOptions& options) {
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Open(url));
  ERAGON_RETURN_IF_ERROR(db->Migrate(ConfigMigrations()));
  auto store = std::make_unique<PgConfigStore>(NewSqlConfigStore(std::move(db)));
  ERAGON_RETURN_IF_ERROR(store->Refresh());
  store->Listen(url, options);
  return std::unique_ptr<ConfigStore>(std::move(store));
}

}  // namespace eragon::config
