// The Healthy Foods services the order saga talks to, and the choreography beside it:
// restaurant-service (reserves, cancels a reservation, and publishes order_ready when an
// order is confirmed), payment-service (charges, declining every n-th order on purpose)
// and courier-service (delivers what is ready). Each is pushed to by eragond and publishes
// its replies with the SDK's Producer.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "demo_services.h"
#include "eragon/producer.h"

namespace demo {

// A service's own events: a sync SDK Producer. The id of each is derived from its type
// and order, so a command delivered twice publishes a duplicate, stored once.
class Replier {
 public:
  Replier(std::string service, const std::string& url, const std::string& token);
  ~Replier();
  // Publishes `type` for `order` and returns once it is durable (an error: the push is
  // answered with it, so eragond delivers the command again).
  eragon::Status Publish(const std::string& type, const std::string& order, std::string data);

 private:
  std::string service_;
  std::unique_ptr<eragon::Producer> producer_;
};

// Reserves a table for each restaurant_reserve_requested, frees it on
// restaurant_reservation_cancelled (the saga's compensation), and cooks each confirmed
// order, publishing order_ready (choreography: no saga step asks for it).
class RestaurantService {
 public:
  RestaurantService(const std::string& url, const std::string& token);
  std::string url() const { return push_.url(); }
  const OrderChecker& checker() const { return push_.checker(); }
  uint64_t cancelled() const { return cancelled_; }
  uint64_t ready() const { return ready_; }

 private:
  eragon::Status React(const eragon::Delivery& d);

  Replier out_;
  std::atomic<uint64_t> cancelled_{0};
  std::atomic<uint64_t> ready_{0};
  PushService push_;  // last: its thread calls React
};

// Charges each payment_charge_requested: payment_charged, or payment_declined for every
// decline_every-th order (data.order.n; 0: never), so the saga compensates. Signed pushes,
// and a 503 to every 7th push (retried by eragond).
class PaymentService {
 public:
  PaymentService(const std::string& url, const std::string& token, const std::string& secret,
                 int decline_every);
  std::string url() const { return push_.url(); }
  const OrderChecker& checker() const { return push_.checker(); }
  uint64_t declined() const { return declined_; }

 private:
  eragon::Status React(const eragon::Delivery& d);

  Replier out_;
  int decline_every_;
  std::atomic<uint64_t> declined_{0};
  PushService push_;  // last: its thread calls React
};

// Picks up each order_ready and publishes order_delivered. Refuses the first push of every
// dead_letter_every-th order (400: not retried, a dead letter to Redrive in the dashboard;
// 0: never).
class CourierService {
 public:
  CourierService(const std::string& url, const std::string& token, int dead_letter_every);
  std::string url() const { return push_.url(); }
  const OrderChecker& checker() const { return push_.checker(); }
  uint64_t delivered() const { return delivered_; }

 private:
  eragon::Status React(const eragon::Delivery& d);
  // Whether to refuse this push: the first one of every dead_letter_every-th order.
  bool Refuses(const std::string& event_id);

  Replier out_;
  int dead_letter_every_;
  std::atomic<uint64_t> delivered_{0};
  std::mutex refuse_mu_;
  uint64_t ready_seen_ = 0;            // guarded by refuse_mu_
  std::set<std::string> refused_ids_;  // guarded by refuse_mu_
  PushService push_;                   // last: its thread calls React
};

}  // namespace demo
