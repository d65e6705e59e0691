// Runs eragon-demo against a started eragond and checks its summary: every order's events
// reached each consumer, in order, and every publish succeeded. Shared by demo_test
// (embedded) and demo_kafka_test (the orders topic on Kafka).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "testing/server_process.h"

namespace eragon::testing {

// Returns the demo's stdout (empty after a failed assertion).
inline std::string RunDemoAndCheckSummary(const ServerProcess& server,
                                          const std::vector<std::string>& extra_args) {
  char tmpl[] = "/tmp/eragon-demo-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) ADD_FAILURE() << "mkdtemp";
  const std::string backup = std::string(tmpl) + "/backup";
  std::vector<std::string> argv = {
      ERAGON_DEMO_PATH, "--url", server.url(),   "--data-dir", server.data_dir(), "--orders", "12",
      "--rate",         "20",    "--backup-dir", backup};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  ProcessResult r = RunProcess(argv, "", {}, std::chrono::seconds(120));
  std::filesystem::remove_all(tmpl);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::smatch m;
  if (!std::regex_search(
          r.out, m,
          std::regex(R"(published (\d+) events for 12 orders \((\d+) failed\); received: payment )"
                     R"((\d+), restaurant (\d+), notification (\d+); out of order: (\d+))"))) {
    ADD_FAILURE() << "no summary in: " << r.out;
    return "";
  }
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
  return r.out;
}

}  // namespace eragon::testing
