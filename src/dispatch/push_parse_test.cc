#include "dispatch/push_parse.h"

#include <gtest/gtest.h>

namespace eragon::dispatch {
namespace {

TEST(RetryAfterTest, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfterMs("120", 0), 120'000);
  EXPECT_EQ(ParseRetryAfterMs(" 0 ", 0), 0);
  EXPECT_EQ(ParseRetryAfterMs("99999999999999999999999", 0), (int64_t{1} << 40) * 1000);
  EXPECT_EQ(ParseRetryAfterMs("-5", 0), std::nullopt);
  EXPECT_EQ(ParseRetryAfterMs("1.5", 0), std::nullopt);
  EXPECT_EQ(ParseRetryAfterMs("", 0), std::nullopt);
  EXPECT_EQ(ParseRetryAfterMs("soon", 0), std::nullopt);
}

TEST(RetryAfterTest, HttpDatesInAllThreeForms) {
  constexpr int64_t kT = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example)
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kT);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), kT);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), kT);
  EXPECT_EQ(ParseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(ParseHttpDate("Tue, 29 Feb 2028 23:59:59 GMT"), 1835481599);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 PST"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 25:49:37 GMT"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT x"), std::nullopt);

  EXPECT_EQ(ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", (kT - 30) * 1000), 30'000);
  EXPECT_EQ(ParseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", (kT + 30) * 1000), 0);  // past
}

TEST(HeaderSafetyTest, CrLfNulAreNeverSafe) {
  EXPECT_TRUE(IsSafeHeaderValue("order 42; caf\xc3\xa9"));
  EXPECT_FALSE(IsSafeHeaderValue("a\r\nX-Injected: 1"));
  EXPECT_FALSE(IsSafeHeaderValue("a\nb"));
  EXPECT_FALSE(IsSafeHeaderValue(std::string_view("a\0b", 3)));
  EXPECT_TRUE(IsValidHeaderName("X-Team"));
  EXPECT_FALSE(IsValidHeaderName("X Team"));
  EXPECT_FALSE(IsValidHeaderName("X:Team"));
  EXPECT_FALSE(IsValidHeaderName(""));
}

}  // namespace
}  // namespace eragon::dispatch
