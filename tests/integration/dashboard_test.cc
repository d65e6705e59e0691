// The dashboard as the real eragond serves it (API.md "Dashboard"): its files without a
// token, with their types and ETags, nothing else; and POST .../enabled, the pause and
// resume it uses, which keeps a route's secret and header values.
#include "test_util.h"

namespace eragon::testing {
namespace {

class DashboardTest : public ServerTest {};

TEST_F(DashboardTest, FilesAreServedWithoutATokenWithTypesAndEtags) {
  HttpReply page = Call("", "GET", "/");
  ASSERT_EQ(page.status, 200) << Describe(page);
  EXPECT_EQ(page.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("/assets/app.js"), std::string::npos);
  EXPECT_EQ(page.Header("Cache-Control"), "no-cache");
  EXPECT_FALSE(page.Header("Content-Security-Policy").empty());
  HttpReply js = Call("", "GET", "/assets/app.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Call("", "GET", "/assets/app.css").Header("Content-Type"), "text/css; charset=utf-8");
  HttpReply again = Call("", "GET", "/assets/app.js", {}, {{"If-None-Match", js.Header("ETag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST_F(DashboardTest, NoPathOutsideTheEmbeddedFiles) {
  for (const char* path : {"/assets/..%2fadmin.token", "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                           "/admin.token", "/assets/", "/index.html/", "/assets/app.js.map"}) {
    SCOPED_TRACE(path);
    EXPECT_API_ERROR(Call("", "GET", path), 404, "not_found");
  }
  EXPECT_EQ(Call("", "GET", "/v1/routes").status, 401) << "the API still needs a token";
}

TEST_F(DashboardTest, EnabledPausesAndResumesKeepingSecretAndHeaders) {
  SetProducer("order_created", "admin");
  const std::string path = "/v1/routes/order_created/consumers/payment-service";
  ASSERT_EQ(Admin("PUT", path,
                  R"({"type":"http","url":"http://127.0.0.1:9/events","headers":{"X-Team":"p"},)"
                  R"("secret":"whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="})")
                .status,
            201);
  for (bool enabled : {false, true}) {
    HttpReply r =
        Admin("POST", path + "/enabled", enabled ? R"({"enabled":true})" : R"({"enabled":false})");
    ASSERT_EQ(r.status, 200) << Describe(r);
    EXPECT_EQ(Json(r.body).Bool({"enabled"}), enabled);
    Json route(Admin("GET", path).body);
    EXPECT_EQ(route.Bool({"enabled"}), enabled);
    EXPECT_EQ(route.Bool({"has_secret"}), true) << "the secret is kept";
    EXPECT_EQ(route.Str({"headers", "X-Team"}), "***") << "the header is kept";
    EXPECT_EQ(route.Str({"url"}), "http://127.0.0.1:9/events");
  }
}

TEST_F(DashboardTest, EnabledRejectsBadInputUnknownRoutesAndNonAdmins) {
  SetProducer("order_created", "admin");
  const std::string path = "/v1/routes/order_created/consumers/mailer";
  ASSERT_EQ(Admin("PUT", path, R"({"type":"pull"})").status, 201);
  for (const char* body : {"{}", R"({"enabled":"no"})", R"({"enabled":1})", "[true]", "{"}) {
    EXPECT_EQ(Admin("POST", path + "/enabled", body).status, 400) << body;
  }
  EXPECT_API_ERROR(
      Admin("POST", "/v1/routes/order_created/consumers/other/enabled", R"({"enabled":false})"),
      404, "not_found");
  std::string reader = CreateService("reader", {"consumer"});
  EXPECT_API_ERROR(Call(reader, "POST", path + "/enabled", R"({"enabled":false})"), 403,
                   "forbidden");
  EXPECT_EQ(Call("", "POST", path + "/enabled", R"({"enabled":false})").status, 401);
  EXPECT_EQ(Json(Admin("GET", path).body).Bool({"enabled"}), true) << "nothing changed";
}

}  // namespace
}  // namespace eragon::testing
