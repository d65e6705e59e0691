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

  // Makes sure <data_dir>/admin.token exists and holds a valid admin token: on first
  // start (or when the file is missing) the service "admin" gets a new token written
  // there with mode 0600.
  Status EnsureAdminToken(Env* env, const std::string& data_dir);

  void InvalidateAll() { cache_.InvalidateAll(); }

 private:
  config::ConfigStore* store_;
  Clock* clock_;
  config::LoadingCache<std::string, config::Service> cache_;
};

}  // namespace eragon::server
