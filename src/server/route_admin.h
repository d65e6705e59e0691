// RouteAdmin: changes to the routing table with API.md's rules (one producer per type,
// topic properties agreed by all its types and fixed once events exist, no producer
// removal while consumers use it). Every change invalidates the route cache, so it is
// visible to publishing at once on this node and within the cache TTL on others; every
// consumer route change is told to the dispatcher at once (a stored route is re-read, a
// removed one's states, dead letters and dedup keys are dropped), so deliveries follow it
// without waiting for the dispatcher's periodic re-read.
// Thread-safe: changes are serialised.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "channel/channel.h"
#include "config/config_store.h"
#include "dispatch/dispatcher.h"
#include "eragon/clock.h"
#include "index/id_index.h"
#include "server/route_cache.h"

namespace eragon::server {

class RouteAdmin {
 public:
  // All borrowed and outliving the RouteAdmin; `dispatcher` may be null (no deliveries).
  // `kafka`: whether the channel has Kafka (--kafka-brokers); `cluster`: whether this is
  // a cluster node (shared config store), where every producer route is on Kafka.
  RouteAdmin(config::ConfigStore* store, RouteCache* cache, channel::Channel* logs,
             index::IdIndex* ids, Clock* clock, dispatch::Dispatcher* dispatcher,
             bool kafka = false, bool cluster = false);

  // `route.topic` empty means the event type. Returns the stored route in *stored.
  Result<config::PutOutcome> PutProducer(config::ProducerRoute route,
                                         config::ProducerRoute* stored);
  Status DeleteProducer(const std::string& event_type);
  // The event type must have a producer destination (404 unknown_event_type).
  Result<config::PutOutcome> PutConsumer(config::ConsumerRoute route,
                                         config::ConsumerRoute* stored);
  // Auto-disable (disable_after_ms): sets the route enabled = false with `reason` and
  // disabled_at = now, durably, as an admin PUT would, and tells the dispatcher. Nothing
  // (nullopt) when the route is gone, already disabled, has disable_after_ms 0, or was
  // changed after `failing_since` (wall ms; the failing streak started before the change,
  // e.g. before a re-enable). Returns the stored route when it disabled it.
  Result<std::optional<config::ConsumerRoute>> DisableConsumer(const std::string& event_type,
                                                               const std::string& consumer,
                                                               const std::string& reason,
                                                               int64_t failing_since);
  // Removes the route, then has the dispatcher forget what it leaves behind; an error of
  // that clean-up is returned (the route itself is gone).
  Status DeleteConsumer(const std::string& event_type, const std::string& consumer);

 private:
  Status CheckTopicAgreement(const config::ProducerRoute& route);
  Status CheckChannel(const config::ProducerRoute& route);
  static void RotateSecret(const config::ConsumerRoute* old, int64_t now,
                           config::ConsumerRoute* route);

  config::ConfigStore* store_;
  RouteCache* cache_;
  channel::Channel* logs_;
  index::IdIndex* ids_;
  Clock* clock_;
  dispatch::Dispatcher* dispatcher_;
  const bool kafka_;
  const bool cluster_;
  std::mutex mu_;
};

}  // namespace eragon::server
