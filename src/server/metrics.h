// Metrics: the server's Prometheus metrics (prometheus-cpp registry and text serializer,
// served by our own HTTP server at GET /metrics). Thread-safe; the hot-path methods
// cache label lookups so a publish costs a few atomic increments.
#pragma once

#include <memory>
#include <string>

namespace eragon::log {
class LogManager;
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
  // One log group commit: write and fsync durations (fsync < 0 when none happened).
  void LogCommit(double write_seconds, double fsync_seconds, uint64_t bytes);

  // The Prometheus text exposition; gauges of `logs` (bytes stored, disk free) are read
  // at call time when given.
  std::string Serialize(log::LogManager* logs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eragon::server
