// StatsReport: the JSON of GET /v1/stats (docs/api.md "Stats"), the figures the dashboard
// draws: per event type the publish rate, per consumer the delivery and failure rates,
// lag, circuit state, dead letters and whether its routes are enabled.
//
// Cheap to call every second: the rates are Metrics' in-memory rings, the lag and circuit
// come from the dispatcher's workers (memory), the routing table from the config store (a
// few rows); the two figures that cost a scan or a broker round trip are cached: dead
// letter counts for kDeadTtlMs, a Kafka group's lag for kKafkaTtlMs. Nothing reads the
// log. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "channel/channel.h"
#include "config/config_store.h"
#include "dispatch/delivery_store.h"
#include "dispatch/dispatcher.h"
#include "eragon/clock.h"
#include "server/metrics.h"

namespace eragon::server {

class StatsReport {
 public:
  static constexpr int64_t kDeadTtlMs = 2'000;
  static constexpr int64_t kKafkaTtlMs = 5'000;

  struct Deps {
    config::ConfigStore* store = nullptr;
    dispatch::Dispatcher* dispatcher = nullptr;  // null: no consumer figures but routes
    dispatch::DeliveryStore* deliveries = nullptr;
    channel::Channel* kafka = nullptr;  // null: no Kafka group lag
    Metrics* metrics = nullptr;
    Clock* clock = nullptr;
  };
  explicit StatsReport(Deps deps) : d_(deps) {}

  // The whole answer of GET /v1/stats; an error when the config store fails.
  Result<std::string> Json();

 private:
  struct Cached {
    int64_t at_ms = 0;
    std::optional<uint64_t> value;
  };
  uint64_t DeadLetters(const std::string& consumer, int64_t now_ms);
  std::optional<uint64_t> KafkaLag(const std::string& consumer, const std::string& topic,
                                   int64_t now_ms);

  Deps d_;
  std::mutex mu_;  // guards the caches
  std::map<std::string, Cached> dead_;
  std::map<std::pair<std::string, std::string>, Cached> kafka_lag_;  // (group, topic)
};

}  // namespace eragon::server
