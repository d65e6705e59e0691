#include "server/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "channel/channel.h"

namespace eragon::server {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Histogram;

namespace {

// Latency buckets in seconds: 50 us .. 10 s.
Histogram::BucketBoundaries LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

Family<Counter>& Counters(prometheus::Registry& registry, const char* name, const char* help) {
  return BuildCounter().Name(name).Help(help).Register(registry);
}

Family<prometheus::Gauge>& Gauges(prometheus::Registry& registry, const char* name,
                                  const char* help) {
  return BuildGauge().Name(name).Help(help).Register(registry);
}

// A histogram without labels over LatencyBuckets().
Histogram& LatencyHistogram(prometheus::Registry& registry, const char* name, const char* help) {
  return BuildHistogram().Name(name).Help(help).Register(registry).Add({}, LatencyBuckets());
}

// Caches Family::Add by one label value: Add takes a lock and hashes every time.
class LabelledCounters {
 public:
  LabelledCounters(Family<Counter>& family, std::string label)
      : family_(family), label_(std::move(label)) {}
  Counter& Get(const std::string& value) {
    {
      std::shared_lock lock(mu_);
      auto it = cache_.find(value);
      if (it != cache_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    Counter*& c = cache_[value];
    if (c == nullptr) c = &family_.Add({{label_, value}});
    return *c;
  }

 private:
  Family<Counter>& family_;
  std::string label_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, Counter*> cache_;
};

}  // namespace

struct Metrics::Impl {
  prometheus::Registry registry;
  Family<Counter>& published = Counters(registry, "eragon_events_published_total",
                                        "Events stored by POST /v1/events, by event type");
  Family<Counter>& duplicates = Counters(registry, "eragon_events_duplicate_total",
                                         "Publishes answered as duplicates (nothing stored)");
  Family<Counter>& requests =
      Counters(registry, "eragon_http_requests_total", "HTTP requests answered, by status code");
  Family<Counter>& rejected = Counters(registry, "eragon_http_requests_rejected_total",
                                       "HTTP requests answered with a non-2xx status");
  Histogram& publish_latency = LatencyHistogram(registry, "eragon_publish_latency_seconds",
                                                "POST /v1/events: from parsed request to durable");
  Histogram& request_latency = LatencyHistogram(registry, "eragon_http_request_duration_seconds",
                                                "Time to answer an HTTP request");
  Histogram& log_write = LatencyHistogram(registry, "eragon_log_write_seconds",
                                          "Log group commit: duration of the write(2)");
  Histogram& log_fsync = LatencyHistogram(registry, "eragon_log_fsync_seconds",
                                          "Log group commit: duration of the fdatasync(2)");
  Counter& log_bytes_written =
      Counters(registry, "eragon_log_written_bytes_total", "Bytes written to the log").Add({});
  prometheus::Gauge& bytes_stored =
      Gauges(registry, "eragon_log_stored_bytes", "Bytes of all log segment files").Add({});
  prometheus::Gauge& disk_free =
      Gauges(registry, "eragon_disk_free_bytes", "Free bytes on the file system holding the log")
          .Add({});
  Family<Counter>& deliveries = Counters(registry, "eragon_deliveries_total",
                                         "Delivery outcomes by consumer: delivered, retry, dead, "
                                         "skipped_duplicate, filtered");
  Histogram& delivery_latency =
      LatencyHistogram(registry, "eragon_delivery_latency_seconds",
                       "From an event's append to the log to its 2xx or ack");
  Family<prometheus::Gauge>& lag_events =
      Gauges(registry, "eragon_consumer_lag_events", "Events not yet done, by consumer and topic");
  Family<prometheus::Gauge>& lag_seconds =
      Gauges(registry, "eragon_consumer_lag_seconds", "Age of the oldest event not yet done");
  Family<prometheus::Gauge>& circuit =
      Gauges(registry, "eragon_consumer_circuit_open", "1 while the consumer's circuit is open");
  Family<prometheus::Gauge>& dead =
      Gauges(registry, "eragon_dead_letters", "Dead letters held, by consumer");
  std::mutex delivery_mu;
  std::unordered_map<std::string, Counter*> delivery_counters;
  LabelledCounters published_by_type{published, "event_type"};
  LabelledCounters duplicates_by_type{duplicates, "event_type"};
  LabelledCounters requests_by_code{requests, "code"};
  LabelledCounters rejected_by_code{rejected, "code"};
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::EventPublished(const std::string& event_type, bool duplicate) {
  (duplicate ? impl_->duplicates_by_type : impl_->published_by_type).Get(event_type).Increment();
  if (!duplicate) published_rates_.Add(event_type, 1);
}

void Metrics::PublishLatency(double seconds) { impl_->publish_latency.Observe(seconds); }

void Metrics::Request(int status, double seconds) {
  std::string code = std::to_string(status);
  impl_->requests_by_code.Get(code).Increment();
  if (status >= 300) impl_->rejected_by_code.Get(code).Increment();
  impl_->request_latency.Observe(seconds);
}

void Metrics::DeliveryOutcome(const std::string& consumer, const char* outcome, uint64_t count) {
  const std::string_view o(outcome);
  if (o == "delivered") {
    delivered_rates_.Add(consumer, count);
  } else if (o == "retry" || o == "dead") {
    failed_rates_.Add(consumer, count);
  }
  std::string key = consumer + '\0' + outcome;
  Counter* c;
  {
    std::lock_guard lock(impl_->delivery_mu);
    Counter*& slot = impl_->delivery_counters[key];
    if (slot == nullptr) {
      slot = &impl_->deliveries.Add({{"consumer", consumer}, {"outcome", outcome}});
    }
    c = slot;
  }
  c->Increment(static_cast<double>(count));
}

void Metrics::DeliveryLatency(double seconds) { impl_->delivery_latency.Observe(seconds); }

void Metrics::SetConsumerGauges(const std::vector<ConsumerGauges>& gauges) {
  for (const ConsumerGauges& g : gauges) {
    prometheus::Labels ct{{"consumer", g.consumer}, {"topic", g.topic}};
    impl_->lag_events.Add(ct).Set(g.lag_events);
    impl_->lag_seconds.Add(ct).Set(g.lag_seconds);
    impl_->circuit.Add(ct).Set(g.circuit_open ? 1 : 0);
    impl_->dead.Add({{"consumer", g.consumer}}).Set(g.dead_letters);
  }
}

void Metrics::LogCommit(double write_seconds, double fsync_seconds, uint64_t bytes) {
  impl_->log_write.Observe(write_seconds);
  if (fsync_seconds >= 0) impl_->log_fsync.Observe(fsync_seconds);
  impl_->log_bytes_written.Increment(static_cast<double>(bytes));
}

std::string Metrics::Serialize(channel::Channel* logs) {
  if (logs != nullptr) {
    Result<channel::DiskUsage> usage = logs->GetDiskUsage();
    if (usage.ok()) {
      impl_->bytes_stored.Set(static_cast<double>(usage->log_bytes));
      impl_->disk_free.Set(static_cast<double>(usage->free_bytes));
    }
  }
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace eragon::server
