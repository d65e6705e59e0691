// Auth: bearer tokens -> services with roles (API.md "Services and tokens").
//
// Tokens are 256 random bits, shown once, stored only as SHA-256 hashes in the config
// store. Lookups go through a loading cache keyed by the token's hash, on the calling
// (io) thread; a miss reads the config store. The cache's TTL is eragond's
// --route-cache-ttl-ms (default 500 ms, at most 1 s), so a token revoked on another node
// stops working within it; one revoked through this Auth stops at once. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_store.h"
#include "config/loading_cache.h"
#include "eragon/clock.h"
#include "eragon/env.h"
#include "eragon/status.h"

namespace eragon::server {

struct Caller {
  std::string service;
  bool admin = false;
  bool producer = false;
  bool consumer = false;
};

// A new random token ("ert_" + 64 hex digits).
std::string NewToken();
std::string HashToken(std::string_view token);

class Auth {
 public:
  // `cache_ttl_ms` (>= 1): how long a looked-up token is trusted without asking the store
  // again; an unknown token is remembered for at most 200 ms of it.
  Auth(config::ConfigStore* store, Clock* clock, int64_t cache_ttl_ms);

  // The caller for an "Authorization: Bearer <token>" header value; 401 otherwise.
  Result<Caller> Authenticate(std::string_view authorization_header);

  // Creates or rotates the service; returns the new token and whether it was created.
  Result<std::pair<std::string, config::PutOutcome>> PutService(const std::string& name,
                                                                std::vector<std::string> roles);
  // Revokes the service's token. Deleting the last admin is a conflict.
  Status DeleteService(const std::string& name);

  // Where this node's admin token comes from (API.md "Services and tokens", "Running a
  // cluster").
  struct AdminTokenOptions {
    // --admin-token-file: the admin token, shared by a cluster's nodes; "" for none.
    std::string token_file;
    // The config store is shared by several nodes (PostgreSQL): an existing "admin"
    // service is never rotated by a node that lacks its token.
    bool shared_store = false;
  };

  // Makes sure the service "admin" has a token this node knows:
  // - with `token_file`: the service "admin" carries that token's hash (created or set
  //   when it does not), and <data_dir>/admin.token holds it too (for the CLI);
  // - else when <data_dir>/admin.token holds a valid admin token: nothing changes;
  // - else (first start, file missing or stale) the service "admin" gets a new token
  //   written there with mode 0600 — unless the store is shared and already has the
  //   service: then it is left alone (another node made it) and the returned line, for
  //   the log, says where its token is. "" when there is nothing to tell.
  Result<std::string> EnsureAdminToken(Env* env, const std::string& data_dir,
                                       const AdminTokenOptions& options);

  void InvalidateAll() { cache_.InvalidateAll(); }

 private:
  Result<std::string> UseAdminTokenFile(Env* env, const std::string& path,
                                        const std::string& data_dir);
  bool HoldsAdminToken(Env* env, const std::string& path);

  config::ConfigStore* store_;
  Clock* clock_;
  config::LoadingCache<std::string, config::Service> cache_;
};

}  // namespace eragon::server
