// Delivery attempts and live stats end to end (API.md "Delivery attempts", "Dashboard"):
// the real eragond pushing to scripted endpoints, GET /v1/events/{id}/attempts with its
// paging and bad input, and GET /v1/stats moving as events are published, delivered and
// fail.
#include <atomic>

#include "test_util.h"
#include "testing/test_http_server.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

class AttemptsTest : public ServerTest {
 protected:
  void AddConsumer(const std::string& type, const std::string& name, const std::string& body) {
    HttpReply r = Admin("PUT", "/v1/routes/" + type + "/consumers/" + name, body);
    ASSERT_TRUE(r.status == 201 || r.status == 200) << Describe(r);
  }
  static std::string Push(const std::string& url, int max_attempts = 5) {
    return R"({"type":"http","start":"earliest","url":")" + url + R"(","retry":{"max_attempts":)" +
           std::to_string(max_attempts) + R"(,"initial_backoff_ms":20,"max_backoff_ms":40}})";
  }
};

// An endpoint that answers 503 twice, then 200.
TEST_F(AttemptsTest, FailingThenSucceedingPushShowsEachAttemptOldestFirst) {
  std::atomic<int> calls{0};
  TestHttpServer ep([&](const TestRequest&) {
    TestAnswer a;
    a.status = ++calls <= 2 ? 503 : 200;
    return a;
  });
  SetProducer("order_created", "order-service");
  AddConsumer("order_created", "payments", Push(ep.Url("/e")));
  std::string id = PublishOk(EventJson("order_created", "o-1", "{}"))[0];
  const std::string path = "/v1/events/" + id + "/attempts";
  HttpReply r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = Admin("GET", path);
        return Json(r.body).Len({"items"}) == 3;
      },
      std::chrono::seconds(20)))
      << Describe(r);
  Json j(r.body);
  const int64_t want_status[] = {503, 503, 200};
  for (int i = 0; i < 3; ++i) {
    const std::string k = std::to_string(i);
    EXPECT_EQ(j.Str({"items", k, "consumer"}), "payments");
    EXPECT_EQ(j.Int({"items", k, "attempt"}), i + 1);
    EXPECT_EQ(j.Str({"items", k, "kind"}), "push");
    EXPECT_EQ(j.Int({"items", k, "status"}), want_status[i]);
    EXPECT_GE(j.Int({"items", k, "duration_ms"}).value_or(-1), 0);
    EXPECT_GT(j.Int({"items", k, "at"}).value_or(0), 0);
    EXPECT_FALSE(j.Str({"items", k, "node"}).empty());
    EXPECT_EQ(j.Str({"items", k, "error"}).empty(), i == 2) << j.Str({"items", k, "error"});
  }
  EXPECT_FALSE(j.At({"next"}).has_value() && !j.At({"next"})->is_null());
  // Paging one at a time gives the same items in the same order, then next: null.
  std::string after;
  for (int i = 0; i < 3; ++i) {
    HttpReply page = Admin("GET", path + "?consumer=payments&limit=1" +
                                      (after.empty() ? "" : "&after=" + UrlEncode(after)));
    ASSERT_EQ(page.status, 200) << Describe(page);
    Json p(page.body);
    ASSERT_EQ(p.Len({"items"}), 1);
    EXPECT_EQ(p.Int({"items", "0", "attempt"}), i + 1);
    after = p.Str({"next"});
    EXPECT_EQ(after.empty(), i == 2) << page.body;
  }
  EXPECT_EQ(Json(Admin("GET", path + "?consumer=someone-else").body).Len({"items"}), 0);
}

TEST_F(AttemptsTest, BadInputIsRefusedWithTheDocumentedError) {
  SetProducer("order_created", "order-service");
  std::string id = PublishOk(EventJson("order_created", "o-1", "{}"))[0];
  const std::string path = "/v1/events/" + id + "/attempts";
  EXPECT_EQ(Admin("GET", path).status, 200);
  EXPECT_API_ERROR(Admin("GET", "/v1/events/no-such-id/attempts"), 404, "not_found");
  EXPECT_API_ERROR(Admin("GET", "/v1/events/bad%20id/attempts"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?limit=0"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?limit=1001"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?limit=x"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?after=not-a-cursor"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?after=00"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?consumer=Not_A_Name"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?producer=Not_A_Name"), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", path + "?producer=billing-service"), 404, "not_found");
  EXPECT_API_ERROR(Call("", "GET", path), 401, "unauthenticated");
}

class AttemptsOffTest : public AttemptsTest {
 protected:
  std::vector<std::string> ExtraArgs() override { return {"--record-attempts=false"}; }
};

TEST_F(AttemptsOffTest, RecordingTurnedOffDeliversAndRecordsNothing) {
  std::atomic<int> delivered{0};
  TestHttpServer ep([&](const TestRequest&) {
    ++delivered;
    return TestAnswer{};
  });
  SetProducer("order_created", "order-service");
  AddConsumer("order_created", "payments", Push(ep.Url("/e")));
  std::string id = PublishOk(EventJson("order_created", "o-1", "{}"))[0];
  HttpReply r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = Admin("GET", "/v1/events/" + id);
        return Json(r.body).Str({"deliveries", "0", "state"}) == "delivered";
      },
      std::chrono::seconds(20)))
      << Describe(r);
  EXPECT_EQ(delivered.load(), 1);
  EXPECT_EQ(Json(Admin("GET", "/v1/events/" + id + "/attempts").body).Len({"items"}), 0);
}

// ---- GET /v1/stats ----

class StatsTest : public AttemptsTest {
 protected:
  // The consumer's entry of a stats answer (null element when absent).
  static std::optional<simdjson::dom::element> ConsumerOf(const Json& j, const std::string& name) {
    simdjson::dom::array items;
    if (j.root()["consumers"].get(items)) return std::nullopt;
    for (simdjson::dom::element c : items) {
      std::string_view n;
      if (!c["consumer"].get(n) && n == name) return c;
    }
    return std::nullopt;
  }
  // The entry of `type` in "event_types" (the platform's eragon.* types are there too).
  static std::optional<simdjson::dom::element> TypeOf(const Json& j, const std::string& type) {
    simdjson::dom::array items;
    if (j.root()["event_types"].get(items)) return std::nullopt;
    for (simdjson::dom::element t : items) {
      std::string_view n;
      if (!t["event_type"].get(n) && n == type) return t;
    }
    return std::nullopt;
  }
  static double Num(simdjson::dom::element e, std::string_view key, std::string_view sub = {}) {
    simdjson::dom::element v = e[key];
    if (!sub.empty()) v = v[sub];
    double d = -1;
    if (v.is_int64()) return static_cast<double>(v.get_int64().value());
    if (!v.get_double().get(d)) return d;
    return -1;
  }
  static std::string Str(simdjson::dom::element e, std::string_view key) {
    std::string_view s;
    return e[key].get(s) ? std::string() : std::string(s);
  }
  Json Stats(const std::string& token) {
    HttpReply r = Call(token, "GET", "/v1/stats");
    EXPECT_EQ(r.status, 200) << Describe(r);
    return Json(r.body);
  }
};

TEST_F(StatsTest, RatesLagCircuitAndDeadLettersMoveWithTraffic) {
  TestHttpServer ok([](const TestRequest&) { return TestAnswer{}; });
  TestHttpServer down([](const TestRequest&) {
    TestAnswer a;
    a.status = 503;
    return a;
  });
  TestHttpServer rejecting([](const TestRequest&) {
    TestAnswer a;
    a.status = 400;
    return a;
  });
  SetProducer("order_created", "order-service", R"("topic":"orders")");
  AddConsumer("order_created", "good", Push(ok.Url("/e")));
  AddConsumer("order_created", "broken", Push(down.Url("/e"), 50));
  AddConsumer("order_created", "picky", Push(rejecting.Url("/e")));
  const std::string reader = CreateService("dashboard-viewer", {"consumer"});
  Json before = Stats(reader);
  ASSERT_TRUE(before.ok());
  auto created = TypeOf(before, "order_created");
  ASSERT_TRUE(created.has_value()) << before.root();
  EXPECT_EQ(Str(*created, "topic"), "orders");
  for (int i = 0; i < 12; ++i) {
    PublishOk(EventJson("order_created", "ent-" + std::to_string(i), "{}"));
  }
  Json j("");
  ASSERT_TRUE(WaitFor(
      [&] {
        j = Stats(reader);
        auto good = ConsumerOf(j, "good"), broken = ConsumerOf(j, "broken");
        auto picky = ConsumerOf(j, "picky");
        return good && broken && picky && Num(*good, "lag_events") == 0 &&
               Num(*good, "delivered_per_s", "1m") > 0 && Str(*broken, "circuit") == "open" &&
               Num(*picky, "dead_letters") == 12;
      },
      std::chrono::seconds(30)))
      << j.root();
  auto type = TypeOf(j, "order_created");
  ASSERT_TRUE(type.has_value());
  EXPECT_NEAR(Num(*type, "published_per_s", "1m"), 12.0 / 60, 0.001);
  auto good = *ConsumerOf(j, "good"), broken = *ConsumerOf(j, "broken");
  auto picky = *ConsumerOf(j, "picky");
  EXPECT_NEAR(Num(good, "delivered_per_s", "1m"), 12.0 / 60, 0.001);
  EXPECT_NEAR(Num(good, "delivered_per_s", "5m"), 12.0 / 300, 0.001);
  EXPECT_EQ(Num(good, "failed_per_s", "1m"), 0);
  EXPECT_EQ(Str(good, "circuit"), "closed");
  EXPECT_EQ(Num(good, "dead_letters"), 0);
  EXPECT_TRUE(good["enabled"].get_bool().value());
  EXPECT_EQ(Str(good, "type"), "http");
  EXPECT_GT(Num(broken, "lag_events"), 0);
  EXPECT_GT(Num(broken, "lag_seconds"), 0);
  EXPECT_GT(Num(broken, "failed_per_s", "1m"), 0);
  EXPECT_EQ(Num(broken, "dead_letters"), 0);  // an outage never dead-letters the backlog
  EXPECT_NEAR(Num(picky, "failed_per_s", "1m"), 12.0 / 60, 0.001);
  // Disabling a route shows.
  AddConsumer("order_created", "good",
              R"({"type":"http","enabled":false,"url":")" + ok.Url("/e") + R"("})");
  Json after = Stats(reader);  // the element below points into it
  auto disabled = ConsumerOf(after, "good");
  ASSERT_TRUE(disabled.has_value());
  EXPECT_FALSE((*disabled)["enabled"].get_bool().value());
  EXPECT_API_ERROR(Call("", "GET", "/v1/stats"), 401, "unauthenticated");
}

}  // namespace
}  // namespace eragon::testing
