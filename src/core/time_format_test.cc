#include "core/time_format.h"

#include <gtest/gtest.h>

namespace eragon {
namespace {

TEST(TimeFormat, ParsesRfc3339Forms) {
  EXPECT_EQ(ParseRfc3339Ms("1970-01-01T00:00:00Z").value_or(-1), 0);
  EXPECT_EQ(ParseRfc3339Ms("2018-11-27T09:01:27Z").value_or(-1), 1543309287000);
  EXPECT_EQ(ParseRfc3339Ms("2018-11-27T09:01:27.123Z").value_or(-1), 1543309287123);
  EXPECT_EQ(ParseRfc3339Ms("2018-11-27t09:01:27.1z").value_or(-1), 1543309287100);
  EXPECT_EQ(ParseRfc3339Ms("2018-11-27 09:01:27.123999Z").value_or(-1), 1543309287123);
  EXPECT_EQ(ParseRfc3339Ms("2018-11-27T11:01:27+02:00").value_or(-1), 1543309287000);
  EXPECT_EQ(ParseRfc3339Ms("2018-11-27T08:31:27-00:30").value_or(-1), 1543309287000);
  EXPECT_EQ(ParseRfc3339Ms("2016-12-31T23:59:60Z").value_or(-1), 1483228799999);
  EXPECT_EQ(ParseRfc3339Ms("2024-02-29T00:00:00Z").value_or(-1), 1709164800000);
}

TEST(TimeFormat, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "2018-11-27", "2018-11-27T09:01:27", "2018-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2018-11-27T24:00:00Z", "2018-11-27T09:60:00Z", "2018-11-27T09:01:27.Z",
        "2018-11-27T09:01:27+0200", "2018-11-27T09:01:27Zjunk", "1969-12-31T23:59:59Z",
        "18-11-27T09:01:27Z", "1543309287000"}) {
    EXPECT_FALSE(ParseRfc3339Ms(bad).has_value()) << bad;
  }
}

TEST(TimeFormat, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339Ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(1543309287123), "2018-11-27T09:01:27.123Z");
  EXPECT_EQ(FormatRfc3339Ms(1709164800000), "2024-02-29T00:00:00.000Z");
  for (int64_t ms : {int64_t{1}, int64_t{951782400000}, int64_t{4102444799999}}) {
    EXPECT_EQ(ParseRfc3339Ms(FormatRfc3339Ms(ms)).value_or(-1), ms);
  }
}

}  // namespace
}  // namespace eragon
