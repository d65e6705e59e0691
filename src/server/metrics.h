// Metrics: the server's Prometheus metrics (prometheus-cpp registry and text serializer,
// served by our own HTTP server at GET /metrics). Thread-safe; the hot-path methods
// cache label lookups so a publish costs a few atomic increments.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/rates.h"

namespace eragon::channel {
class Channel;
}

namespace eragon::server {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void EventPublished(const std::string& event_type, bool duplicate);
  void PublishLatency(double seconds);
  // Every answered request; non-2xx answers also count as rejected by code.
  void Request(int status, double seconds);
  // `count` delivery outcomes of a consumer: delivered | retry | dead | skipped_duplicate |
  // filtered.
  void DeliveryOutcome(const std::string& consumer, const char* outcome, uint64_t count = 1);
  // Seconds from an event's append to its 2xx (or ack).
  void DeliveryLatency(double seconds);
  // Per-consumer gauges, set at scrape time.
  struct ConsumerGauges {
    std::string consumer;
    std::string topic;
    double lag_events = 0;
    double lag_seconds = 0;
    bool circuit_open = false;
    double dead_letters = 0;
  };
  void SetConsumerGauges(const std::vector<ConsumerGauges>& gauges);

  // One log group commit: write and fsync durations (fsync < 0 when none happened).
  void LogCommit(double write_seconds, double fsync_seconds, uint64_t bytes);

  // The Prometheus text exposition; gauges of `logs` (bytes stored, disk free) are read
  // at call time when given.
  std::string Serialize(channel::Channel* logs);

  // Per-second rates for GET /v1/stats, fed by the calls above: events stored by event
  // type (EventPublished without duplicates); delivery outcomes by consumer, "delivered"
  // as delivered, "retry" and "dead" as failed.
  const RateTable& published_rates() const { return published_rates_; }
  const RateTable& delivered_rates() const { return delivered_rates_; }
  const RateTable& failed_rates() const { return failed_rates_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  RateTable published_rates_;
  RateTable delivered_rates_;
  RateTable failed_rates_;
};

}  // namespace eragon::server
