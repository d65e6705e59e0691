#include "schedule/cron.h"

#include <gtest/gtest.h>

namespace eragon::schedule {
namespace {

// ms since the epoch of a UTC date and time (test-local; days from H. Hinnant's formula).
int64_t Utc(int64_t y, int m, int d, int hh = 0, int mm = 0) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return ((days * 24 + hh) * 60 + mm) * 60'000;
}

CronExpr Cron(const char* text) {
  Result<CronExpr> e = CronExpr::Parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
  return e.ok() ? e.value() : CronExpr::Parse("* * * * *").value();
}

TEST(CronTest, EveryMinute) {
  CronExpr e = Cron("* * * * *");
  EXPECT_EQ(e.NextTick(Utc(2024, 1, 1, 0, 0)), Utc(2024, 1, 1, 0, 1));
  EXPECT_EQ(e.NextTick(Utc(2024, 1, 1, 0, 0) + 59'999), Utc(2024, 1, 1, 0, 1));
  EXPECT_EQ(e.LatestTick(Utc(2024, 1, 1, 0, 0) + 59'999), Utc(2024, 1, 1, 0, 0));
  EXPECT_EQ(e.LatestTick(Utc(2024, 1, 1, 0, 0)), Utc(2024, 1, 1, 0, 0));
}

TEST(CronTest, StepsListsAndRanges) {
  CronExpr e = Cron("*/5 * * * *");
  EXPECT_EQ(e.NextTick(Utc(2024, 3, 10, 12, 3)), Utc(2024, 3, 10, 12, 5));
  EXPECT_EQ(e.NextTick(Utc(2024, 3, 10, 23, 57)), Utc(2024, 3, 11, 0, 0));
  EXPECT_EQ(e.LatestTick(Utc(2024, 3, 10, 12, 4)), Utc(2024, 3, 10, 12, 0));
  CronExpr r = Cron("1-10/2 8,20 * * *");
  EXPECT_EQ(r.NextTick(Utc(2024, 3, 10, 8, 1)), Utc(2024, 3, 10, 8, 3));
  EXPECT_EQ(r.NextTick(Utc(2024, 3, 10, 8, 9)), Utc(2024, 3, 10, 20, 1));
  EXPECT_EQ(r.LatestTick(Utc(2024, 3, 10, 19, 59)), Utc(2024, 3, 10, 8, 9));
  CronExpr from = Cron("50/5 * * * *");  // N/S = N-max/S
  EXPECT_EQ(from.NextTick(Utc(2024, 3, 10, 8, 56)), Utc(2024, 3, 10, 9, 50));
}

TEST(CronTest, MonthEndsAndYearEnd) {
  CronExpr e = Cron("0 0 31 * *");  // only months with 31 days
  EXPECT_EQ(e.NextTick(Utc(2024, 4, 1)), Utc(2024, 5, 31));
  EXPECT_EQ(e.LatestTick(Utc(2024, 7, 30)), Utc(2024, 5, 31));
  CronExpr ny = Cron("59 23 31 12 *");
  EXPECT_EQ(ny.NextTick(Utc(2024, 12, 31, 23, 59)), Utc(2025, 12, 31, 23, 59));
  EXPECT_EQ(ny.LatestTick(Utc(2025, 1, 1)), Utc(2024, 12, 31, 23, 59));
}

TEST(CronTest, LeapDay) {
  CronExpr e = Cron("0 0 29 2 *");
  EXPECT_EQ(e.NextTick(Utc(2024, 2, 29)), Utc(2028, 2, 29));
  EXPECT_EQ(e.NextTick(Utc(2023, 1, 1)), Utc(2024, 2, 29));
  EXPECT_EQ(e.NextTick(Utc(2096, 3, 1)), Utc(2104, 2, 29));  // 2100 is not a leap year
  EXPECT_EQ(e.LatestTick(Utc(2028, 2, 28)), Utc(2024, 2, 29));
  EXPECT_EQ(e.LatestTick(Utc(2104, 2, 28)), Utc(2096, 2, 29));
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // 2024-06-01 is a Saturday. Fires on the 15th and on every Monday.
  CronExpr either = Cron("0 12 15 * MON");
  EXPECT_EQ(either.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 3, 12));    // Monday
  EXPECT_EQ(either.NextTick(Utc(2024, 6, 12)), Utc(2024, 6, 15, 12));  // the 15th, a Saturday
  EXPECT_EQ(either.LatestTick(Utc(2024, 6, 16)), Utc(2024, 6, 15, 12));
  // Day of week `*`: only the day of month decides, and vice versa.
  CronExpr dom = Cron("0 12 15 * *");
  EXPECT_EQ(dom.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 15, 12));
  CronExpr dow = Cron("0 12 * * 1");
  EXPECT_EQ(dow.NextTick(Utc(2024, 6, 4)), Utc(2024, 6, 10, 12));
  // A field starting with '*' counts as unrestricted (Vixie): both must match.
  CronExpr star_step = Cron("0 0 */2 * 1");  // odd days that are Mondays
  EXPECT_EQ(star_step.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 3));
  EXPECT_EQ(star_step.NextTick(Utc(2024, 6, 3)), Utc(2024, 6, 17));
}

TEST(CronTest, NamesAndSundayAsZeroOrSeven) {
  CronExpr months = Cron("0 0 1 jan,JUL *");
  EXPECT_EQ(months.NextTick(Utc(2024, 2, 1)), Utc(2024, 7, 1));
  CronExpr weekdays = Cron("0 9 * * MON-FRI");
  EXPECT_EQ(weekdays.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 3, 9));  // Sat -> Mon
  CronExpr sunday0 = Cron("0 0 * * 0");
  CronExpr sunday7 = Cron("0 0 * * 7");
  CronExpr sun = Cron("0 0 * * sun");
  EXPECT_EQ(sunday0.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 2));
  EXPECT_EQ(sunday7.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 2));
  EXPECT_EQ(sun.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 2));
  CronExpr weekend = Cron("0 0 * * 6-7");
  EXPECT_EQ(weekend.NextTick(Utc(2024, 6, 1)), Utc(2024, 6, 2));
  EXPECT_EQ(weekend.NextTick(Utc(2024, 6, 2)), Utc(2024, 6, 8));
}

TEST(CronTest, MatchesAgreesWithNextTick) {
  CronExpr e = Cron("*/7 3-5 1,15 * WED");
  int64_t t = Utc(2024, 1, 1);
  for (int i = 0; i < 200; ++i) {
    std::optional<int64_t> next = e.NextTick(t);
    ASSERT_TRUE(next);
    EXPECT_TRUE(e.Matches(*next));
    EXPECT_EQ(e.LatestTick(*next + 59'999), *next);
    EXPECT_EQ(e.LatestTick(*next - 1), e.LatestTick(t));
    t = *next;
  }
}

TEST(CronTest, RefusesBadInputWithClearErrors) {
  struct Case {
    const char* text;
    const char* message_part;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "five fields"},
           {"* * * *", "five fields"},
           {"* * * * * *", "five fields"},
           {"60 * * * *", "minute field '60': 60 is out of range 0..59"},
           {"* 24 * * *", "hour field"},
           {"* * 0 * *", "day-of-month field"},
           {"* * * 13 *", "month field"},
           {"* * * * 8", "day-of-week field"},
           {"*/0 * * * *", "step must be at least 1"},
           {"5-1 * * * *", "range goes backwards"},
           {"1,,2 * * * *", "empty list item"},
           {"a * * * *", "is not a number"},
           {"* * * FOO *", "is not a number or a name"},
           {"* * * * MONDAY", "day-of-week"},
           {"*/x * * * *", "bad step"},
           {"0 0 30 2 *", "never fires"},
           {"0 0 31 4,6,9,11 *", "never fires"},
       }) {
    Result<CronExpr> e = CronExpr::Parse(c.text);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
    EXPECT_NE(e.status().message().find(c.message_part), std::string::npos)
        << c.text << " -> " << e.status().message();
    EXPECT_EQ(e.status().message().rfind("cron: ", 0), 0u);
  }
  // Feb 30 with a restricted day of week still fires (on that weekday).
  EXPECT_TRUE(CronExpr::Parse("0 0 30 2 MON").ok());
}

}  // namespace
}  // namespace eragon::schedule
