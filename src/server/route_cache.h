// RouteCache: producer destinations by event type, read through a loading cache in front
// of the config store (TTL below a second, so a change made on another node is visible
// within a second; changes made here invalidate at once). Thread-safe.
#pragma once

#include <optional>
#include <string>

#include "config/config_store.h"
#include "config/loading_cache.h"
#include "eragon/clock.h"

namespace eragon::server {

class RouteCache {
 public:
  RouteCache(config::ConfigStore* store, Clock* clock, int64_t ttl_ms)
      : cache_([store](const std::string& type) { return store->GetProducer(type); }, clock,
               Options(ttl_ms)) {}

  Result<std::optional<config::ProducerRoute>> Producer(const std::string& event_type) {
    return cache_.Get(event_type);
  }
  void Invalidate(const std::string& event_type) { cache_.Invalidate(event_type); }
  void InvalidateAll() { cache_.InvalidateAll(); }

 private:
  using Cache = config::LoadingCache<std::string, config::ProducerRoute>;
  static Cache::Options Options(int64_t ttl_ms) {
    Cache::Options o;
    o.ttl_ms = ttl_ms;
    o.negative_ttl_ms = ttl_ms / 2;
    return o;
  }
  Cache cache_;
};

}  // namespace eragon::server
