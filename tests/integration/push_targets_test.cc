// Push-target safety (API.md "TLS and push targets"): --push-deny-cidrs and
// --push-allow-cidrs at route PUT and before every push connection. Loopback addresses
// only (127.0.0.0/8 aliases answer on Linux without set-up).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "testing/test_http_server.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// eragond whose flags come from a config file the test rewrites between restarts.
class PushTargetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = std::filesystem::temp_directory_path() /
              ("eragon-push-targets-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".conf");
    std::ofstream(config_) << "";
    server_ = std::make_unique<ServerProcess>(
        ERAGOND_PATH, std::vector<std::string>{"--config", config_.string()});
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove(config_);
  }

  void Start(const std::string& config) {
    std::ofstream(config_) << config;
    Status st = server_->running() ? server_->Restart() : server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    client_ = std::make_unique<HttpClient>(server_->url());
  }

  HttpReply Admin(const std::string& method, const std::string& path,
                  const std::string& body = "") {
    auto r = client_->Request(method, path, body,
                              {{"Authorization", "Bearer " + server_->admin_token()}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpReply{};
  }

  HttpReply PutConsumer(const std::string& url, const std::string& extra = "") {
    return Admin("PUT", "/v1/routes/order_created/consumers/payments",
                 R"({"type":"http","url":")" + url + "\"" + extra + "}");
  }

  std::filesystem::path config_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(PushTargetsTest, RoutePutRefusesUrlsThatResolveOnlyToDeniedAddresses) {
  Start("push-deny-cidrs = 127.0.0.2/32, 169.254.0.0/16\n");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/producer", R"({"producer":"p"})").status, 201);
  for (const std::string& url : std::vector<std::string>{"http://127.0.0.2:9000/e",
                                                         "https://169.254.169.254/latest/meta-data",
                                                         server_->url() + "/v1/events"}) {
    SCOPED_TRACE(url);
    HttpReply r = PutConsumer(url);
    EXPECT_API_ERROR(r, 400, "invalid_field");
    EXPECT_EQ(Json(r.body).Str({"error", "message"}).rfind("url: ", 0), 0u) << Describe(r);
  }
  // Eragond's own port is refused, not the host: another port of 127.0.0.1 is fine.
  EXPECT_EQ(PutConsumer("http://127.0.0.1:9/e").status, 201);
  EXPECT_EQ(PutConsumer("http://127.0.0.3:9/e").status, 200);
}

TEST_F(PushTargetsTest, AnAllowListRefusesEverythingElse) {
  Start("push-allow-cidrs = 127.0.0.2/32\n");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/producer", R"({"producer":"p"})").status, 201);
  HttpReply r = PutConsumer("http://127.0.0.1:9/e");
  EXPECT_API_ERROR(r, 400, "invalid_field");
  EXPECT_NE(r.body.find("not in --push-allow-cidrs"), std::string::npos) << Describe(r);
  EXPECT_EQ(PutConsumer("http://127.0.0.2:9/e").status, 201);
}

TEST_F(PushTargetsTest, ThePushClientChecksAgainAtEveryConnection) {
  TestHttpServer endpoint([](const TestRequest&) { return TestAnswer{}; });
  Start("");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/producer", R"({"producer":"p"})").status, 201);
  ASSERT_EQ(
      PutConsumer(endpoint.Url("/e"),
                  R"(,"retry":{"max_attempts":2,"initial_backoff_ms":10,"max_backoff_ms":10})")
          .status,
      201);
  // What the route's host resolves to is denied now (as if its DNS answer had changed).
  Start("push-deny-cidrs = 127.0.0.0/8, ::1\n");
  ASSERT_EQ(Admin("POST", "/v1/events", EventJson("order_created", "o-1", "{}", "pt-1")).status,
            202);
  std::string dead;
  EXPECT_TRUE(WaitUntil(
      [&] {
        dead = Admin("GET", "/v1/routes/order_created/consumers/payments/dead").body;
        return Json(dead).Len({"items"}) == 1;
      },
      std::chrono::seconds(30)))
      << dead << server_->Logs();
  EXPECT_EQ(Json(dead).Str({"items", "0", "last_error"}),
            "connect: 127.0.0.1 is in --push-deny-cidrs (127.0.0.0/8)")
      << dead;
  EXPECT_EQ(endpoint.accepted(), 0u);  // never connected
}

}  // namespace
}  // namespace eragon::testing
