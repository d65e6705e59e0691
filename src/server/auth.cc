#include "server/auth.h"

#include <algorithm>
#include <cctype>

#include "core/hash.h"
#include "server/secret_files.h"

namespace eragon::server {
namespace {

constexpr std::string_view kBearer = "Bearer ";

Caller CallerOf(const config::Service& s) {
  Caller c;
  c.service = s.name;
  for (const std::string& r : s.roles) {
    c.admin |= r == "admin";
    c.producer |= r == "producer";
    c.consumer |= r == "consumer";
  }
  return c;
}

bool HasAdmin(const config::Service& s) {
  return std::find(s.roles.begin(), s.roles.end(), "admin") != s.roles.end();
}

config::LoadingCache<std::string, config::Service>::Options CacheOptions(int64_t ttl_ms) {
  config::LoadingCache<std::string, config::Service>::Options o;
  o.ttl_ms = ttl_ms;
  o.negative_ttl_ms = std::min<int64_t>(200, ttl_ms);
  return o;
}

}  // namespace

std::string NewToken() { return "ert_" + HexEncode(RandomBytes(32)); }

std::string HashToken(std::string_view token) { return Sha256Hex(token); }

Auth::Auth(config::ConfigStore* store, Clock* clock, int64_t cache_ttl_ms)
    : store_(store),
      clock_(clock),
      cache_([store](const std::string& hash) { return store->FindServiceByTokenHash(hash); },
             clock, CacheOptions(cache_ttl_ms)) {}

Result<Caller> Auth::Authenticate(std::string_view header) {
  if (header.empty()) {
    return Status::Unauthenticated("missing Authorization: Bearer <token> header");
  }
  if (!header.starts_with(kBearer) || header.size() == kBearer.size()) {
    return Status::Unauthenticated("Authorization header must be 'Bearer <token>'");
  }
  std::string hash = HashToken(header.substr(kBearer.size()));
  Result<std::optional<config::Service>> service = cache_.Get(hash);
  if (!service.ok()) return service.status();
  // The lookup is by hash; the final comparison is constant-time all the same.
  if (!*service || !ConstantTimeEquals((*service)->token_hash, hash)) {
    return Status::Unauthenticated("unknown or revoked token");
  }
  return CallerOf(**service);
}

Result<std::pair<std::string, config::PutOutcome>> Auth::PutService(
    const std::string& name, std::vector<std::string> roles) {
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::Service> old, store_->GetService(name));
  if (old && HasAdmin(*old) && std::find(roles.begin(), roles.end(), "admin") == roles.end()) {
    ERAGON_ASSIGN_OR_RETURN(std::vector<config::Service> all, store_->ListServices());
    if (std::count_if(all.begin(), all.end(), HasAdmin) <= 1) {
      return Status::Conflict("service '" + name + "' is the last admin; it keeps its admin role");
    }
  }
  config::Service s;
  s.name = name;
  s.roles = std::move(roles);
  std::string token = NewToken();
  s.token_hash = HashToken(token);
  s.created_at = old ? old->created_at : clock_->WallMs();
  ERAGON_ASSIGN_OR_RETURN(config::PutOutcome outcome, store_->PutService(s));
  if (old) cache_.Invalidate(old->token_hash);
  return std::make_pair(std::move(token), outcome);
}

Status Auth::DeleteService(const std::string& name) {
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::Service> old, store_->GetService(name));
  if (!old) return Status::NotFound("no service '" + name + "'");
  if (HasAdmin(*old)) {
    ERAGON_ASSIGN_OR_RETURN(std::vector<config::Service> all, store_->ListServices());
    if (std::count_if(all.begin(), all.end(), HasAdmin) <= 1) {
      return Status::Conflict("service '" + name + "' is the last admin");
    }
  }
  ERAGON_RETURN_IF_ERROR(store_->DeleteService(name));
  cache_.Invalidate(old->token_hash);
  return Status::Ok();
}

namespace {

// A token file's token: its text without surrounding whitespace.
std::string TrimToken(std::string t) {
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  size_t start = 0;
  while (start < t.size() && std::isspace(static_cast<unsigned char>(t[start]))) ++start;
  return t.substr(start);
}

constexpr size_t kMinSharedTokenChars = 32;

}  // namespace

// Whether the token file at `path` holds the token of a service with the admin role.
bool Auth::HoldsAdminToken(Env* env, const std::string& path) {
  if (!env->Exists(path)) return false;
  Result<std::string> token = ReadFileToString(env, path);
  if (!token.ok()) return false;
  Result<std::optional<config::Service>> s =
      store_->FindServiceByTokenHash(HashToken(TrimToken(*token)));
  return s.ok() && *s && HasAdmin(**s);
}

// --admin-token-file: the service "admin" carries the file's token (set when it does not:
// the nodes of a cluster started with one file converge on it).
Result<std::string> Auth::UseAdminTokenFile(Env* env, const std::string& path,
                                            const std::string& data_dir) {
  Result<std::string> text = ReadFileToString(env, path);
  if (!text.ok()) {
    return Status::InvalidArgument("--admin-token-file " + path + ": " + text.status().message());
  }
  const std::string token = TrimToken(*text);
  if (token.size() < kMinSharedTokenChars || token.find_first_of(" \t\r\n") != std::string::npos) {
    return Status::InvalidArgument("--admin-token-file " + path + ": the token must be at least " +
                                   std::to_string(kMinSharedTokenChars) +
                                   " characters without spaces (e.g. what `eragon` prints for a "
                                   "new service, or ert_ + 64 hex digits)");
  }
  const std::string hash = HashToken(token);
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::Service> old, store_->GetService("admin"));
  if (!old || old->token_hash != hash || !HasAdmin(*old)) {
    config::Service s;
    s.name = "admin";
    s.roles = old ? old->roles : std::vector<std::string>{};
    if (!HasAdmin(s)) s.roles.push_back("admin");
    std::sort(s.roles.begin(), s.roles.end());
    s.token_hash = hash;
    s.created_at = old ? old->created_at : clock_->WallMs();
    Result<config::PutOutcome> put = store_->PutService(s);
    if (put.status().code() == Code::kConflict) {
      return Status::InvalidArgument("--admin-token-file " + path +
                                     ": the token is another service's; choose a new one");
    }
    ERAGON_RETURN_IF_ERROR(put.status());
    cache_.InvalidateAll();
  }
  const std::string local = data_dir + "/admin.token";
  Result<std::string> current = ReadFileToString(env, local);
  if (!current.ok() || TrimToken(*current) != token) {
    ERAGON_RETURN_IF_ERROR(WriteSecretFile(env, local, token + "\n"));
  }
  return std::string();
}

Result<std::string> Auth::EnsureAdminToken(Env* env, const std::string& data_dir,
                                           const AdminTokenOptions& options) {
  if (!options.token_file.empty()) return UseAdminTokenFile(env, options.token_file, data_dir);
  const std::string path = data_dir + "/admin.token";
  if (HoldsAdminToken(env, path)) return std::string();
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::Service> old, store_->GetService("admin"));
  if (options.shared_store && old) {
    return "the shared config store's admin service exists; its token is in admin.token of "
           "the node that created it (or in the file given with --admin-token-file); this "
           "node has none of its own in " +
           path + " and leaves the admin service as it is";
  }
  // Missing or stale: (re)create the "admin" service and write its token.
  config::Service s;
  s.name = "admin";
  s.roles = {"admin"};
  std::string token = NewToken();
  s.token_hash = HashToken(token);
  s.created_at = old ? old->created_at : clock_->WallMs();
  ERAGON_ASSIGN_OR_RETURN(config::PutOutcome outcome, store_->PutService(s));
  (void)outcome;
  cache_.InvalidateAll();
  ERAGON_RETURN_IF_ERROR(WriteSecretFile(env, path, token + "\n"));
  return std::string();
}

}  // namespace eragon::server
