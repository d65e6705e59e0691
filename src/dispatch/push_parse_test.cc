#include "dispatch/push_parse.h"

#include <gtest/gtest.h>

namespace eragon::dispatch {
namespace {

TEST(PushUrlTest, DefaultsPortsAndTarget) {
  auto u = ParsePushUrl("http://Example.COM");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  EXPECT_FALSE(u->host_is_ip);
  EXPECT_EQ(u->HostHeader(), "example.com");

  u = ParsePushUrl("HTTPS://pay.internal/events?x=1#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/events?x=1");
  EXPECT_EQ(u->EndpointKey(), "https://pay.internal:443");

  u = ParsePushUrl("http://127.0.0.1:8080?q=2");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->host_is_ip);
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/?q=2");
  EXPECT_EQ(u->HostHeader(), "127.0.0.1:8080");
}

TEST(PushUrlTest, Ipv6Literals) {
  auto u = ParsePushUrl("https://[::1]:8443/hook");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "::1");
  EXPECT_TRUE(u->host_is_ip);
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->HostHeader(), "[::1]:8443");
  EXPECT_EQ(u->EndpointKey(), "https://[::1]:8443");
  u = ParsePushUrl("http://[fe80::1]/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->HostHeader(), "[fe80::1]");
}

TEST(PushUrlTest, RejectsWhatCannotBeSent) {
  for (const char* bad :
       {"ftp://x/", "x/y", "http://", "http://:80/", "http://a:0/", "http://a:65536/", "http://a:/",
        "http://a:8x/", "http://u:p@a/", "http://[::1/", "http://[::1]x/", "http://a b/",
        "http://a/p q", "http://a/\r\nX: y", "http://h\xc3\xa9/", "http://a_b!/"}) {
    auto u = ParsePushUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().message().rfind("invalid url: ", 0), 0u) << bad;
    }
  }
}

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
