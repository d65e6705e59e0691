// retry.schedule_ms (API.md "Consumer routes: more settings"): explicit delays replace the
// exponential backoff, Retry-After still raises a delay, the circuit breaker still opens.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

using namespace std::chrono_literals;

// Waits until the event's answer number `attempts` was processed; returns its state.
std::optional<DeliveryState> RetryingAfter(Rig& rig, const Rig::Published& ev, uint32_t attempts) {
  std::optional<DeliveryState> st;
  WaitFor([&] {
    st = rig.StateOf(ev, "c");
    return st && st->state == DeliveryStateKind::kRetrying && st->attempts == attempts;
  });
  return st;
}

TEST(DispatcherRetrySchedule, EachRetryWaitsExactlyItsScheduledDelayThenDeadLetters) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit&) { return Answer(500); });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {3, 1, 1, {1000, 5000}};  // the schedule wins over the (tiny) backoff
  rig.Put(route);
  auto ev = rig.Publish("t", "e1");
  const int64_t delays[] = {1000, 5000};
  for (uint32_t n = 1; n <= 2; ++n) {
    std::optional<DeliveryState> st = RetryingAfter(rig, ev, n);
    ASSERT_TRUE(st) << n;
    EXPECT_EQ(st->next_attempt_at, rig.clock.WallMs() + delays[n - 1]) << n;
    rig.Advance(delays[n - 1] - 1);
    EXPECT_FALSE(WaitFor([&] { return ep.count() > n; }, 0.05)) << "retried early";
    rig.Advance(1);
    ASSERT_TRUE(WaitFor([&] { return ep.count() == n + 1; })) << n;
  }
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 1; }));
  EXPECT_EQ(rig.Dead("c", "t")[0].attempts, 3u);
}

TEST(DispatcherRetrySchedule, RetryAfterLongerThanTheScheduledDelayWins) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit& h) {
    return h.attempt == 1 ? Answer(429, {{"Retry-After", "7"}}) : Answer(200);
  });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {2, 500, 60'000, {100}};
  rig.Put(route);
  auto ev = rig.Publish("t", "e1");
  std::optional<DeliveryState> st = RetryingAfter(rig, ev, 1);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->next_attempt_at, rig.clock.WallMs() + 7000);
  rig.Advance(6999);
  EXPECT_FALSE(WaitFor([&] { return ep.count() > 1; }, 0.05)) << "retried before Retry-After";
  rig.Advance(1);
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 1; }));
}

// With a schedule of two 10 ms delays every event would be dead within a second of manual
// time; the outage opens the circuit instead, and nothing is dead-lettered.
TEST(DispatcherRetrySchedule, CircuitBreakerStillOpensAndDeadLettersNothing) {
  Rig rig;
  rig.Producer("t", "t", true);
  std::atomic<bool> up{false};
  Endpoint ep([&](const Hit&) { return up ? Answer(200) : Answer(503); });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {3, 100, 1000, {10, 10}};
  rig.Put(route);
  rig.PublishMany(50,
                  [](size_t i) { return std::make_pair("t", "ent-" + std::to_string(i % 10)); });
  // The first attempts of 10 entities fail before any time passes: the circuit opens from
  // them (kCircuitEntities = 5). Wait for that in real time, so a slow worker (TSan, a
  // loaded machine) cannot see the manual clock race its retries past max_attempts first.
  ASSERT_TRUE(WaitFor([&] { return rig.StatsOf("c", "t")->stats.circuit_open; }, 30));
  for (int step = 0; step < 100; ++step) {  // 100 x 200 ms = 20 s
    rig.Advance(200);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE(rig.Dead("c", "t").empty());
  EXPECT_TRUE(rig.StatsOf("c", "t")->stats.circuit_open);
  up = true;
  ASSERT_TRUE(rig.AdvanceUntil([&] { return ep.delivered() >= 50; }, 1000, 120'000));
  EXPECT_TRUE(rig.Dead("c", "t").empty());
}

}  // namespace
}  // namespace eragon::dispatch::testing
