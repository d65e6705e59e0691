// The Healthy Foods demo end to end: eragon-demo (services on the SDK) against a real
// eragond. Every order's events reach each consumer, in order, the payment service's
// on-purpose 503s are retried, the order service's publishes all succeed, and the order
// saga confirms each order (then cooked and delivered by choreography) or, when the
// payment is declined, cancels the reservation and rejects it.
#include "demo_check.h"

#include <gtest/gtest.h>

namespace eragon::testing {
namespace {

TEST(HealthyFoodsDemoTest, EveryOrderRunsTheSagaAndReachesEveryConsumerInOrder) {
  ServerProcess server(ERAGOND_PATH);
  ASSERT_TRUE(server.Start().ok());
  RunDemoAndCheckSummary(server, {});
}

}  // namespace
}  // namespace eragon::testing
