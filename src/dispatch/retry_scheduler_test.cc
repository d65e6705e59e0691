// RetryScheduler on its own, with a ManualClock for time: timers, the circuit's streak,
// refunds handed back, the probe's doubling backoff and its identification by tag.
#include "dispatch/retry_scheduler.h"

#include <gtest/gtest.h>

#include "eragon/clock.h"

namespace eragon::dispatch {
namespace {

TEST(RetrySchedulerTest, TimersFallDueInTimeOrder) {
  ManualClock clock;
  RetryScheduler r(1);
  EXPECT_EQ(r.NextTimer(), INT64_MAX);
  const int64_t t0 = clock.WallMs();
  r.Wait({0, 2}, 7, t0 + 200);
  r.Wait({0, 1}, 8, t0 + 100);
  EXPECT_EQ(r.NextTimer(), t0 + 100);
  SlotKey key;
  uint64_t tag = 0;
  EXPECT_FALSE(r.PopDue(clock.WallMs(), &key, &tag));
  clock.AdvanceMs(250);
  ASSERT_TRUE(r.PopDue(clock.WallMs(), &key, &tag));
  EXPECT_EQ(key, (SlotKey{0, 1}));
  EXPECT_EQ(tag, 8u);
  ASSERT_TRUE(r.PopDue(clock.WallMs(), &key, &tag));
  EXPECT_EQ(key, (SlotKey{0, 2}));
  EXPECT_FALSE(r.PopDue(clock.WallMs(), &key, &tag));
}

TEST(RetrySchedulerTest, DelayFollowsThePolicyAndHonoursRetryAfter) {
  RetryScheduler r(42);
  config::RetryPolicy p{12, 100, 10'000};
  for (uint32_t attempt = 1; attempt <= 5; ++attempt) {
    const int64_t d = r.DelayMs(&p, attempt, std::nullopt);
    EXPECT_GE(d, 0);
    EXPECT_LE(d, int64_t{100} << (attempt - 1));
  }
  EXPECT_GE(r.DelayMs(&p, 1, 3'000), 3'000);
  EXPECT_EQ(r.DelayMs(nullptr, 3, std::nullopt), 1000) << "no route: a second";
}

TEST(RetrySchedulerTest, FailuresOnKCircuitEntitiesInARowOpenTheCircuit) {
  RetryScheduler r(1);
  // The same entity failing again and again is that entity's problem, not the endpoint's.
  for (uint64_t i = 0; i < 10; ++i) EXPECT_FALSE(r.CountFailure({0, i}, "a"));
  for (size_t i = 1; i + 1 < kCircuitEntities; ++i) {
    EXPECT_FALSE(r.CountFailure({0, 100 + i}, "e" + std::to_string(i)));
  }
  EXPECT_TRUE(r.CountFailure({0, 200}, "last"));
  std::vector<SlotKey> streak;
  r.OpenCircuit(1000, 500, &streak);
  EXPECT_TRUE(r.circuit_open());
  EXPECT_EQ(streak.size(), 10 + kCircuitEntities - 1) << "every failure of the streak";
  EXPECT_EQ(streak.back(), (SlotKey{0, 200}));
}

TEST(RetrySchedulerTest, ASuccessEndsTheStreak) {
  RetryScheduler r(1);
  for (size_t i = 0; i + 1 < kCircuitEntities; ++i) r.CountFailure({0, i}, std::to_string(i));
  r.EndStreak();
  EXPECT_FALSE(r.CountFailure({0, 99}, "x"));
  std::vector<SlotKey> streak;
  r.OpenCircuit(0, 1, &streak);
  EXPECT_EQ(streak.size(), 1u);
}

TEST(RetrySchedulerTest, ProbeBackoffDoublesUpToSixtySeconds) {
  ManualClock clock;
  RetryScheduler r(1);
  std::vector<SlotKey> streak;
  int64_t now = clock.WallMs();
  r.OpenCircuit(now, 400, &streak);
  EXPECT_FALSE(r.MayProbe(now + 399));
  EXPECT_TRUE(r.MayProbe(now + 400));
  EXPECT_EQ(r.ProbeDue(/*have_ready=*/true), now + 400);
  EXPECT_EQ(r.ProbeDue(/*have_ready=*/false), INT64_MAX) << "nothing to probe with";
  int64_t expect = 400;
  for (int i = 0; i < 12; ++i) {
    r.ProbeSent(100 + i);
    EXPECT_FALSE(r.MayProbe(INT64_MAX)) << "one probe at a time";
    EXPECT_EQ(r.ProbeDue(true), INT64_MAX);
    r.Answered(100 + i, /*up=*/false);
    now = clock.WallMs();
    r.ProbeFailed(now);
    expect = std::min<int64_t>(expect * 2, kMaxProbeBackoffMs);
    EXPECT_EQ(r.ProbeDue(true), now + expect);
    clock.AdvanceMs(expect);
  }
  EXPECT_EQ(expect, kMaxProbeBackoffMs);
  EXPECT_TRUE(r.circuit_open());
}

TEST(RetrySchedulerTest, TheProbeIsKnownByItsTagAndAny2xxClosesTheCircuit) {
  RetryScheduler r(1);
  std::vector<SlotKey> streak;
  r.OpenCircuit(0, 10, &streak);
  r.ProbeSent(7);
  r.Answered(6, /*up=*/false);  // another delivery's answer
  EXPECT_FALSE(r.MayProbe(100));
  r.Answered(7, /*up=*/false);  // the probe's answer, whatever became of its slot
  EXPECT_TRUE(r.MayProbe(100));
  EXPECT_TRUE(r.circuit_open());
  r.Answered(3, /*up=*/true);
  EXPECT_FALSE(r.circuit_open());
}

TEST(RetrySchedulerTest, ClearDropsTimersAndTheStreakButNotTheCircuit) {
  RetryScheduler r(1);
  std::vector<SlotKey> streak;
  r.OpenCircuit(0, 10, &streak);
  r.Wait({0, 1}, 1, 5);
  r.CountFailure({0, 2}, "a");
  r.Clear();
  EXPECT_EQ(r.NextTimer(), INT64_MAX);
  EXPECT_TRUE(r.circuit_open());
  r.OpenCircuit(0, 10, &streak);
  EXPECT_TRUE(streak.empty());
}

}  // namespace
}  // namespace eragon::dispatch
