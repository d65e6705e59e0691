// The routing table: CRUD, the 409 rules, validation, and the 1-second visibility rule.
#include <chrono>
#include <functional>
#include <thread>

#include "test_util.h"

namespace eragon::testing {
namespace {

using std::chrono::steady_clock;

class RoutesTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    CreateService("order-service", {"producer"});
    CreateService("billing-service", {"producer"});
  }
};

TEST_F(RoutesTest, ProducerPutCreatesThenReplacesAndEchoes) {
  HttpReply created =
      Admin("PUT", "/v1/routes/order_created/producer", R"({"producer":"order-service"})");
  ASSERT_EQ(created.status, 201) << Describe(created);
  Json c(created.body);
  EXPECT_EQ(c.Str({"producer"}), "order-service") << Describe(created);
  EXPECT_EQ(c.Str({"channel"}), "embedded")
      << "channel defaults to embedded; " << Describe(created);
  EXPECT_EQ(c.Str({"topic"}), "order_created")
      << "topic defaults to the type; " << Describe(created);
  EXPECT_EQ(c.Int({"partitions"}), 8) << "partitions default to 8; " << Describe(created);
  EXPECT_TRUE(c.Bool({"ordered"}).has_value()) << "ordered must be echoed; " << Describe(created);

  HttpReply replaced = Admin(
      "PUT", "/v1/routes/order_created/producer",
      R"({"producer":"order-service","channel":"embedded","topic":"orders","ordered":true,"partitions":4})");
  ASSERT_EQ(replaced.status, 200) << Describe(replaced);
  Json r(replaced.body);
  EXPECT_EQ(r.Str({"producer"}), "order-service");
  EXPECT_EQ(r.Str({"topic"}), "orders");
  EXPECT_EQ(r.Bool({"ordered"}), true);
  EXPECT_EQ(r.Int({"partitions"}), 4);

  HttpReply list = Admin("GET", "/v1/routes");
  ASSERT_EQ(list.status, 200) << Describe(list);
  Json l(WithoutPlatformRoutes(list.body));
  ASSERT_EQ(l.Len({"producers"}), 1) << Describe(list);
  EXPECT_EQ(l.Len({"consumers"}), 0) << Describe(list);
  EXPECT_EQ(l.Str({"producers", "0", "event_type"}), "order_created");
  EXPECT_EQ(l.Str({"producers", "0", "producer"}), "order-service");
  EXPECT_EQ(l.Str({"producers", "0", "topic"}), "orders");
  EXPECT_EQ(l.Int({"producers", "0", "partitions"}), 4);
}

TEST_F(RoutesTest, ConsumerPutEchoesWithoutSecretsAndDeleteIs204) {
  SetProducer("order_created", "order-service");
  const std::string consumer =
      R"({"type":"http","url":"http://127.0.0.1:9/events","timeout_ms":5000,)"
      R"("headers":{"X-Team":"payments-team-value"},"max_in_flight":64,"rate_limit_per_s":0,)"
      R"("retry":{"max_attempts":12,"initial_backoff_ms":500,"max_backoff_ms":3600000},)"
      R"("dedup":"entity_event","dedup_ttl_hours":24,"format":"cloudevents",)"
      R"("secret":"whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=","start":"earliest","enabled":false})";
  const std::string path = "/v1/routes/order_created/consumers/payment-service";
  HttpReply created = Admin("PUT", path, consumer);
  ASSERT_EQ(created.status, 201) << Describe(created);
  for (const HttpReply* r : {&created}) {
    Json j(r->body);
    EXPECT_EQ(j.Str({"type"}), "http");
    EXPECT_EQ(j.Str({"url"}), "http://127.0.0.1:9/events");
    EXPECT_EQ(j.Int({"timeout_ms"}), 5000);
    EXPECT_EQ(j.Int({"max_in_flight"}), 64);
    EXPECT_EQ(j.Int({"retry", "max_attempts"}), 12);
    EXPECT_EQ(j.Int({"retry", "initial_backoff_ms"}), 500);
    EXPECT_EQ(j.Int({"retry", "max_backoff_ms"}), 3600000);
    EXPECT_EQ(j.Str({"dedup"}), "entity_event");
    EXPECT_EQ(j.Int({"dedup_ttl_hours"}), 24);
    EXPECT_EQ(j.Str({"format"}), "cloudevents");
    EXPECT_EQ(j.Str({"start"}), "earliest");
    EXPECT_EQ(j.Bool({"enabled"}), false);
    EXPECT_EQ(j.Bool({"has_secret"}), true) << Describe(*r);
    EXPECT_EQ(r->body.find("whsec_c2VjcmV0"), std::string::npos) << "secret leaked: " << r->body;
    EXPECT_EQ(r->body.find("payments-team-value"), std::string::npos)
        << "header value leaked: " << r->body;
  }
  HttpReply replaced = Admin("PUT", path, R"({"type":"pull"})");
  ASSERT_EQ(replaced.status, 200) << Describe(replaced);
  EXPECT_EQ(Json(replaced.body).Str({"type"}), "pull");
  EXPECT_NE(Json(replaced.body).Bool({"has_secret"}), true) << "PUT replaces the whole object";

  HttpReply list = Admin("GET", "/v1/routes");
  Json l(WithoutPlatformRoutes(list.body));
  ASSERT_EQ(l.Len({"consumers"}), 1) << Describe(list);
  EXPECT_EQ(l.Str({"consumers", "0", "event_type"}), "order_created");
  EXPECT_EQ(l.Str({"consumers", "0", "consumer"}), "payment-service");
  EXPECT_EQ(l.Str({"consumers", "0", "type"}), "pull");

  HttpReply del = Admin("DELETE", path);
  EXPECT_EQ(del.status, 204) << Describe(del);
  EXPECT_TRUE(del.body.empty()) << "204 has no body";
  EXPECT_API_ERROR(Admin("DELETE", path), 404, "not_found");
  EXPECT_EQ(Json(WithoutPlatformRoutes(Admin("GET", "/v1/routes").body)).Len({"consumers"}), 0);
}

TEST_F(RoutesTest, ProducerDeleteWhileConsumerUsesItIsConflict) {
  SetProducer("order_created", "order-service");
  const std::string consumer = "/v1/routes/order_created/consumers/payment-service";
  ASSERT_EQ(Admin("PUT", consumer, R"({"type":"pull"})").status, 201);
  EXPECT_API_ERROR(Admin("DELETE", "/v1/routes/order_created/producer"), 409, "conflict");
  EXPECT_EQ(Json(WithoutPlatformRoutes(Admin("GET", "/v1/routes").body)).Len({"producers"}), 1)
      << "nothing removed";
  EXPECT_EQ(Admin("DELETE", consumer).status, 204);
  EXPECT_EQ(Admin("DELETE", "/v1/routes/order_created/producer").status, 204);
  EXPECT_API_ERROR(Admin("DELETE", "/v1/routes/order_created/producer"), 404, "not_found");
  EXPECT_EQ(Json(WithoutPlatformRoutes(Admin("GET", "/v1/routes").body)).Len({"producers"}), 0);
}

TEST_F(RoutesTest, TopicPropertiesAreFixedOnceEventsExist) {
  SetProducer("order_created", "order-service",
              R"("topic":"orders","ordered":true,"partitions":8)");
  // No events yet: a change is allowed.
  HttpReply early =
      Admin("PUT", "/v1/routes/order_created/producer",
            R"({"producer":"order-service","topic":"orders","ordered":true,"partitions":4})");
  EXPECT_EQ(early.status, 200) << Describe(early);
  PublishOk(EventJson("order_created", "o1", "{}", "fix-1"));
  const std::string base = R"({"producer":"order-service","channel":"embedded",)";
  for (const std::string change : {R"("topic":"orders2","ordered":true,"partitions":4})",
                                   R"("topic":"orders","ordered":false,"partitions":4})",
                                   R"("topic":"orders","ordered":true,"partitions":16})"}) {
    SCOPED_TRACE(change);
    EXPECT_API_ERROR(Admin("PUT", "/v1/routes/order_created/producer", base + change), 409,
                     "conflict");
  }
  HttpReply list = Admin("GET", "/v1/routes");
  Json l(WithoutPlatformRoutes(list.body));
  EXPECT_EQ(l.Str({"producers", "0", "topic"}), "orders") << Describe(list);
  EXPECT_EQ(l.Int({"producers", "0", "partitions"}), 4) << Describe(list);
  EXPECT_EQ(l.Bool({"producers", "0", "ordered"}), true) << Describe(list);
  // Re-stating the same topic properties is not a change.
  HttpReply same = Admin("PUT", "/v1/routes/order_created/producer",
                         base + R"("topic":"orders","ordered":true,"partitions":4})");
  EXPECT_EQ(same.status, 200) << Describe(same);
}

TEST_F(RoutesTest, TypesSharingATopicMustAgree) {
  SetProducer("order_created", "order-service",
              R"("topic":"orders","ordered":true,"partitions":8)");
  SetProducer("order_paid", "order-service", R"("topic":"orders","ordered":true,"partitions":8)");
  PublishOk(EventJson("order_created", "o1", "{}", "share-1"));
  EXPECT_API_ERROR(
      Admin("PUT", "/v1/routes/order_cancelled/producer",
            R"({"producer":"order-service","topic":"orders","ordered":true,"partitions":3})"),
      409, "conflict");
}

TEST_F(RoutesTest, KafkaChannelIsInvalidField) {
  HttpReply r = Admin("PUT", "/v1/routes/order_created/producer",
                      R"({"producer":"order-service","channel":"kafka","topic":"orders"})");
  EXPECT_API_ERROR(r, 400, "invalid_field");
  EXPECT_NE(Json(r.body).Str({"error", "message"}).find("channel"), std::string::npos)
      << "the message names the field; " << Describe(r);
  EXPECT_EQ(Json(WithoutPlatformRoutes(Admin("GET", "/v1/routes").body)).Len({"producers"}), 0);
}

TEST_F(RoutesTest, InvalidRoutesAreRejected) {
  struct Case {
    std::string path, body, field;
  };
  const std::vector<Case> producer_cases = {
      {"/v1/routes/Order_Created/producer", R"({"producer":"order-service"})", ""},
      {"/v1/routes/order_created/producer", R"({"producer":"Order Service"})", "producer"},
      {"/v1/routes/order_created/producer", R"({})", "producer"},
      {"/v1/routes/order_created/producer", R"({"producer":"order-service","partitions":0})",
       "partitions"},
      {"/v1/routes/order_created/producer", R"({"producer":"order-service","partitions":"8"})",
       "partitions"},
      {"/v1/routes/order_created/producer", R"({"producer":"order-service","ordered":"yes"})",
       "ordered"},
      {"/v1/routes/order_created/producer", R"({"producer":"order-service","topic":"Bad Topic"})",
       "topic"},
      {"/v1/routes/order_created/producer", R"({"producer":"order-service","channel":"pigeon"})",
       "channel"},
  };
  for (const auto& c : producer_cases) {
    SCOPED_TRACE(c.path + " " + c.body);
    HttpReply r = Admin("PUT", c.path, c.body);
    EXPECT_API_ERROR(r, 400, "invalid_field");
    if (!c.field.empty()) {
      EXPECT_NE(Json(r.body).Str({"error", "message"}).find(c.field), std::string::npos)
          << "the message names the field; " << Describe(r);
    }
  }
  EXPECT_EQ(Json(WithoutPlatformRoutes(Admin("GET", "/v1/routes").body)).Len({"producers"}), 0);

  SetProducer("order_created", "order-service");
  const std::string consumer = "/v1/routes/order_created/consumers/payment-service";
  const std::vector<Case> consumer_cases = {
      {"/v1/routes/order_created/consumers/Payment_Service", R"({"type":"pull"})", ""},
      {consumer, R"({"type":"carrier-pigeon"})", "type"},
      {consumer, R"({"type":"http"})", "url"},
      {consumer, R"({"type":"http","url":"not a url"})", "url"},
      // What the push client refuses is refused here too (was 201, then pending forever).
      {consumer, R"({"type":"http","url":"http://x:99999/"})", "url"},
      {consumer, R"({"type":"http","url":"http://x:0/"})", "url"},
      {consumer, R"({"type":"http","url":"http://user:s3cret@x/"})", "url"},
      {consumer, R"({"type":"http","url":"gopher://x/"})", "url"},
      {consumer, R"({"type":"kafka"})", ""},  // only for kafka channels
      {consumer, R"({"type":"pull","dedup":"sometimes"})", "dedup"},
      {consumer, R"({"type":"pull","format":"xml"})", "format"},
      {consumer, R"({"type":"pull","start":"yesterday"})", "start"},
      {consumer, R"({"type":"pull","enabled":"no"})", "enabled"},
      {consumer, R"({"type":"http","url":"http://x/","timeout_ms":-5})", "timeout_ms"},
      {consumer, R"({"type":"pull","retry":{"max_attempts":0}})", "max_attempts"},
      {consumer, R"({"type":"http","url":"http://x/","headers":{"X-A":5}})", "headers"},
  };
  for (const auto& c : consumer_cases) {
    SCOPED_TRACE(c.path + " " + c.body);
    HttpReply r = Admin("PUT", c.path, c.body);
    EXPECT_API_ERROR(r, 400, "invalid_field");
    EXPECT_EQ(r.body.find("s3cret"), std::string::npos) << "a URL's user info is a secret";
    if (!c.field.empty()) {
      EXPECT_NE(Json(r.body).Str({"error", "message"}).find(c.field), std::string::npos)
          << "the message names the field; " << Describe(r);
    }
  }
  EXPECT_EQ(Json(WithoutPlatformRoutes(Admin("GET", "/v1/routes").body)).Len({"consumers"}), 0);
  EXPECT_API_ERROR(Admin("PUT", consumer, R"({"type":"pull")"), 400, "invalid_json");
}

// Polls `publish` until it answers `want`. The change counts as visible when a request
// *sent* within 1 s of the change's answer sees it.
void ExpectVisibleWithinOneSecond(const std::function<HttpReply()>& publish, int want,
                                  const std::string& what) {
  const auto changed = steady_clock::now();
  HttpReply last;
  for (;;) {
    const auto sent = steady_clock::now();
    last = publish();
    if (last.status == want) return;
    if (sent - changed > std::chrono::seconds(1)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << what << ": not visible within 1 s; still " << Describe(last);
}

TEST_F(RoutesTest, RouteChangeVisibleToPublishingWithinOneSecond) {
  const std::string order_token = CreateService("order-service", {"producer"});
  const std::string billing_token = CreateService("billing-service", {"producer"});
  auto publish = [&](const std::string& token) {
    return [this, token] {
      return Call(token, "POST", "/v1/events", EventJson("invoice_sent", "i1", "{}"));
    };
  };
  // Warm any negative cache entry first.
  EXPECT_API_ERROR(publish(order_token)(), 404, "unknown_event_type");
  SetProducer("invoice_sent", "order-service");
  ExpectVisibleWithinOneSecond(publish(order_token), 202, "new producer route");

  // Ownership moves to billing-service: order-service is refused, billing publishes.
  EXPECT_API_ERROR(publish(billing_token)(), 403, "forbidden");
  SetProducer("invoice_sent", "billing-service");
  ExpectVisibleWithinOneSecond(publish(billing_token), 202, "new owner may publish");
  ExpectVisibleWithinOneSecond(publish(order_token), 403, "old owner refused");

  ASSERT_EQ(Admin("DELETE", "/v1/routes/invoice_sent/producer").status, 204);
  ExpectVisibleWithinOneSecond(publish(billing_token), 404, "removed route");
}

}  // namespace
}  // namespace eragon::testing
