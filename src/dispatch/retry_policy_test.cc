// Answer classes and the retry delay (full jitter, Retry-After, caps).
#include "dispatch/retry_policy.h"

#include <gtest/gtest.h>

namespace eragon::dispatch {
namespace {

TEST(ClassifyAnswerTest, PerApiMd) {
  for (int s : {200, 201, 202, 204, 299}) EXPECT_EQ(ClassifyAnswer(s), AnswerClass::kDelivered);
  for (int s : {0, 429, 500, 502, 503, 504, 599}) {
    EXPECT_EQ(ClassifyAnswer(s), AnswerClass::kRetryable) << s;
  }
  for (int s : {100, 301, 302, 304, 400, 401, 403, 404, 409, 410, 413, 600}) {
    EXPECT_EQ(ClassifyAnswer(s), AnswerClass::kDead) << s;
  }
}

TEST(RetryDelayTest, FullJitterWithinExponentialBounds) {
  config::RetryPolicy p{12, 500, 60'000};
  std::mt19937_64 rng(42);
  for (uint32_t attempt = 1; attempt <= 70; ++attempt) {
    int64_t ceiling = attempt <= 8 ? int64_t{500} << (attempt - 1) : 60'000;
    int64_t lo = ceiling, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      int64_t d = RetryDelayMs(p, attempt, std::nullopt, rng);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling) << "attempt " << attempt;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter spreads over the whole range, not just near the ceiling.
    EXPECT_LT(lo, ceiling / 10) << attempt;
    EXPECT_GT(hi, ceiling * 9 / 10) << attempt;
  }
  // Deterministic for a given seed.
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(RetryDelayMs(p, 5, std::nullopt, a), RetryDelayMs(p, 5, std::nullopt, b));
  }
}

TEST(RetryDelayTest, HonoursRetryAfterCappedAtMaxBackoff) {
  config::RetryPolicy p{12, 100, 10'000};
  std::mt19937_64 rng(1);
  for (int i = 0; i < 500; ++i) {
    int64_t d = RetryDelayMs(p, 1, 3'000, rng);
    EXPECT_EQ(d, 3'000);  // jitter for attempt 1 is at most 100 ms
    EXPECT_EQ(RetryDelayMs(p, 1, 86'400'000, rng), 10'000);
    int64_t late = RetryDelayMs(p, 10, 2'000, rng);
    EXPECT_GE(late, 2'000);
    EXPECT_LE(late, 10'000);
  }
  config::RetryPolicy zero{3, 0, 0};
  EXPECT_EQ(RetryDelayMs(zero, 3, 5'000, rng), 0);
}

TEST(RetryDelayTest, ScheduleGivesEachDelayWithoutJitterAndRepeatsTheLast) {
  config::RetryPolicy p{4, 1, 2'000, {0, 1'500, 60'000}};
  std::mt19937_64 rng(1);
  EXPECT_EQ(RetryDelayMs(p, 1, std::nullopt, rng), 0);
  EXPECT_EQ(RetryDelayMs(p, 2, std::nullopt, rng), 1'500);
  EXPECT_EQ(RetryDelayMs(p, 3, std::nullopt, rng), 60'000);  // not capped by max_backoff_ms
  EXPECT_EQ(RetryDelayMs(p, 9, std::nullopt, rng), 60'000);
  EXPECT_EQ(RetryDelayMs(p, 1, 1'800, rng), 1'800);   // Retry-After raises it
  EXPECT_EQ(RetryDelayMs(p, 2, 9'000, rng), 2'000);   // capped at max_backoff_ms
  EXPECT_EQ(RetryDelayMs(p, 3, 9'000, rng), 60'000);  // never lowers it
}

}  // namespace
}  // namespace eragon::dispatch
