// The Healthy Foods demo end to end: eragon-demo (services on the SDK) against a real
// eragond. Every order's events reach each consumer, in order, the payment service's
// on-purpose 503s are retried, and the order service's publishes all succeed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>

#include "testing/server_process.h"

namespace eragon::testing {
namespace {

TEST(HealthyFoodsDemoTest, EveryOrderReachesEveryConsumerInOrder) {
  ServerProcess server(ERAGOND_PATH);
  ASSERT_TRUE(server.Start().ok());
  char tmpl[] = "/tmp/eragon-demo-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string backup = std::string(tmpl) + "/backup";
  ProcessResult r =
      RunProcess({ERAGON_DEMO_PATH, "--url", server.url(), "--data-dir", server.data_dir(),
                  "--orders", "12", "--rate", "20", "--backup-dir", backup},
                 "", {}, std::chrono::seconds(120));
  std::filesystem::remove_all(tmpl);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m,
      std::regex(R"(published (\d+) events for 12 orders \((\d+) failed\); received: payment )"
                 R"((\d+), restaurant (\d+), notification (\d+); out of order: (\d+))")))
      << r.out;
  const int published = std::stoi(m[1]);
  EXPECT_GE(published, 12 * 2);  // created + paid/cancelled at least
  EXPECT_EQ(std::stoi(m[2]), 0);
  EXPECT_GE(std::stoi(m[3]), 12);         // payment: one order_created each
  EXPECT_GE(std::stoi(m[4]), 12);         // restaurant: paid or cancelled, one each
  EXPECT_GE(std::stoi(m[5]), published);  // notification: everything
  EXPECT_EQ(std::stoi(m[6]), 0);
  // 12+ pushes to the payment service: its every-7th 503 happened and was retried.
  EXPECT_NE(r.out.find("503 on purpose"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\(attempt [2-9]\))"))) << r.out;
}

}  // namespace
}  // namespace eragon::testing
