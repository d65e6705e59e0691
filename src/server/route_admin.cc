#include "server/route_admin.h"

#include "config/route_codec.h"
#include "platform/platform_events.h"

namespace eragon::server {

RouteAdmin::RouteAdmin(config::ConfigStore* store, RouteCache* cache, channel::Channel* logs,
                       index::IdIndex* ids, Clock* clock, dispatch::Dispatcher* dispatcher,
                       bool kafka, bool cluster)
    : store_(store),
      cache_(cache),
      logs_(logs),
      ids_(ids),
      clock_(clock),
      dispatcher_(dispatcher),
      kafka_(kafka),
      cluster_(cluster) {}

// A kafka route needs the Kafka channel; its topic is created (or checked) in Kafka now,
// so a partition mismatch with an existing Kafka topic is a 409 of this PUT.
Status RouteAdmin::CheckChannel(const config::ProducerRoute& route) {
  if (route.channel != config::ChannelKind::kKafka) return Status::Ok();
  if (!kafka_) {
    return Status::InvalidArgument(
        "channel: kafka is not available: eragond runs without --kafka-brokers");
  }
  Result<channel::Topic*> topic =
      logs_->OpenTopic(route.topic, {route.partitions, config::RouteEnumName(route.channel)});
  return topic.status();
}

// Every type of a topic must agree on the topic's properties, and an existing topic log
// fixes its partition count.
Status RouteAdmin::CheckTopicAgreement(const config::ProducerRoute& route) {
  ERAGON_ASSIGN_OR_RETURN(std::vector<config::ProducerRoute> all, store_->ListProducers());
  for (const config::ProducerRoute& other : all) {
    if (other.topic != route.topic || other.event_type == route.event_type) continue;
    if (other.channel != route.channel || other.ordered != route.ordered ||
        other.partitions != route.partitions) {
      return Status::Conflict(
          "topic '" + route.topic + "' is used by event type '" + other.event_type +
          "' with channel " + std::string(config::RouteEnumName(other.channel)) + ", ordered " +
          (other.ordered ? "true" : "false") + ", partitions " + std::to_string(other.partitions) +
          "; all types of a topic must agree");
    }
  }
  channel::Topic* topic = logs_->FindTopic(route.topic);
  if (topic != nullptr && topic->partitions() != route.partitions) {
    return Status::Conflict("topic '" + route.topic + "' already exists with " +
                            std::to_string(topic->partitions()) + " partitions");
  }
  return Status::Ok();
}

namespace {

// The platform event types' producer routes are built in (src/platform): eragond
// publishes them, so they can be neither replaced nor removed.
Status RefuseBuiltIn(const std::string& event_type) {
  if (!platform::IsPlatformEventType(event_type)) return Status::Ok();
  return Status::Conflict("'" + event_type +
                          "' is a platform event type: its producer route (producer eragon, "
                          "topic eragon.platform) is built in and cannot be changed or removed");
}

}  // namespace

Result<config::PutOutcome> RouteAdmin::PutProducer(config::ProducerRoute route,
                                                   config::ProducerRoute* stored) {
  ERAGON_RETURN_IF_ERROR(RefuseBuiltIn(route.event_type));
  if (cluster_ && route.channel != config::ChannelKind::kKafka) {
    return Status::InvalidArgument(
        "channel: embedded topics are a single-node feature; a cluster's producer routes "
        "use \"channel\": \"kafka\"");
  }
  std::lock_guard lock(mu_);
  if (route.topic.empty()) route.topic = route.event_type;
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::ProducerRoute> old,
                          store_->GetProducer(route.event_type));
  const int64_t now = clock_->WallMs();
  route.created_at = old ? old->created_at : now;
  route.updated_at = now;
  if (old && ids_->HasEventsOfType(route.event_type) &&
      (old->channel != route.channel || old->topic != route.topic ||
       old->ordered != route.ordered || old->partitions != route.partitions)) {
    return Status::Conflict("event type '" + route.event_type +
                            "' has events: channel, topic, ordered and partitions cannot "
                            "change");
  }
  ERAGON_RETURN_IF_ERROR(CheckTopicAgreement(route));
  ERAGON_RETURN_IF_ERROR(CheckChannel(route));
  ERAGON_ASSIGN_OR_RETURN(config::PutOutcome outcome, store_->PutProducer(route));
  cache_->Invalidate(route.event_type);
  *stored = route;
  return outcome;
}

Status RouteAdmin::DeleteProducer(const std::string& event_type) {
  ERAGON_RETURN_IF_ERROR(RefuseBuiltIn(event_type));
  std::lock_guard lock(mu_);
  ERAGON_ASSIGN_OR_RETURN(std::vector<config::ConsumerRoute> consumers,
                          store_->ListConsumers(event_type));
  if (!consumers.empty()) {
    return Status::Conflict("event type '" + event_type + "' still has " +
                            std::to_string(consumers.size()) + " consumer route(s), e.g. '" +
                            consumers[0].consumer + "'");
  }
  ERAGON_ASSIGN_OR_RETURN(std::vector<config::Schedule> schedules, store_->ListSchedules());
  for (const config::Schedule& s : schedules) {
    if (s.event_type == event_type) {
      return Status::Conflict("event type '" + event_type + "' is used by schedule '" + s.name +
                              "'");
    }
  }
  Status st = store_->DeleteProducer(event_type);
  cache_->Invalidate(event_type);
  return st;
}

// A new secret replacing another keeps the old one signing for secret_overlap_ms; the
// same secret keeps a running overlap (a PUT that changes other settings does not end
// it); no secret, or an overlap of 0, ends it.
void RouteAdmin::RotateSecret(const config::ConsumerRoute* old, int64_t now,
                              config::ConsumerRoute* route) {
  route->previous_secret.clear();
  route->previous_secret_until = 0;
  if (old == nullptr || route->secret.empty() || route->secret_overlap_ms <= 0) return;
  if (old->secret != route->secret && !old->secret.empty()) {
    route->previous_secret = old->secret;
    route->previous_secret_until = now + route->secret_overlap_ms;
  } else if (old->secret == route->secret && old->previous_secret_until > now) {
    // The overlap runs from the rotation, with the overlap now asked for.
    const int64_t rotated_at = old->previous_secret_until - old->secret_overlap_ms;
    route->previous_secret_until = rotated_at + route->secret_overlap_ms;
    if (route->previous_secret_until > now)
      route->previous_secret = old->previous_secret;
    else
      route->previous_secret_until = 0;
  }
}

Result<config::PutOutcome> RouteAdmin::PutConsumer(config::ConsumerRoute route,
                                                   config::ConsumerRoute* stored) {
  std::lock_guard lock(mu_);
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::ProducerRoute> producer,
                          store_->GetProducer(route.event_type));
  if (!producer) {
    return Status::UnknownEventType("no producer destination for event type '" + route.event_type +
                                    "'");
  }
  if (route.type == config::DeliveryType::kKafka &&
      producer->channel != config::ChannelKind::kKafka) {
    return Status::InvalidArgument("type: kafka needs the event type's topic on channel kafka ('" +
                                   producer->topic + "' is on channel " +
                                   std::string(config::RouteEnumName(producer->channel)) + ")");
  }
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::ConsumerRoute> old,
                          store_->GetConsumer(route.event_type, route.consumer));
  const int64_t now = clock_->WallMs();
  route.created_at = old ? old->created_at : now;
  route.updated_at = now;
  RotateSecret(old ? &*old : nullptr, now, &route);
  // Why the server disabled the route stays shown while it stays disabled.
  if (!route.enabled && old && !old->enabled) {
    route.disabled_reason = old->disabled_reason;
    route.disabled_at = old->disabled_at;
  }
  ERAGON_ASSIGN_OR_RETURN(config::PutOutcome outcome, store_->PutConsumer(route));
  if (dispatcher_) dispatcher_->RoutesChanged();
  *stored = route;
  return outcome;
}

Result<std::optional<config::ConsumerRoute>> RouteAdmin::DisableConsumer(
    const std::string& event_type, const std::string& consumer, const std::string& reason,
    int64_t failing_since) {
  std::lock_guard lock(mu_);
  ERAGON_ASSIGN_OR_RETURN(std::optional<config::ConsumerRoute> route,
                          store_->GetConsumer(event_type, consumer));
  // Gone, already disabled, no longer asking for it, or changed since the streak began
  // (an admin PUT, e.g. a re-enable, starts a new streak): nothing to do.
  if (!route || !route->enabled || route->disable_after_ms <= 0 ||
      route->updated_at > failing_since) {
    return std::optional<config::ConsumerRoute>();
  }
  const int64_t now = clock_->WallMs();
  route->enabled = false;
  route->disabled_reason = reason;
  route->disabled_at = now;
  route->updated_at = now;
  ERAGON_RETURN_IF_ERROR(store_->PutConsumer(*route).status());
  if (dispatcher_) dispatcher_->RoutesChanged();
  return route;
}

Status RouteAdmin::DeleteConsumer(const std::string& event_type, const std::string& consumer) {
  std::lock_guard lock(mu_);
  ERAGON_RETURN_IF_ERROR(store_->DeleteConsumer(event_type, consumer));
  return dispatcher_ ? dispatcher_->RouteRemoved(event_type, consumer) : Status::Ok();
}

}  // namespace eragon::server
