// The API handlers over real stores in a temp dir, called through the Router on the test
// thread, which plays the io thread. What may wait on a disk must run on the worker pool:
// with the pool held up, such a request stays unanswered, and its answer comes from a
// pool thread.
#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "channel/embedded.h"
#include "config/route_codec.h"
#include "config/sqlite_config_store.h"
#include "dispatch/delivery_store.h"
#include "dispatch/dispatcher.h"
#include "dispatch/push_client.h"
#include "eragon/clock.h"
#include "http/router.h"
#include "index/id_index.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/publisher.h"
#include "server/route_admin.h"
#include "server/route_cache.h"
#include "server/worker_pool.h"
#include "testing/fault_injection_vfs.h"

namespace eragon::server {
namespace {

using namespace std::chrono_literals;

struct Answer {
  http::HttpResponse response;
  std::thread::id thread;
};

class ApiRig {
 public:
  // `config_vfs`: "" keeps the config store in memory; else it is a file in the temp dir
  // opened through that SQLite VFS (a fault-injecting one).
  explicit ApiRig(const std::string& config_vfs = "") {
    static std::atomic<int> n{0};
    dir_ = (std::filesystem::temp_directory_path() /
            ("api_test." + std::to_string(::getpid()) + "." + std::to_string(n++)))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store =
        Must(config_vfs.empty() ? config::OpenSqliteConfigStore(":memory:")
                                : config::OpenSqliteConfigStore(dir_ + "/config.db", config_vfs));
    channel::EmbeddedOptions lo;
    lo.fsync.policy = channel::FsyncPolicy::kNever;
    logs = Must(channel::OpenEmbeddedChannel(dir_ + "/log", lo));
    ids = Must(index::IdIndex::Open(dir_ + "/index", logs.get()));
    deliveries = Must(dispatch::DeliveryStore::Open(dir_ + "/dispatch"));
    auth = std::make_unique<Auth>(store.get(), Clock::System(), 500);
    admin_token = Must(auth->PutService("admin", {"admin"})).first;
    routes = std::make_unique<RouteCache>(store.get(), Clock::System(), 500);
    route_admin = std::make_unique<RouteAdmin>(store.get(), routes.get(), logs.get(), ids.get(),
                                               Clock::System(), nullptr);
    PublisherOptions po;
    po.min_free_bytes = 0;
    po.max_used_fraction = 1.0;
    publisher = std::make_unique<Publisher>(routes.get(), logs.get(), ids.get(), Clock::System(),
                                            &metrics, po, &workers);
    ApiDeps deps{store.get(),
                 logs.get(),
                 ids.get(),
                 auth.get(),
                 routes.get(),
                 route_admin.get(),
                 publisher.get(),
                 &metrics,
                 &workers,
                 Clock::System(),
                 nullptr,
                 deliveries.get(),
                 "",
                 "",
                 nullptr,
                 nullptr};
    api = std::make_unique<Api>(deps);
    api->Register(router);
  }

  ~ApiRig() {
    Release();
    workers.Stop();
    (void)ids->Close();
    (void)logs->Close();
    (void)deliveries->Close();
    std::filesystem::remove_all(dir_);
  }

  // Calls the handler on this thread; the answer arrives through the future.
  std::future<Answer> Call(std::string method, std::string target, std::string body = "") {
    auto promise = std::make_shared<std::promise<Answer>>();
    std::future<Answer> answer = promise->get_future();
    http::HttpRequest req;
    req.method = http::ParseMethod(method);
    req.method_name = method;
    req.SetTarget(target);
    req.headers.Add("Authorization", "Bearer " + admin_token);
    req.body = std::move(body);
    router.Dispatch(std::move(req), http::Responder::ToCallback([promise](http::HttpResponse&& r) {
                      promise->set_value({std::move(r), std::this_thread::get_id()});
                    }));
    return answer;
  }

  // Calls and waits for the answer.
  http::HttpResponse Do(std::string method, std::string target, std::string body = "") {
    std::future<Answer> a = Call(std::move(method), std::move(target), std::move(body));
    EXPECT_EQ(a.wait_for(10s), std::future_status::ready);
    return a.get().response;
  }

  // Keeps the (one) worker busy until Release().
  void HoldWorkers() {
    held_ = std::make_shared<std::promise<void>>();
    std::shared_future<void> go = held_->get_future().share();
    workers.Post([go] { go.wait(); });
  }
  void Release() {
    if (held_) held_->set_value();
    held_.reset();
  }

  std::unique_ptr<config::ConfigStore> store;
  std::unique_ptr<channel::Channel> logs;
  std::unique_ptr<index::IdIndex> ids;
  std::unique_ptr<dispatch::DeliveryStore> deliveries;
  std::unique_ptr<Auth> auth;
  std::string admin_token;
  std::unique_ptr<RouteCache> routes;
  std::unique_ptr<RouteAdmin> route_admin;
  Metrics metrics;
  WorkerPool workers{1};
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<Api> api;
  http::Router router;

 private:
  template <typename T>
  static T Must(Result<T> r) {
    if (!r.ok()) {
      ADD_FAILURE() << r.status().ToString();
      std::abort();
    }
    return std::move(r).value();
  }

  std::string dir_;
  std::shared_ptr<std::promise<void>> held_;
};

constexpr const char* kEvent = R"({"event_type":"t","entity_id":"e","data":{}})";

// Every request that reads or writes a store, the log or the index.
TEST(Api, HandlersThatMayTouchTheDiskRunOnTheWorkerPool) {
  ApiRig rig;
  ASSERT_EQ(rig.Do("PUT", "/v1/routes/t/producer", R"({"producer":"admin"})").status, 201);
  ASSERT_EQ(rig.Do("PUT", "/v1/routes/t/consumers/c", R"({"type":"pull"})").status, 201);
  http::HttpResponse published = rig.Do("POST", "/v1/events", kEvent);
  ASSERT_EQ(published.status, 202) << published.body;
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"GET", "/v1/events/some-id"},
      {"GET", "/v1/events"},
      {"GET", "/v1/routes"},
      {"GET", "/v1/routes/t/producer"},
      {"PUT", "/v1/routes/u/producer"},
      {"DELETE", "/v1/routes/u/producer"},
      {"GET", "/v1/routes/t/consumers/c"},
      {"PUT", "/v1/routes/t/consumers/d"},
      {"DELETE", "/v1/routes/t/consumers/d"},
      {"GET", "/v1/routes/t/consumers/c/dead"},
      {"POST", "/v1/routes/t/consumers/c/replay"},
      {"POST", "/v1/routes/t/consumers/c/seek"},
      {"POST", "/v1/routes/t/consumers/c/enabled"},
      {"POST", "/v1/consumers/c/ack"},
      {"GET", "/v1/services"},
      {"PUT", "/v1/services/x"},
      {"DELETE", "/v1/services/x"},
      {"GET", "/v1/schedules"},
      {"GET", "/v1/schedules/s"},
      {"PUT", "/v1/schedules/s"},
      {"DELETE", "/v1/schedules/s"},
      {"GET", "/readyz"},
      {"GET", "/metrics"},
  };
  rig.HoldWorkers();
  std::vector<std::future<Answer>> answers;
  for (const auto& [method, target] : calls) {
    answers.push_back(rig.Call(method, target, "{}"));
    EXPECT_EQ(answers.back().wait_for(0s), std::future_status::timeout)
        << method << " " << target << " was answered on the io thread";
  }
  std::this_thread::sleep_for(50ms);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(answers[i].wait_for(0s), std::future_status::timeout)
        << calls[i].first << " " << calls[i].second << " was answered without the pool";
  }
  rig.Release();
  for (size_t i = 0; i < calls.size(); ++i) {
    ASSERT_EQ(answers[i].wait_for(10s), std::future_status::ready);
    EXPECT_NE(answers[i].get().thread, std::this_thread::get_id()) << calls[i].second;
  }
}

TEST(Api, FirstEventOfATopicIsStoredFromTheWorkerPoolLaterOnesFromTheIoThread) {
  ApiRig rig;
  ASSERT_EQ(rig.Do("PUT", "/v1/routes/t/producer", R"({"producer":"admin"})").status, 201);
  rig.HoldWorkers();
  std::future<Answer> first = rig.Call("POST", "/v1/events", kEvent);
  EXPECT_EQ(first.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(rig.logs->FindTopic("t"), nullptr) << "the topic was opened on the io thread";
  rig.Release();
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  Answer a = first.get();
  EXPECT_EQ(a.response.status, 202) << a.response.body;
  EXPECT_NE(rig.logs->FindTopic("t"), nullptr);

  rig.HoldWorkers();  // an open topic needs no pool
  std::future<Answer> second = rig.Call("POST", "/v1/events", kEvent);
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(second.get().response.status, 202);
}

TEST(Api, AnUnknownEventTypeIsRefusedWithoutOpeningATopic) {
  ApiRig rig;
  rig.HoldWorkers();
  std::future<Answer> a = rig.Call("POST", "/v1/events", kEvent);
  ASSERT_EQ(a.wait_for(0s), std::future_status::ready) << "answered on the io thread";
  EXPECT_EQ(a.get().response.status, 404);
  EXPECT_TRUE(rig.logs->TopicNames().empty());
}

// docs/api.md "Differences": an `after` that is not a cursor of the dead-letter list is 400.
TEST(Api, DeadLetterCursorThatIsNotOneIsInvalid) {
  ApiRig rig;
  ASSERT_EQ(rig.Do("PUT", "/v1/routes/t/producer", R"({"producer":"admin"})").status, 201);
  ASSERT_EQ(rig.Do("PUT", "/v1/routes/t/consumers/c", R"({"type":"pull"})").status, 201);
  EXPECT_EQ(rig.Do("GET", "/v1/routes/t/consumers/c/dead?after=xyz").status, 400);
  EXPECT_EQ(rig.Do("GET", "/v1/routes/t/consumers/c/dead?after=").status, 400);
  http::HttpResponse ok = rig.Do("GET", "/v1/routes/t/consumers/c/dead?after=00");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"items":[],"next":null})");
}

// docs/api.md "Differences": DELETE of what does not exist is 404, not 204.
TEST(Api, DeleteOfAMissingObjectIsNotFound) {
  ApiRig rig;
  EXPECT_EQ(rig.Do("DELETE", "/v1/routes/t/producer").status, 404);
  EXPECT_EQ(rig.Do("DELETE", "/v1/routes/t/consumers/c").status, 404);
  EXPECT_EQ(rig.Do("DELETE", "/v1/services/nobody").status, 404);
  EXPECT_EQ(rig.Do("DELETE", "/v1/schedules/never").status, 404);
}

// docs/api.md "Differences": services and schedules come in one page whatever ?limit says.
TEST(Api, ServiceAndScheduleListsAreOnePage) {
  ApiRig rig;
  ASSERT_EQ(rig.Do("PUT", "/v1/services/a", R"({"roles":["producer"]})").status, 201);
  ASSERT_EQ(rig.Do("PUT", "/v1/services/b", R"({"roles":["producer"]})").status, 201);
  http::HttpResponse services = rig.Do("GET", "/v1/services?limit=1");
  EXPECT_EQ(services.status, 200);
  EXPECT_NE(services.body.find(R"("name":"b")"), std::string::npos) << services.body;
  EXPECT_NE(services.body.find(R"("next":null)"), std::string::npos) << services.body;
  EXPECT_EQ(rig.Do("GET", "/v1/schedules?limit=0").status, 200);
}

// docs/api.md "Differences": route bodies do not refuse a repeated key; the first counts.
// Issue 16: a key given twice used to take the first; now it is 400 like publish, and
// nothing is stored.
TEST(Api, RepeatedKeyInARouteBodyIsInvalidField) {
  ApiRig rig;
  http::HttpResponse r =
      rig.Do("PUT", "/v1/routes/t/producer", R"({"producer":"first","producer":"second"})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("producer: appears more than once"), std::string::npos) << r.body;
  EXPECT_EQ(rig.Do("GET", "/v1/routes/t/producer").status, 404);
}

// The dispatcher's clock stands still, so its periodic re-read of the routing table never
// comes: only RouteAdmin's word makes a new consumer route reach it.
TEST(RouteAdmin, ConsumerRouteChangesReachTheDispatcherAtOnce) {
  ApiRig rig;
  ManualClock clock;
  auto push = dispatch::PushClient::Create({});
  ASSERT_TRUE(push.ok());
  dispatch::Dispatcher::Deps dd;
  dd.store = rig.store.get();
  dd.logs = rig.logs.get();
  dd.deliveries = rig.deliveries.get();
  dd.push = push->get();
  dd.clock = &clock;
  dispatch::Dispatcher dispatcher(std::move(dd));
  dispatcher.Start();
  RouteAdmin admin(rig.store.get(), rig.routes.get(), rig.logs.get(), rig.ids.get(), &clock,
                   &dispatcher);
  config::ProducerRoute producer;
  ASSERT_TRUE(
      admin.PutProducer(*config::ParseProducerRoute(R"({"producer":"admin"})", "t"), &producer)
          .ok());
  std::this_thread::sleep_for(300ms);  // the dispatcher's start-up read is over
  auto routed = [&] {
    for (const dispatch::ConsumerStats& s : dispatcher.Stats()) {
      if (s.consumer == "c") return true;
    }
    return false;
  };
  config::ConsumerRoute consumer;
  ASSERT_TRUE(
      admin.PutConsumer(*config::ParseConsumerRoute(R"({"type":"pull"})", "t", "c"), &consumer)
          .ok());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!routed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(routed()) << "the dispatcher did not hear of the new route";
  ASSERT_TRUE(admin.DeleteConsumer("t", "c").ok());
  EXPECT_FALSE(routed()) << "the removed route's worker is still there";
  dispatcher.Stop();
  (*push)->Stop();
}

// Issue 16: the config store's fsync fails during a route change. The PUT is answered
// 5xx, and the route stays as it was, whole (the next GET shows the old one).
TEST(Api, ARouteChangeWhoseFsyncFailsIsRefusedAndNothingOfItApplies) {
  testing::FaultInjectionVfs vfs("api-test-" + std::to_string(::getpid()));
  ApiRig rig(vfs.name());
  ASSERT_EQ(rig.Do("PUT", "/v1/routes/t/producer", R"({"producer":"admin"})").status, 201);
  ASSERT_EQ(rig.Do("PUT", "/v1/routes/t/consumers/c", R"({"type":"pull"})").status, 201);
  const std::string before = rig.Do("GET", "/v1/routes/t/consumers/c").body;
  vfs.FailSyncs(true);
  EXPECT_GE(
      rig.Do("PUT", "/v1/routes/t/consumers/c", R"({"type":"pull","max_in_flight":3})").status,
      500);
  vfs.FailSyncs(false);
  EXPECT_EQ(rig.Do("GET", "/v1/routes/t/consumers/c").body, before);
}

}  // namespace
}  // namespace eragon::server
