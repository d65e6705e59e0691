#include "http/router.h"

#include <gtest/gtest.h>

namespace eragon::http {
namespace {

HttpRequest MakeRequest(Method method, std::string_view target) {
  HttpRequest r;
  r.method = method;
  r.method_name = std::string(MethodName(method));
  r.SetTarget(target);
  return r;
}

struct Captured {
  HttpResponse response;
  bool called = false;
};

Responder Capture(Captured* c) {
  return Responder::ToCallback([c](HttpResponse&& r) {
    c->response = std::move(r);
    c->called = true;
  });
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Put("/v1/routes/{event_type}/consumers/{consumer}",
                [this](HttpRequest&& r, Responder d) {
                  last_ = std::move(r);
                  d(HttpResponse::Json(201, "{}"));
                });
    router_.Delete("/v1/routes/{event_type}/consumers/{consumer}",
                   [](HttpRequest&&, Responder d) { d(HttpResponse::Empty(204)); });
    router_.Post("/v1/events",
                 [](HttpRequest&&, Responder d) { d(HttpResponse::Json(202, "{}")); });
    router_.Get("/v1/events/{id}", [this](HttpRequest&& r, Responder d) {
      last_ = std::move(r);
      d(HttpResponse::Json(200, "{}"));
    });
  }

  Router router_;
  HttpRequest last_;
};

TEST_F(RouterTest, CapturesPathParams) {
  Captured c;
  std::string_view route;
  router_.Dispatch(MakeRequest(Method::kPut, "/v1/routes/order.created/consumers/pay-svc"),
                   Capture(&c), &route);
  ASSERT_TRUE(c.called);
  EXPECT_EQ(c.response.status, 201);
  EXPECT_EQ(route, "/v1/routes/{event_type}/consumers/{consumer}");
  EXPECT_EQ(last_.route, route);
  EXPECT_EQ(last_.Param("event_type"), "order.created");
  EXPECT_EQ(last_.Param("consumer"), "pay-svc");
  EXPECT_EQ(last_.Param("nope"), "");
}

TEST_F(RouterTest, ParamsArePercentDecodedAndSlashesStaySeparators) {
  Captured c;
  router_.Dispatch(MakeRequest(Method::kGet, "/v1/events/a%2Fb%3Ac?x=1"), Capture(&c));
  EXPECT_EQ(c.response.status, 200);
  EXPECT_EQ(last_.Param("id"), "a/b:c");
  EXPECT_EQ(last_.Query("x"), "1");
}

TEST_F(RouterTest, UnknownPathIs404Json) {
  for (std::string_view target : {"/v1/nothing", "/v1/events/", "/v1/events/a/b", "/", ""}) {
    Captured c;
    std::string_view route = "unset";
    router_.Dispatch(MakeRequest(Method::kGet, target), Capture(&c), &route);
    EXPECT_EQ(c.response.status, 404) << target;
    EXPECT_NE(c.response.body.find(R"("code":"not_found")"), std::string::npos);
    EXPECT_EQ(route, "");
  }
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  Captured c;
  router_.Dispatch(MakeRequest(Method::kGet, "/v1/routes/a/consumers/b"), Capture(&c));
  EXPECT_EQ(c.response.status, 405);
  EXPECT_EQ(c.response.headers.Get("Allow"), "PUT, DELETE");
  EXPECT_NE(c.response.body.find(R"("code":"method_not_allowed")"), std::string::npos);

  Captured d;
  router_.Dispatch(MakeRequest(Method::kGet, "/v1/events"), Capture(&d));
  EXPECT_EQ(d.response.status, 405);
  EXPECT_EQ(d.response.headers.Get("Allow"), "POST");
}

TEST_F(RouterTest, EmptySegmentDoesNotMatchCapture) {
  Captured c;
  router_.Dispatch(MakeRequest(Method::kPut, "/v1/routes//consumers/b"), Capture(&c));
  EXPECT_EQ(c.response.status, 404);
}

}  // namespace
}  // namespace eragon::http
