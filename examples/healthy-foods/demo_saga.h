// The order saga of the Healthy Foods demo: its event types and their producers, its
// definition (PUT /v1/sagas/order), and the terminal view of each instance's steps.
//
//   order_created ─▶ reserve (restaurant_reserve_requested ─▶ restaurant_reserved)
//                 ─▶ charge  (payment_charge_requested ─▶ payment_charged)  ─▶ order_confirmed
//   payment_declined ─▶ restaurant_reservation_cancelled (compensation) ─▶ order_rejected
//   choreography: order_confirmed ─▶ restaurant: order_ready ─▶ courier: order_delivered
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace eragon {
class HttpClient;
}

namespace demo {

inline constexpr const char* kSagaName = "order";

struct TypeProducer {
  const char* event_type;
  const char* producer;
};
// Every event type of the demo with its producer. All share the ordered topic `orders`,
// so each order's events reach every consumer in the order they were published.
const std::vector<TypeProducer>& OrderTypes();

// The saga's definition: the body of PUT /v1/sagas/order.
std::string OrderSagaBody();

// Prints each saga instance's steps as they happen, one line per step (and one per
// compensation, start and end), reading GET /v1/sagas/order/instances/{id} of every
// order it was told about until the instance completed or failed.
class SagaWatcher {
 public:
  // Starts polling `url` as `token` (admin) every 200 ms.
  SagaWatcher(std::string url, std::string token);
  ~SagaWatcher();  // stops the thread
  SagaWatcher(const SagaWatcher&) = delete;
  SagaWatcher& operator=(const SagaWatcher&) = delete;

  // Watches the instance of `order` (it may not exist yet). Thread-safe.
  void Track(const std::string& order);
  // Instances that ended (every step printed), and those not ended yet.
  uint64_t confirmed() const { return confirmed_; }
  uint64_t rejected() const { return rejected_; }
  uint64_t unfinished() const { return unfinished_; }

 private:
  struct Tracked {
    std::string id;
    size_t shown = 0;        // history entries already printed
    int64_t command_at = 0;  // when the current step's command was published
  };
  void Run();
  // Prints the instance's new history entries; true once it ended and all are printed.
  bool Poll(eragon::HttpClient& api, Tracked& t);

  const std::string url_;
  const std::string token_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                  // guarded by mu_
  std::vector<std::string> incoming_;  // guarded by mu_; Track's, taken by Run
  std::vector<Tracked> tracked_;       // Run's thread only: the ones not ended
  std::atomic<uint64_t> confirmed_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> unfinished_{0};
  std::thread thread_;
};

}  // namespace demo
