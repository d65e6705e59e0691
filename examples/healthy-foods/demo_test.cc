// The Healthy Foods demo end to end: eragon-demo (services on the SDK) against a real
// eragond. Every order's events reach each consumer, in order, the payment service's
// on-purpose 503s are retried, and the order service's publishes all succeed.
#include "demo_check.h"

namespace eragon::testing {
namespace {

TEST(HealthyFoodsDemoTest, EveryOrderReachesEveryConsumerInOrder) {
  ServerProcess server(ERAGOND_PATH);
  ASSERT_TRUE(server.Start().ok());
  RunDemoAndCheckSummary(server, {});
}

}  // namespace
}  // namespace eragon::testing
