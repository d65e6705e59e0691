// Test-only: an in-process dispatcher over real parts — the embedded channel in a temp dir
// (fsync never, small segments), an in-memory SQLite ConfigStore, a DeliveryStore, a real
// PushClient — driven by a ManualClock, with real HTTP endpoints (TestHttpServer) that
// record what they receive and answer per a policy the test sets.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "channel/channel.h"
#include "config/config_store.h"
#include "dispatch/delivery_store.h"
#include "dispatch/dispatcher.h"
#include "dispatch/push_client.h"
#include "eragon/clock.h"
#include "eragon/event.h"
#include "testing/test_http_server.h"

namespace eragon::dispatch::testing {

// Smaller counts under sanitizers (they are 5-20x slower).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// One request as the endpoint saw it, and what it answered.
struct Hit {
  std::string id;
  std::string type;
  std::string entity;
  int attempt = 0;
  int status = 0;  // 0: no answer / reset / close
};

// A real HTTP endpoint. The policy picks each answer; the default answers 200.
class Endpoint {
 public:
  using Policy = std::function<TestAnswer(const Hit&)>;
  explicit Endpoint(Policy policy = nullptr);
  ~Endpoint() { server_.Stop(); }

  std::string Url() const { return server_.Url("/hook"); }
  void SetPolicy(Policy policy);
  // Holds every request this long (real time) before the policy's answer, so concurrent
  // requests can be counted.
  void SetHold(std::chrono::milliseconds hold) { hold_ms_ = hold.count(); }
  void Stop() { server_.Stop(); }

  std::vector<Hit> hits() const;
  size_t count() const;
  // Ids answered 2xx, in the order they were answered.
  std::vector<std::string> Delivered() const;
  size_t delivered() const;
  int max_concurrent() const { return max_concurrent_.load(); }
  // Requests that arrived (counted before the hold and the answer).
  size_t arrived() const { return arrived_.load(); }

 private:
  TestAnswer Handle(const TestRequest& req);

  mutable std::mutex mu_;
  Policy policy_;
  std::vector<Hit> hits_;
  std::atomic<int64_t> hold_ms_{0};
  std::atomic<size_t> arrived_{0};
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  TestHttpServer server_;  // last: stopped first, while the rest is alive
};

TestAnswer Answer(int status, std::vector<std::pair<std::string, std::string>> headers = {});
TestAnswer Do(TestAnswer::Action action);

// A URL on 127.0.0.1 where nothing listens (connections are refused).
std::string RefusingUrl();

// Polls `pred` every millisecond until it holds or `seconds` (real time) pass.
bool WaitFor(const std::function<bool()>& pred, double seconds = 10);

class Rig {
 public:
  Rig();
  ~Rig();

  // Opens the log, the delivery store, the push client and a started Dispatcher on the
  // rig's directory (the config store and the clock live as long as the rig).
  void Open();
  // Stops and closes everything but the config store and the clock.
  void Close();
  void Restart() {
    Close();
    Open();
  }

  void Producer(const std::string& type, const std::string& topic, bool ordered,
                uint32_t partitions = 4);
  // A push route with test-friendly defaults: start earliest, 3 attempts, 1 s..8 s backoff,
  // 2 s timeout.
  config::ConsumerRoute HttpRoute(const std::string& type, const std::string& consumer,
                                  const std::string& url) const;
  config::ConsumerRoute PullRoute(const std::string& type, const std::string& consumer) const;
  // Stores the route, tells the dispatcher and waits until its worker exists.
  void Put(const config::ConsumerRoute& route);
  // Re-reads the routing table synchronously (Redrive of nothing refreshes the routes).
  void SyncRoutes(const std::string& type, const std::string& consumer);

  struct Published {
    Event event;
    std::string topic;
    uint32_t partition = 0;
    uint64_t offset = 0;
  };
  Published Publish(const std::string& type, const std::string& entity, std::string id = "",
                    std::string data = R"({"n":1})");
  // Publishes `n` events in batches (type and entity chosen by `make`), returns them.
  std::vector<Published> PublishMany(
      size_t n, const std::function<std::pair<std::string, std::string>(size_t)>& make);

  // Moves manual time and wakes the dispatcher loop.
  void Advance(int64_t ms);
  // Advances in `step_ms` steps (waiting briefly for the loop after each) until `pred`
  // holds or `max_ms` of manual time passed. Returns pred().
  bool AdvanceUntil(const std::function<bool()>& pred, int64_t step_ms, int64_t max_ms);

  std::optional<DeliveryState> StateOf(const Published& p, const std::string& consumer);
  std::vector<DeadLetter> Dead(const std::string& consumer, const std::string& type);
  std::optional<ConsumerStats> StatsOf(const std::string& consumer, const std::string& topic);
  // Every event read so far is done (lag 0, empty window).
  bool Idle(const std::string& consumer, const std::string& topic);

  std::vector<PulledMessage> FetchNow(const std::string& consumer, size_t max = 100,
                                      int64_t ack_timeout_ms = 30'000);
  // Fetches until `n` messages came (or 10 s real time passed).
  std::vector<PulledMessage> FetchN(const std::string& consumer, size_t n,
                                    int64_t ack_timeout_ms = 30'000);

  ManualClock clock;
  DeliveryObserver observer;  // given to the Dispatcher at Open
  std::string dir;
  std::unique_ptr<config::ConfigStore> config;
  std::unique_ptr<channel::Channel> logs;
  std::unique_ptr<DeliveryStore> store;
  std::unique_ptr<PushClient> push;
  std::unique_ptr<Dispatcher> dispatcher;

 private:
  std::map<std::string, config::ProducerRoute> producers_;
};

}  // namespace eragon::dispatch::testing
