// The Healthy Foods demo's consumer services, written on the Eragon SDK, and its
// terminal view.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "eragon/consumer.h"
#include "eragon/kafka_consumer.h"
#include "eragon/push_receiver.h"

namespace demo {

// Prints one line per event flowing, with a timestamp and the service's colour.
void Show(const std::string& service, const std::string& arrow, const std::string& what);

// Where an event type stands in an order's life (order_created 1 ... order_delivered 8):
// each event of an order is published after the one before it was received, so every
// consumer must see an order's stages grow. 0 for types outside the demo.
int StageOf(const std::string& event_type);

// Per consumer: each order's events must arrive in publish order (their stage grows).
class OrderChecker {
 public:
  explicit OrderChecker(std::string service) : service_(std::move(service)) {}
  // Returns false (and prints a warning) when `stage` is older than what was seen.
  bool See(const std::string& entity, int64_t stage);
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
// verification when `secret` is set) behind its embedded PushServer on 127.0.0.1. Each
// push runs `react` (the service's work; it prints its own line); a push that `react`
// accepted is checked for order.
class PushService {
 public:
  using Reaction = std::function<eragon::Status(const eragon::Delivery&)>;
  // fail_every: answer 503 to every n-th push (0: never), to show retries.
  PushService(std::string name, std::string secret, int fail_every, Reaction react);
  ~PushService();
  std::string url() const { return server_->url(); }
  const OrderChecker& checker() const { return checker_; }

 private:
  eragon::Status Handle(const eragon::Delivery& d);

  std::string name_;
  int fail_every_;
  Reaction react_;
  std::atomic<uint64_t> pushes_{0};
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
