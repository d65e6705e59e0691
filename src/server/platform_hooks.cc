#include "server/platform_hooks.h"

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "platform/platform_messages.h"

namespace eragon::server {

namespace {

void DisableRoute(RouteAdmin* admin, platform::PlatformEvents* events,
                  const std::string& event_type, const std::string& consumer,
                  const std::string& reason, int64_t failing_since) {
  Result<std::optional<config::ConsumerRoute>> r =
      admin->DisableConsumer(event_type, consumer, reason, failing_since);
  if (!r.ok()) {
    fprintf(stderr, "eragond: disabling route %s/%s: %s\n", event_type.c_str(), consumer.c_str(),
            r.status().ToString().c_str());
    return;
  }
  if (!r->has_value()) return;
  fprintf(stderr, "eragond: route %s/%s disabled: %s\n", event_type.c_str(), consumer.c_str(),
          reason.c_str());
  events->Publish(platform::ConsumerDisabled(**r));
}

}  // namespace

void InstallPlatformHooks(dispatch::DeliveryObserver* observer, platform::PlatformEvents* events,
                          WorkerPool* workers, std::function<RouteAdmin*()> admin) {
  observer->dead_lettered = [events](const std::string& consumer, const dispatch::DeadLetter& d) {
    if (d.topic == platform::kTopic) return;
    platform::DeadLetterFacts f;
    f.consumer = consumer;
    f.event_type = d.event.event_type;
    f.event_id = d.event.id;
    f.producer = d.event.producer;
    f.entity_id = d.event.entity_id;
    f.topic = d.topic;
    f.attempts = d.attempts;
    f.last_status = d.last_status;
    f.last_error = d.last_error;
    f.dead_at = d.dead_at;
    events->Publish(platform::DeadLettered(f));
  };
  observer->circuit = [events](const std::string& consumer, const std::string& topic, bool open,
                               int64_t at_ms, const std::string& last_error) {
    events->Publish(platform::CircuitChanged(open, consumer, topic, at_ms, last_error));
  };
  observer->disable = [events, workers, admin = std::move(admin)](
                          const std::string& event_type, const std::string& consumer,
                          const std::string& reason, int64_t failing_since) {
    workers->Post([events, admin, event_type, consumer, reason, failing_since] {
      DisableRoute(admin(), events, event_type, consumer, reason, failing_since);
    });
  };
}

Status RepublishDisabledRoutes(config::ConfigStore* store, platform::PlatformEvents* events) {
  ERAGON_ASSIGN_OR_RETURN(std::vector<config::ConsumerRoute> routes, store->ListConsumers());
  for (const config::ConsumerRoute& r : routes) {
    if (!r.enabled && !r.disabled_reason.empty()) events->Publish(platform::ConsumerDisabled(r));
  }
  return Status::Ok();
}

}  // namespace eragon::server
