#include "config/postgres/pg_install_secret.h"

#include "config/postgres/pg_db.h"
#include "core/hash.h"

namespace eragon::config {

Result<std::string> SharedInstallSecret(const std::string& url, const std::string& proposed) {
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<PgDb> db, PgDb::Open(url));
  // Nodes starting together: the primary key lets one insert win, the others keep it.
  ERAGON_RETURN_IF_ERROR(db->Run("INSERT INTO install_secret (id, secret) VALUES (1, $1)"
                                 " ON CONFLICT (id) DO NOTHING",
                                 {HexEncode(proposed)})
                             .status());
  ERAGON_ASSIGN_OR_RETURN(auto res, db->Run("SELECT secret FROM install_secret WHERE id = 1", {}));
  std::optional<std::string> secret;
  if (PQntuples(res.get()) == 1) secret = HexDecode(PQgetvalue(res.get(), 0, 0));
  if (!secret || secret->size() != 32) {
    return Status::Corruption("config store: install_secret does not hold 64 hex digits");
  }
  return *secret;
}

}  // namespace eragon::config
