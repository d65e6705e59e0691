// The Healthy Foods demo's consumer services, written on the Eragon SDK, and its
// terminal view.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "eragon/consumer.h"
#include "eragon/kafka_consumer.h"
#include "eragon/push_receiver.h"

namespace demo {

// Prints one line per event flowing, with a timestamp and the service's colour.
void Show(const std::string& service, const std::string& arrow, const std::string& what);

// Per consumer: each order's events must arrive in publish order (data.order.seq grows).
class OrderChecker {
 public:
  explicit OrderChecker(std::string service) : service_(std::move(service)) {}
  // Returns false (and prints a warning) when `seq` is older than what was seen.
  bool See(const std::string& entity, int64_t seq);
  uint64_t seen() const { return seen_; }
  uint64_t out_of_order() const { return out_of_order_; }

 private:
  std::string service_;
  std::mutex mu_;
  std::map<std::string, int64_t> last_;
  std::atomic<uint64_t> seen_{0};
  std::atomic<uint64_t> out_of_order_{0};
};

// A consumer that Eragon pushes to: the SDK's PushReceiver (Standard Webhooks
// verification when `secret` is set) behind its embedded PushServer on 127.0.0.1.
class PushService {
 public:
  // fail_every: answer 503 to every n-th push (0: never), to show retries.
  // decline_every: answer 400 to the first push of every n-th order_created (0: never):
  // not retried, so it goes dead; redriven (the dashboard's Redrive), it succeeds.
  PushService(std::string name, std::string secret, int fail_every, int decline_every = 0);
  ~PushService();
  std::string url() const { return server_->url(); }
  const OrderChecker& checker() const { return checker_; }

 private:
  eragon::Status Handle(const eragon::Delivery& d);
  // Whether to decline this order_created: the first time of every decline_every-th one.
  bool Declines(const std::string& event_id);

  std::string name_;
  int fail_every_;
  int decline_every_;
  std::atomic<uint64_t> pushes_{0};
  std::mutex decline_mu_;
  uint64_t created_ = 0;                // guarded by decline_mu_
  std::set<std::string> declined_ids_;  // guarded by decline_mu_
  OrderChecker checker_;
  std::unique_ptr<eragon::PushReceiver> receiver_;
  std::unique_ptr<eragon::PushServer> server_;
};

// A consumer that pulls: the SDK's Consumer loop (fetch, handle, ack).
class PullService {
 public:
  PullService(std::string name, std::string url, std::string token);
  ~PullService();
  const OrderChecker& checker() const { return checker_; }

 private:
  std::string name_;
  OrderChecker checker_;
  std::unique_ptr<eragon::Consumer> consumer_;
};

// A consumer app that reads the route's Kafka topic itself (a consumer route of type
// "kafka"): the SDK's KafkaConsumer in the group the route's echo names.
class KafkaService {
 public:
  KafkaService(std::string name, std::string bootstrap, std::string topic, std::string group);
  ~KafkaService();
  const OrderChecker& checker() const { return checker_; }

 private:
  std::string name_;
  OrderChecker checker_;
  std::unique_ptr<eragon::KafkaConsumer> consumer_;
};

}  // namespace demo
