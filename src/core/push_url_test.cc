#include "core/push_url.h"

#include <gtest/gtest.h>

namespace eragon {
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

TEST(PushUrlTest, ErrorsNeverRepeatUserInfo) {
  for (const char* secret : {"http://alice:s3cret@a/", "https://s3cret@a:99999/"}) {
    auto u = ParsePushUrl(secret);
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.status().message().find("s3cret"), std::string::npos) << u.status().ToString();
  }
}

}  // namespace
}  // namespace eragon
