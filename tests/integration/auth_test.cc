// Services, tokens and roles (API.md "Services and tokens").
#include "test_util.h"

namespace eragon::testing {
namespace {

class AuthTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    order_token_ = CreateService("order-service", {"producer"});
    billing_token_ = CreateService("billing-service", {"producer"});
    consumer_token_ = CreateService("payment-service", {"consumer"});
    SetProducer("order_created", "order-service");
  }

  HttpReply PublishAs(const std::string& token, const std::string& id,
                      const std::string& type = "order_created") {
    return Call(token, "POST", "/v1/events", EventJson(type, "e1", R"({"a":1})", id));
  }

  std::string order_token_, billing_token_, consumer_token_;
};

TEST_F(AuthTest, MissingUnknownAndMalformedTokensAre401) {
  EXPECT_API_ERROR(PublishAs("", "a-1"), 401, "unauthenticated");
  EXPECT_API_ERROR(PublishAs("not-a-token", "a-2"), 401, "unauthenticated");
  EXPECT_API_ERROR(PublishAs(order_token_ + "x", "a-3"), 401, "unauthenticated");
  EXPECT_API_ERROR(Call("", "GET", "/v1/events/a-1"), 401, "unauthenticated");
  EXPECT_API_ERROR(Call("", "GET", "/v1/routes"), 401, "unauthenticated");
  EXPECT_API_ERROR(Call("", "PUT", "/v1/services/evil", R"({"roles":["admin"]})"), 401,
                   "unauthenticated");
  EXPECT_API_ERROR(Call("", "POST", "/v1/events", "", {{"Authorization", "Basic YTpi"}}), 401,
                   "unauthenticated");
  EXPECT_API_ERROR(Call("", "POST", "/v1/events", "", {{"Authorization", "Bearer"}}), 401,
                   "unauthenticated");
  // 401 wins over every other error, also over a bad body.
  EXPECT_API_ERROR(Call("", "POST", "/v1/events", "{\"x\":tru}"), 401, "unauthenticated");
  for (const char* id : {"a-1", "a-2", "a-3"}) EXPECT_EQ(GetStatus(id), 404) << id;
  // Health, readiness and metrics need no token.
  EXPECT_EQ(Call("", "GET", "/healthz").status, 200);
  EXPECT_EQ(Call("", "GET", "/readyz").status, 200);
  EXPECT_EQ(Call("", "GET", "/metrics").status, 200);
}

TEST_F(AuthTest, RevokedAndRotatedTokensAre401) {
  ASSERT_EQ(PublishAs(order_token_, "r-1").status, 202);
  HttpReply del = Admin("DELETE", "/v1/services/order-service");
  EXPECT_EQ(del.status, 204) << Describe(del);
  EXPECT_API_ERROR(PublishAs(order_token_, "r-2"), 401, "unauthenticated");
  EXPECT_API_ERROR(Admin("DELETE", "/v1/services/order-service"), 404, "not_found");

  // A PUT on an existing service rotates its token: the old one stops working.
  HttpReply rotate = Admin("PUT", "/v1/services/billing-service", R"({"roles":["producer"]})");
  EXPECT_EQ(rotate.status, 200) << "PUT on an existing service replaces it; " << Describe(rotate);
  const std::string fresh = Json(rotate.body).Str({"token"});
  ASSERT_FALSE(fresh.empty()) << Describe(rotate);
  EXPECT_NE(fresh, billing_token_);
  SetProducer("invoice_sent", "billing-service");
  EXPECT_API_ERROR(PublishAs(billing_token_, "r-3", "invoice_sent"), 401, "unauthenticated");
  EXPECT_EQ(PublishAs(fresh, "r-4", "invoice_sent").status, 202);
  EXPECT_EQ(GetStatus("r-2"), 404);
  EXPECT_EQ(GetStatus("r-3"), 404);
}

TEST_F(AuthTest, ServiceCreationAnswersTokenOnceAnd201) {
  HttpReply r = Admin("PUT", "/v1/services/new-service", R"({"roles":["producer","consumer"]})");
  EXPECT_EQ(r.status, 201) << Describe(r);
  std::string token = Json(r.body).Str({"token"});
  EXPECT_GE(token.size(), 32u) << "a 256-bit random token; " << Describe(r);
  EXPECT_EQ(r.body.find("hash"), std::string::npos) << Describe(r);
  EXPECT_API_ERROR(Admin("PUT", "/v1/services/Bad_Name", R"({"roles":["producer"]})"), 400,
                   "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/services/-leading-dash", R"({"roles":["producer"]})"), 400,
                   "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/services/svc", R"({"roles":["emperor"]})"), 400,
                   "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/services/svc", R"({"roles":"producer"})"), 400,
                   "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/services/svc", R"({"roles":["producer"])"), 400,
                   "invalid_json");
  EXPECT_API_ERROR(Admin("DELETE", "/v1/services/svc"), 404, "not_found");
}

TEST_F(AuthTest, DeletingTheLastAdminIsConflict) {
  EXPECT_API_ERROR(Admin("DELETE", "/v1/services/admin"), 409, "conflict");
  EXPECT_EQ(Admin("GET", "/v1/routes").status, 200) << "the admin token still works";
  // With a second admin the first may go.
  const std::string second = CreateService("ops", {"admin"});
  EXPECT_EQ(Admin("DELETE", "/v1/services/admin").status, 204);
  EXPECT_API_ERROR(Call(second, "DELETE", "/v1/services/ops"), 409, "conflict");
  EXPECT_EQ(Call(second, "GET", "/v1/routes").status, 200);
}

TEST_F(AuthTest, WrongRolesAre403) {
  // A consumer-only token cannot publish.
  EXPECT_API_ERROR(PublishAs(consumer_token_, "w-1"), 403, "forbidden");
  // A producer token cannot publish a type another service owns.
  EXPECT_API_ERROR(PublishAs(billing_token_, "w-2"), 403, "forbidden");
  // 404 wins over 403: an unrouted type is unknown_event_type for anyone.
  EXPECT_API_ERROR(PublishAs(billing_token_, "w-3", "no_such_type"), 404, "unknown_event_type");
  // A batch with one event the caller does not own is refused whole.
  SetProducer("invoice_sent", "billing-service");
  std::string batch = "{\"events\":[" + EventJson("invoice_sent", "e", "{}", "w-4") + "," +
                      EventJson("order_created", "e", "{}", "w-5") + "]}";
  EXPECT_API_ERROR(Call(billing_token_, "POST", "/v1/events", batch), 403, "forbidden");
  // Routing and services need admin.
  for (const std::string& token : {order_token_, consumer_token_}) {
    EXPECT_API_ERROR(Call(token, "GET", "/v1/routes"), 403, "forbidden");
    EXPECT_API_ERROR(Call(token, "PUT", "/v1/routes/order_created/producer",
                          R"({"producer":"billing-service"})"),
                     403, "forbidden");
    EXPECT_API_ERROR(Call(token, "DELETE", "/v1/routes/order_created/producer"), 403, "forbidden");
    EXPECT_API_ERROR(Call(token, "PUT", "/v1/services/x", R"({"roles":["admin"]})"), 403,
                     "forbidden");
    EXPECT_API_ERROR(Call(token, "DELETE", "/v1/services/billing-service"), 403, "forbidden");
  }
  for (const char* id : {"w-1", "w-2", "w-3", "w-4", "w-5"}) EXPECT_EQ(GetStatus(id), 404) << id;
  HttpReply routes = Admin("GET", "/v1/routes");
  Json j(routes.body);
  int found = 0;
  for (int64_t i = 0, n = j.Len({"producers"}); i < n; ++i) {
    if (j.Str({"producers", std::to_string(i), "event_type"}) != "order_created") continue;
    ++found;
    EXPECT_EQ(j.Str({"producers", std::to_string(i), "producer"}), "order-service")
        << "a refused PUT must change nothing; " << Describe(routes);
  }
  EXPECT_EQ(found, 1) << Describe(routes);
  EXPECT_EQ(CountEvents("order_created"), 0);
}

TEST_F(AuthTest, OwnerAndAdminPublishAsTheRegisteredProducer) {
  HttpReply own = PublishAs(order_token_, "p-1");
  ASSERT_EQ(own.status, 202) << Describe(own);
  HttpReply admin = Admin("POST", "/v1/events", EventJson("order_created", "e", "{}", "p-2"));
  ASSERT_EQ(admin.status, 202) << Describe(admin);
  for (const char* id : {"p-1", "p-2"}) {
    HttpReply got = Admin("GET", std::string("/v1/events/") + id);
    ASSERT_EQ(got.status, 200) << Describe(got);
    EXPECT_EQ(Json(got.body).Str({"event", "producer"}), "order-service") << id;
  }
  // A `producer` in the body does not override the server's choice.
  HttpReply spoof = Call(
      order_token_, "POST", "/v1/events",
      R"({"id":"p-3","event_type":"order_created","entity_id":"e","producer":"billing-service","data":{}})");
  if (spoof.status == 202) {
    EXPECT_EQ(Json(Admin("GET", "/v1/events/p-3").body).Str({"event", "producer"}),
              "order-service");
  } else {
    EXPECT_API_ERROR(spoof, 400, "invalid_field");
  }
}

}  // namespace
}  // namespace eragon::testing
