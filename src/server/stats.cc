#include "server/stats.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "channel/kafka/kafka.h"
#include "config/route_codec.h"
#include "core/json.h"

namespace eragon::server {
namespace {

void Number(JsonWriter& w, double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f", v);
  w.Raw(buf);
}

void RateJson(JsonWriter& w, std::string_view key, const Rate& r) {
  w.Key(key).BeginObject().Key("1m");
  Number(w, r.per_s_1m);
  w.Key("5m");
  Number(w, r.per_s_5m);
  w.EndObject();
}

// What one consumer's entry adds up, over its routes and its workers (one per topic).
struct ConsumerFigures {
  std::vector<const config::ConsumerRoute*> routes;
  std::vector<std::string> route_topics;  // parallel to routes
  struct TopicFigures {
    std::optional<uint64_t> lag_events;
    std::optional<int64_t> lag_ms;  // none for a kafka group (no per-event ages)
    bool circuit_open = false;
  };
  std::map<std::string, TopicFigures> topics;
};

void TopicLagJson(JsonWriter& w, const ConsumerFigures::TopicFigures& t) {
  w.Key("lag_events");
  t.lag_events ? w.Uint(*t.lag_events) : w.Null();
  w.Key("lag_seconds");
  if (t.lag_ms) {
    Number(w, *t.lag_ms / 1000.0);
  } else {
    w.Null();
  }
}

void ConsumerJson(JsonWriter& w, const std::string& name, const ConsumerFigures& f, uint64_t dead,
                  Metrics* metrics) {
  std::string_view type = config::RouteEnumName(f.routes.front()->type);
  bool enabled = true;
  for (const config::ConsumerRoute* r : f.routes) {
    if (config::RouteEnumName(r->type) != type) type = "mixed";
    enabled = enabled && r->enabled;
  }
  ConsumerFigures::TopicFigures all;
  bool open = false;
  for (const auto& [topic, t] : f.topics) {
    if (t.lag_events) all.lag_events = all.lag_events.value_or(0) + *t.lag_events;
    if (t.lag_ms) all.lag_ms = std::max(all.lag_ms.value_or(0), *t.lag_ms);
    open = open || t.circuit_open;
  }
  w.BeginObject().Key("consumer").String(name).Key("type").String(type);
  w.Key("enabled").Bool(enabled);
  RateJson(w, "delivered_per_s", metrics->delivered_rates().Get(name));
  RateJson(w, "failed_per_s", metrics->failed_rates().Get(name));
  TopicLagJson(w, all);
  w.Key("circuit").String(open ? "open" : "closed").Key("dead_letters").Uint(dead);
  w.Key("topics").BeginArray();
  for (const auto& [topic, t] : f.topics) {
    w.BeginObject().Key("topic").String(topic);
    TopicLagJson(w, t);
    w.Key("circuit").String(t.circuit_open ? "open" : "closed").EndObject();
  }
  w.EndArray().Key("routes").BeginArray();
  for (size_t i = 0; i < f.routes.size(); ++i) {
    const config::ConsumerRoute& r = *f.routes[i];
    w.BeginObject().Key("event_type").String(r.event_type).Key("topic").String(f.route_topics[i]);
    w.Key("type").String(config::RouteEnumName(r.type)).Key("enabled").Bool(r.enabled);
    if (!r.disabled_reason.empty()) {  // auto-disabled: why (any token may see it here)
      w.Key("disabled_reason").String(r.disabled_reason).Key("disabled_at").Int(r.disabled_at);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
}

}  // namespace

uint64_t StatsReport::DeadLetters(const std::string& consumer, int64_t now_ms) {
  {
    std::lock_guard lock(mu_);
    auto it = dead_.find(consumer);
    if (it != dead_.end() && now_ms - it->second.at_ms < kDeadTtlMs) return *it->second.value;
  }
  const uint64_t n = d_.deliveries != nullptr ? d_.deliveries->CountDead(consumer) : 0;
  std::lock_guard lock(mu_);
  dead_[consumer] = {now_ms, n};
  return n;
}

std::optional<uint64_t> StatsReport::KafkaLag(const std::string& consumer, const std::string& topic,
                                              int64_t now_ms) {
  if (d_.kafka == nullptr) return std::nullopt;
  const auto key = std::make_pair(consumer, topic);
  {
    std::lock_guard lock(mu_);
    auto it = kafka_lag_.find(key);
    if (it != kafka_lag_.end() && now_ms - it->second.at_ms < kKafkaTtlMs) return it->second.value;
  }
  Result<uint64_t> lag = channel::KafkaGroupLag(d_.kafka, consumer, topic);
  std::optional<uint64_t> v;
  if (lag.ok()) v = *lag;
  std::lock_guard lock(mu_);
  kafka_lag_[key] = {now_ms, v};
  return v;
}

Result<std::string> StatsReport::Json() {
  ERAGON_ASSIGN_OR_RETURN(std::vector<config::ProducerRoute> producers, d_.store->ListProducers());
  ERAGON_ASSIGN_OR_RETURN(std::vector<config::ConsumerRoute> consumers, d_.store->ListConsumers());
  const int64_t now = d_.clock->WallMs();
  std::map<std::string, const config::ProducerRoute*> by_type;
  for (const config::ProducerRoute& p : producers) by_type[p.event_type] = &p;
  std::map<std::string, ConsumerFigures> figures;
  for (const config::ConsumerRoute& c : consumers) {
    auto p = by_type.find(c.event_type);
    const std::string topic = p != by_type.end() ? p->second->topic : c.event_type;
    ConsumerFigures& f = figures[c.consumer];
    f.routes.push_back(&c);
    f.route_topics.push_back(topic);
    if (c.type == config::DeliveryType::kKafka)
      f.topics[topic].lag_events = KafkaLag(c.consumer, topic, now);
  }
  if (d_.dispatcher != nullptr) {
    for (const dispatch::ConsumerStats& s : d_.dispatcher->Stats()) {
      auto it = figures.find(s.consumer);
      if (it == figures.end()) continue;  // its routes went meanwhile
      ConsumerFigures::TopicFigures& t = it->second.topics[s.topic];
      t.lag_events = s.stats.lag_events;
      t.lag_ms = s.stats.lag_ms;
      t.circuit_open = s.stats.circuit_open;
    }
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("at").Int(now).Key("event_types").BeginArray();
  for (const auto& [type, p] : by_type) {
    w.BeginObject().Key("event_type").String(type).Key("producer").String(p->producer);
    w.Key("topic").String(p->topic).Key("channel").String(config::RouteEnumName(p->channel));
    RateJson(w, "published_per_s", d_.metrics->published_rates().Get(type));
    w.EndObject();
  }
  w.EndArray().Key("consumers").BeginArray();
  for (const auto& [name, f] : figures)
    ConsumerJson(w, name, f, DeadLetters(name, now), d_.metrics);
  w.EndArray().EndObject();
  return out;
}

}  // namespace eragon::server
