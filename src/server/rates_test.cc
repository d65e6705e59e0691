// RateTable: per-second buckets over five minutes, read as 1 m and 5 m rates.
#include "server/rates.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace eragon::server {
namespace {

TEST(RateTableTest, CountsFallOutOfTheMinuteThenTheFiveMinutes) {
  RateTable t;
  t.Add("orders", 60, 1000);
  t.Add("orders", 30, 1059);
  EXPECT_DOUBLE_EQ(t.Get("orders", 1059).per_s_1m, 1.5);
  EXPECT_DOUBLE_EQ(t.Get("orders", 1059).per_s_5m, 0.3);
  EXPECT_DOUBLE_EQ(t.Get("orders", 1060).per_s_1m, 0.5);  // second 1000 left the minute
  EXPECT_DOUBLE_EQ(t.Get("orders", 1299).per_s_5m, 0.3);
  EXPECT_DOUBLE_EQ(t.Get("orders", 1300).per_s_5m, 0.1);
  EXPECT_DOUBLE_EQ(t.Get("orders", 2000).per_s_5m, 0);
  EXPECT_DOUBLE_EQ(t.Get("unknown", 1000).per_s_1m, 0);
}

TEST(RateTableTest, ABucketReusedAfterFiveMinutesStartsFromZero) {
  RateTable t;
  t.Add("c", 100, 1000);
  t.Add("c", 3, 1300);  // the same bucket as second 1000
  EXPECT_DOUBLE_EQ(t.Get("c", 1300).per_s_1m, 3.0 / 60);
}

TEST(RateTableTest, ConcurrentAddersWithinOneSecondLoseNothing) {
  RateTable t;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&t] {
      for (int n = 0; n < 10000; ++n) t.Add(n % 2 ? "a" : "b", 1, 500);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_DOUBLE_EQ(t.Get("a", 500).per_s_1m * 60, 20000);
  EXPECT_EQ(t.Names().size(), 2u);
}

}  // namespace
}  // namespace eragon::server
