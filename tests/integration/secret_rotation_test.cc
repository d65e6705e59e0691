// Secret rotation end to end (API.md "Consumer routes: more settings", `secret`): after a
// PUT with a new secret, real pushes carry two Standard Webhooks signatures that the
// reference library (npm `standardwebhooks`, installed by scripts/npm-deps into a cache
// outside the clone) verifies with the old and with the new secret; after
// secret_overlap_ms only the new secret verifies.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/json.h"
#include "test_util.h"
#include "testing/test_http_server.h"

#ifndef ERAGON_SOURCE_DIR
#error "ERAGON_SOURCE_DIR must name the source tree"
#endif

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

constexpr char kOld[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kNew[] = "whsec_c2VjcmV0LW9mLXNvbWVib2R5LWVsc2U=";
constexpr char kUnrelated[] = "whsec_dGhpcmQtc2VjcmV0LWtleQ==";

// Runs `cmd` with sh; returns its exit status and stdout.
std::pair<int, std::string> RunShell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class SecretRotationTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    // The reference library; installed into the cache on first use.
    auto [rc, out] = RunShell("bash " ERAGON_SOURCE_DIR "/scripts/npm-deps");
    ASSERT_EQ(rc, 0) << out;
    node_path_ = out.substr(0, out.find_last_not_of("\n") + 1);
    node_path_ = node_path_.substr(node_path_.find_last_of('\n') + 1);
    dir_ =
        std::filesystem::temp_directory_path() / ("eragon-rotation-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    SetProducer("order_created", "order-service");
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    ServerTest::TearDown();
  }

  void PutRoute(const std::string& consumer, const std::string& secret, const std::string& extra) {
    HttpReply r = Admin("PUT", "/v1/routes/order_created/consumers/" + consumer,
                        R"({"type":"http","start":"earliest","url":")" + ep_.Url("/hook") +
                            R"(","secret":")" + secret + "\"" + extra + "}");
    ASSERT_TRUE(r.status == 200 || r.status == 201) << Describe(r);
  }

  // The first push of event `id` the endpoint got.
  std::optional<TestRequest> PushOf(const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      for (const TestRequest& r : ep_.requests()) {
        if (r.Header("webhook-id") == id) return r;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  // Whether the reference library accepts the push with `secret`.
  bool Verifies(const TestRequest& push, const std::string& secret) {
    std::string headers;
    JsonWriter w(&headers);
    w.BeginObject();
    for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
      w.Key(name).String(push.Header(name).value_or(""));
    }
    w.EndObject();
    std::ofstream(dir_ / "headers.json") << headers;
    std::ofstream(dir_ / "body", std::ios::binary) << push.body;
    auto [rc, out] = RunShell(
        "NODE_PATH='" + node_path_ +
        "' node " ERAGON_SOURCE_DIR "/tests/integration/verify_standard_webhook.js '" + secret +
        "' '" + (dir_ / "headers.json").string() + "' '" + (dir_ / "body").string() + "' 2>&1");
    EXPECT_TRUE(rc == 0 || rc == 1) << out;  // 1: rejected; anything else: node broke
    return rc == 0;
  }

  TestHttpServer ep_{[](const TestRequest&) { return TestAnswer{}; }};
  std::string node_path_;
  std::filesystem::path dir_;
};

TEST_F(SecretRotationTest, DuringTheOverlapOldAndNewSecretBothVerifyARealPush) {
  PutRoute("payments", kOld, "");
  PutRoute("payments", kNew, "");  // default overlap: 24 h
  HttpReply route = Admin("GET", "/v1/routes/order_created/consumers/payments");
  EXPECT_GT(Json(route.body).Int({"previous_secret_until"}).value_or(0), 0) << Describe(route);
  PublishOk(EventJson("order_created", "o-1", R"({"total":12.5,"name":"café"})", "rot-1"));
  std::optional<TestRequest> push = PushOf("rot-1");
  ASSERT_TRUE(push.has_value());
  const std::string sig = push->Header("webhook-signature").value_or("");
  EXPECT_EQ(std::count(sig.begin(), sig.end(), ' '), 1) << sig;  // two signatures
  EXPECT_TRUE(Verifies(*push, kNew));
  EXPECT_TRUE(Verifies(*push, kOld));
  EXPECT_FALSE(Verifies(*push, kUnrelated));  // the library really checks
}

TEST_F(SecretRotationTest, AfterTheOverlapOnlyTheNewSecretVerifies) {
  PutRoute("billing", kOld, R"(,"secret_overlap_ms":1)");
  PutRoute("billing", kNew, R"(,"secret_overlap_ms":1)");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  PublishOk(EventJson("order_created", "o-2", R"({"total":1})", "rot-2"));
  std::optional<TestRequest> push = PushOf("rot-2");
  ASSERT_TRUE(push.has_value());
  const std::string sig = push->Header("webhook-signature").value_or("");
  EXPECT_EQ(sig.find(' '), std::string::npos) << sig;
  EXPECT_TRUE(Verifies(*push, kNew));
  EXPECT_FALSE(Verifies(*push, kOld));
}

}  // namespace
}  // namespace eragon::testing
