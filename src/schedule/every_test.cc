#include "schedule/every.h"

#include <gtest/gtest.h>

#include "schedule/tick_spec.h"

namespace eragon::schedule {
namespace {

TEST(EveryTest, ParsesUnitsAndCombinations) {
  EXPECT_EQ(ParseEvery("1s").value(), 1'000);
  EXPECT_EQ(ParseEvery("5m").value(), 300'000);
  EXPECT_EQ(ParseEvery("2h").value(), 7'200'000);
  EXPECT_EQ(ParseEvery("1d").value(), 86'400'000);
  EXPECT_EQ(ParseEvery("1h30m").value(), 5'400'000);
  EXPECT_EQ(ParseEvery("1d2h3m4s").value(), 93'784'000);
  EXPECT_EQ(ParseEvery("90s").value(), 90'000);
  EXPECT_EQ(ParseEvery("366d").value(), kMaxEveryMs);
}

TEST(EveryTest, RefusesBadInputWithAMessageNamingTheField) {
  for (const char* bad : {"", "5", "m", "0s", "1m1h", "1h1h", "5 m", " 5m", "5M", "-5m", "1.5h",
                          "367d", "99999999999999999999d", "1w", "5m "}) {
    Result<int64_t> r = ParseEvery(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("every: ", 0), 0u) << r.status().message();
  }
  Result<int64_t> ms = ParseEvery("500ms");
  ASSERT_FALSE(ms.ok());
  EXPECT_NE(ms.status().message().find("smallest unit is 1s"), std::string::npos);
}

TEST(EveryTest, TicksAreAnchoredToTheEpoch) {
  EXPECT_EQ(LatestEveryTick(300'000, 1'700'000'123'456), 1'700'000'100'000);
  EXPECT_EQ(LatestEveryTick(300'000, 1'700'000'100'000), 1'700'000'100'000);
  EXPECT_EQ(LatestEveryTick(86'400'000, 86'400'000 * 3 + 5), 86'400'000 * 3);  // UTC midnight
  EXPECT_EQ(LatestEveryTick(1'000, -1), -1'000);
  TickSpec spec = TickSpec::Parse("5m", "").value();
  EXPECT_EQ(spec.NextTick(1'700'000'100'000).value(), 1'700'000'400'000);
  EXPECT_EQ(spec.NextTick(1'700'000'099'999).value(), 1'700'000'100'000);
}

TEST(TickSpecTest, ExactlyOneOfEveryAndCron) {
  EXPECT_FALSE(TickSpec::Parse("", "").ok());
  EXPECT_FALSE(TickSpec::Parse("5m", "* * * * *").ok());
  EXPECT_TRUE(TickSpec::Parse("", "* * * * *").ok());
  Result<TickSpec> bad = TickSpec::Parse("", "61 * * * *");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("cron: ", 0), 0u);
}

}  // namespace
}  // namespace eragon::schedule
