// Platform events end to end (API.md "Platform events", "Consumer routes: more settings"
// disable_after_ms): the real eragond publishing eragon.* events about failing push
// consumers (real HTTP endpoints), read back by a pull consumer on eragon.platform,
// across restarts.
#include <atomic>
#include <map>
#include <set>

#include "test_util.h"
#include "testing/test_http_server.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

constexpr const char* kPlatformTypes[] = {"eragon.consumer_disabled", "eragon.dead_lettered",
                                          "eragon.circuit_opened", "eragon.circuit_closed",
                                          "eragon.saga_failed"};

class PlatformEventsTest : public ServerTest {
 protected:
  struct Received {
    std::string id;
    std::string type;
    std::string entity;
    std::string producer;
    std::string data;  // raw JSON
  };

  // A pull consumer "alerts" on every platform event type, from the beginning.
  void SubscribeAlerts() {
    for (const char* type : kPlatformTypes) {
      HttpReply r = Admin("PUT", std::string("/v1/routes/") + type + "/consumers/alerts",
                          R"({"type":"pull","start":"earliest"})");
      ASSERT_EQ(r.status, 201) << Describe(r);
    }
  }

  // Fetches (and acks) what "alerts" gets within wait_ms.
  std::vector<Received> FetchAlerts(int wait_ms) {
    std::vector<Received> out;
    HttpReply r = Admin("POST", "/v1/consumers/alerts/fetch",
                        R"({"max":1000,"wait_ms":)" + std::to_string(wait_ms) + "}");
    EXPECT_EQ(r.status, 200) << Describe(r);
    Json j(r.body);
    std::string acks;
    for (int64_t i = 0, n = j.Len({"messages"}); i < n; ++i) {
      const std::string k = std::to_string(i);
      Received m{j.Str({"messages", k, "event", "id"}),
                 j.Str({"messages", k, "event", "event_type"}),
                 j.Str({"messages", k, "event", "entity_id"}),
                 j.Str({"messages", k, "event", "producer"}), ""};
      auto data = j.At({"messages", k, "event", "data"});
      if (data) m.data = simdjson::minify(*data);
      out.push_back(std::move(m));
      acks += (acks.empty() ? "" : ",") + Quote(j.Str({"messages", k, "ack_id"}));
    }
    if (!acks.empty()) {
      HttpReply a = Admin("POST", "/v1/consumers/alerts/ack", "{\"ack_ids\":[" + acks + "]}");
      EXPECT_EQ(a.status, 200) << Describe(a);
    }
    return out;
  }

  // Collects alerts until `want` of type `type` arrived (or 20 s), then 1 s more.
  std::vector<Received> CollectAlerts(const std::string& type, size_t want) {
    std::vector<Received> all;
    auto count = [&] {
      size_t n = 0;
      for (const Received& m : all) n += m.type == type;
      return n;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count() < want && std::chrono::steady_clock::now() < deadline) {
      for (Received& m : FetchAlerts(500)) all.push_back(std::move(m));
    }
    for (Received& m : FetchAlerts(1000)) all.push_back(std::move(m));
    return all;
  }

  static std::vector<Received> OfType(const std::vector<Received>& all, const std::string& type) {
    std::vector<Received> out;
    for (const Received& m : all) {
      if (m.type == type) out.push_back(m);
    }
    return out;
  }

  void RouteShop(const std::string& url, const std::string& extra) {
    SetProducer("order_created", "shop", R"("ordered":true)");
    HttpReply r =
        Admin("PUT", "/v1/routes/order_created/consumers/billing",
              R"({"type":"http","url":")" + url + R"(","start":"earliest",)" + extra + "}");
    ASSERT_EQ(r.status, 201) << Describe(r);
  }

  void PublishOrders(int n, int entities, const std::string& prefix) {
    std::string body = "{\"events\":[";
    for (int i = 0; i < n; ++i) {
      body += (i ? "," : "") + EventJson("order_created", "o" + std::to_string(i % entities),
                                         R"({"n":)" + std::to_string(i) + "}",
                                         prefix + std::to_string(i));
    }
    PublishOk(body + "]}");
  }
};

TEST_F(PlatformEventsTest, PlatformProducerRoutesExistFromTheFirstStartAndAreBuiltIn) {
  Json routes(Admin("GET", "/v1/routes").body);
  std::set<std::string> found;
  for (int64_t i = 0, n = routes.Len({"producers"}); i < n; ++i) {
    const std::string k = std::to_string(i);
    if (routes.Str({"producers", k, "producer"}) != "eragon") continue;
    EXPECT_EQ(routes.Str({"producers", k, "topic"}), "eragon.platform");
    found.insert(routes.Str({"producers", k, "event_type"}));
  }
  EXPECT_EQ(found.size(), 5u);
  for (const char* type : kPlatformTypes) {
    EXPECT_TRUE(found.count(type)) << type;
    const std::string path = std::string("/v1/routes/") + type + "/producer";
    EXPECT_API_ERROR(Admin("DELETE", path), 409, "conflict");
    EXPECT_API_ERROR(Admin("PUT", path, R"({"producer":"mallory"})"), 409, "conflict");
  }
  Restart();  // still there, unchanged, after a restart
  EXPECT_EQ(Admin("GET", "/v1/routes/eragon.dead_lettered/producer").status, 200);
}

// One eragon.dead_lettered per event that goes dead, naming it; a restart publishes none
// again, and the pull consumer receives none twice.
TEST_F(PlatformEventsTest, DeadLetteredIsPublishedOncePerDeadEventAndNotAgainAfterRestart) {
  TestHttpServer endpoint([](const TestRequest&) {
    TestAnswer a;
    a.status = 422;
    a.body = "no such customer";
    return a;
  });
  SubscribeAlerts();
  RouteShop(endpoint.Url("/hook"), R"("retry":{"max_attempts":3})");
  PublishOrders(3, 3, "dead-");
  std::vector<Received> all = CollectAlerts("eragon.dead_lettered", 3);
  std::vector<Received> dead = OfType(all, "eragon.dead_lettered");
  ASSERT_EQ(dead.size(), 3u);
  std::set<std::string> named;
  for (const Received& m : dead) {
    EXPECT_EQ(m.entity, "billing");
    EXPECT_EQ(m.producer, "eragon");
    Json d(m.data);
    named.insert(d.Str({"event_id"}));
    EXPECT_EQ(d.Str({"consumer"}), "billing");
    EXPECT_EQ(d.Str({"event_type"}), "order_created");
    EXPECT_EQ(d.Str({"producer"}), "shop");
    EXPECT_EQ(d.Int({"last_status"}), 422);
    EXPECT_EQ(d.Int({"attempts"}), 1);
    EXPECT_NE(d.Str({"last_error"}).find("no such customer"), std::string::npos) << m.data;
  }
  EXPECT_EQ(named, (std::set<std::string>{"dead-0", "dead-1", "dead-2"}));
  Restart();
  EXPECT_TRUE(FetchAlerts(1500).empty());
  EXPECT_EQ(CountEvents("eragon.dead_lettered"), 3);
}

// An outage opens the consumer's circuit once and its end closes it once.
TEST_F(PlatformEventsTest, CircuitOpenedAndClosedArePublishedOncePerOutage) {
  std::atomic<bool> down{true};
  TestHttpServer endpoint([&](const TestRequest&) {
    TestAnswer a;
    a.status = down ? 503 : 200;
    return a;
  });
  SubscribeAlerts();
  RouteShop(endpoint.Url("/hook"),
            R"("retry":{"max_attempts":50,"initial_backoff_ms":20,"max_backoff_ms":100})");
  PublishOrders(10, 10, "c-");
  std::vector<Received> all = CollectAlerts("eragon.circuit_opened", 1);
  down = false;
  std::vector<Received> more = CollectAlerts("eragon.circuit_closed", 1);
  all.insert(all.end(), more.begin(), more.end());
  std::vector<Received> opened = OfType(all, "eragon.circuit_opened");
  std::vector<Received> closed = OfType(all, "eragon.circuit_closed");
  ASSERT_EQ(opened.size(), 1u);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(opened[0].entity, "billing");
  EXPECT_EQ(Json(opened[0].data).Str({"topic"}), "order_created");
  EXPECT_NE(Json(opened[0].data).Str({"last_error"}).find("503"), std::string::npos)
      << opened[0].data;
  EXPECT_EQ(Json(closed[0].data).Str({"state"}), "closed");
  EXPECT_TRUE(OfType(all, "eragon.dead_lettered").empty());  // an outage dead-letters nothing
  Restart();
  EXPECT_TRUE(FetchAlerts(1500).empty());
}

// disable_after_ms: a route failing for that long is disabled (durably, with the reason),
// eragon.consumer_disabled is published once (also across a restart), nothing is pushed
// while disabled, and re-enabling delivers every held event: nothing skipped or dead.
TEST_F(PlatformEventsTest, DisableAfterMsDisablesTheRouteAndReenablingResumesFromTheHeldPosition) {
  std::atomic<bool> down{true};
  std::mutex mu;
  std::set<std::string> delivered;
  std::atomic<int> requests{0};
  TestHttpServer endpoint([&](const TestRequest& r) {
    ++requests;
    TestAnswer a;
    a.status = down ? 500 : 200;
    if (!down) {
      std::lock_guard lk(mu);
      delivered.insert(r.Header("Eragon-Event-Id").value_or(""));
    }
    return a;
  });
  SubscribeAlerts();
  const std::string settings =
      R"("retry":{"max_attempts":1000,"initial_backoff_ms":50,"max_backoff_ms":100},)"
      R"("disable_after_ms":1500)";
  RouteShop(endpoint.Url("/hook"), settings);
  PublishOrders(20, 2, "d-");
  std::vector<Received> all = CollectAlerts("eragon.consumer_disabled", 1);
  std::vector<Received> disabled = OfType(all, "eragon.consumer_disabled");
  ASSERT_EQ(disabled.size(), 1u);
  EXPECT_EQ(disabled[0].entity, "billing");
  Json d(disabled[0].data);
  EXPECT_EQ(d.Str({"event_type"}), "order_created");
  EXPECT_NE(d.Str({"reason"}).find("HTTP 500"), std::string::npos) << disabled[0].data;

  Json route(Admin("GET", "/v1/routes/order_created/consumers/billing").body);
  EXPECT_EQ(route.Bool({"enabled"}), false);
  EXPECT_EQ(route.Str({"disabled_reason"}), d.Str({"reason"}));
  EXPECT_EQ(route.Int({"disabled_at"}), d.Int({"disabled_at"}));
  EXPECT_EQ(route.Int({"disable_after_ms"}), 1500);

  Restart();  // the disable is durable and not published again
  EXPECT_TRUE(FetchAlerts(1500).empty());
  EXPECT_EQ(CountEvents("eragon.consumer_disabled"), 1);
  EXPECT_EQ(Json(Admin("GET", "/v1/routes/order_created/consumers/billing").body).Bool({"enabled"}),
            false);
  down = false;
  const int before = requests.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(requests.load(), before);  // disabled: nothing pushed

  HttpReply re = Admin("PUT", "/v1/routes/order_created/consumers/billing",
                       R"({"type":"http","url":")" + endpoint.Url("/hook") +
                           R"(","start":"earliest","enabled":true,)" + settings + "}");
  ASSERT_EQ(re.status, 200) << Describe(re);
  EXPECT_EQ(Json(re.body).At({"disabled_reason"}), std::nullopt) << re.body;
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lk(mu);
        return delivered.size() == 20;
      },
      std::chrono::seconds(20)));
  Json dead(Admin("GET", "/v1/routes/order_created/consumers/billing/dead").body);
  EXPECT_EQ(dead.Len({"items"}), 0);
  EXPECT_TRUE(OfType(FetchAlerts(500), "eragon.consumer_disabled").empty());
}

TEST_F(PlatformEventsTest, BadDisableAfterMsIsInvalidFieldAndChangesNothing) {
  SetProducer("order_created", "shop");
  for (const char* bad : {"-1", "\"1s\"", "1.5", "true", "31536000001"}) {
    HttpReply r = Admin("PUT", "/v1/routes/order_created/consumers/billing",
                        std::string(R"({"type":"pull","disable_after_ms":)") + bad + "}");
    EXPECT_API_ERROR(r, 400, "invalid_field");
    EXPECT_NE(r.body.find("disable_after_ms"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Admin("GET", "/v1/routes/order_created/consumers/billing").status, 404);
  HttpReply ok = Admin("PUT", "/v1/routes/order_created/consumers/billing",
                       R"({"type":"pull","disable_after_ms":60000})");
  ASSERT_EQ(ok.status, 201) << Describe(ok);
  EXPECT_EQ(Json(ok.body).Int({"disable_after_ms"}), 60000);
}

}  // namespace
}  // namespace eragon::testing
