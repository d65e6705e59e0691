// Runs eragon-demo against a started eragond and checks what it did: every order's events
// reached each consumer, in order, every publish succeeded, and the order saga ended as
// the payment service decided — the confirmed orders reached order_ready and the courier,
// the declined ones (every 5th) had their reservation cancelled and were rejected.
// Shared by demo_test (embedded) and demo_kafka_test (the orders topic on Kafka).
#pragma once

#include <string>
#include <vector>

#include "testing/server_process.h"

namespace eragon::testing {

// Runs the demo with 12 orders and checks its summary and, through the API, each saga
// instance and the events of its order. Returns the demo's stdout.
std::string RunDemoAndCheckSummary(const ServerProcess& server,
                                   const std::vector<std::string>& extra_args);

}  // namespace eragon::testing
