// The Healthy Foods demo with its orders topic on a real Kafka broker (`scripts/start
// --kafka`): the order saga reading its trigger and replies from the Kafka topic, payment,
// restaurant and courier pushed from Kafka, the notification service a Kafka consumer app
// (route type "kafka", the SDK's KafkaConsumer) reading every event, in order.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "demo_check.h"

namespace eragon::testing {
namespace {

std::string Bootstrap() {
  std::string out;
  if (const char* f = std::getenv("ERAGON_TEST_KAFKA_FILE")) std::getline(std::ifstream(f), out);
  return out;
}

TEST(HealthyFoodsDemoKafkaTest, EveryOrderRunsTheSagaAndReachesEveryConsumerInOrderOnKafka) {
  const std::string bootstrap = Bootstrap();
  ASSERT_FALSE(bootstrap.empty()) << "no broker: set ERAGON_TEST_KAFKA_FILE (ctest does)";
  char prefix[32];
  snprintf(prefix, sizeof prefix, "demo%d.", getpid());  // topics of this run only
  ServerProcess server(ERAGOND_PATH,
                       {"--kafka-brokers", bootstrap, "--kafka-topic-prefix", prefix});
  ASSERT_TRUE(server.Start().ok());
  const std::string out = RunDemoAndCheckSummary(server, {"--kafka"});
  EXPECT_NE(out.find("(from Kafka)"), std::string::npos) << out;
  EXPECT_NE(out.find("on Kafka"), std::string::npos) << out;
}

}  // namespace
}  // namespace eragon::testing
