#include "core/push_targets.h"

#include <gtest/gtest.h>

namespace eragon {
namespace {

PushTargets Targets(std::string_view deny, std::string_view allow) {
  return PushTargets(*ParseCidrList(deny), *ParseCidrList(allow));
}

IpAddress Ip(std::string_view text) { return *IpAddress::Parse(text); }

TEST(PushTargetsTest, CidrsMatchByPrefixAndFamily) {
  Cidr link_local = *Cidr::Parse("169.254.0.0/16");
  EXPECT_TRUE(link_local.Contains(Ip("169.254.169.254")));
  EXPECT_FALSE(link_local.Contains(Ip("169.255.0.1")));
  EXPECT_FALSE(link_local.Contains(Ip("::1")));
  Cidr fe80 = *Cidr::Parse("fe80::/10");
  EXPECT_TRUE(fe80.Contains(Ip("fe80::1")));
  EXPECT_TRUE(fe80.Contains(Ip("febf::1")));
  EXPECT_FALSE(fe80.Contains(Ip("fec0::1")));
  EXPECT_TRUE(Cidr::Parse("10.1.2.3")->Contains(Ip("10.1.2.3")));  // a bare address is /32
  EXPECT_FALSE(Cidr::Parse("10.1.2.3")->Contains(Ip("10.1.2.4")));
  EXPECT_TRUE(Cidr::Parse("0.0.0.0/0")->Contains(Ip("8.8.8.8")));
  // An IPv4-mapped IPv6 address is its IPv4 address: no way around an IPv4 deny.
  EXPECT_TRUE(link_local.Contains(Ip("::ffff:169.254.169.254")));
}

TEST(PushTargetsTest, BadListsAreRefusedNamingTheEntry) {
  for (const char* bad : {"10.0.0.0/33", "fe80::/129", "nope", "10.0.0.0/", "10.0.0.0/x"}) {
    auto list = ParseCidrList(std::string("127.0.0.1/8,") + bad);
    ASSERT_FALSE(list.ok()) << bad;
    EXPECT_NE(list.status().message().find(bad), std::string::npos) << list.status().ToString();
  }
  EXPECT_EQ(ParseCidrList("")->size(), 0u);
  EXPECT_EQ(ParseCidrList(" 10.0.0.0/8 , ::1 ")->size(), 2u);
}

TEST(PushTargetsTest, DenyWinsAndAnAllowListLimitsTheRest) {
  PushTargets t = Targets("127.0.0.2/32", "127.0.0.0/8");
  EXPECT_EQ(t.Refusal(Ip("127.0.0.1"), 80), std::nullopt);
  EXPECT_EQ(t.Refusal(Ip("127.0.0.2"), 80), "127.0.0.2 is in --push-deny-cidrs (127.0.0.2/32)");
  EXPECT_EQ(t.Refusal(Ip("10.0.0.1"), 80), "10.0.0.1 is not in --push-allow-cidrs");
  EXPECT_EQ(Targets("", "").Refusal(Ip("10.0.0.1"), 80), std::nullopt);
}

TEST(PushTargetsTest, OwnListenAddressIsRefusedOnItsPortOnly) {
  PushTargets t = Targets("", "");
  t.DenyListenAddress("127.0.0.3", 7070);
  EXPECT_EQ(t.Refusal(Ip("127.0.0.3"), 7070), "127.0.0.3:7070 is eragond's own listen address");
  EXPECT_EQ(t.Refusal(Ip("127.0.0.3"), 7071), std::nullopt);
  PushTargets any = Targets("", "");
  any.DenyListenAddress("0.0.0.0", 7070);  // every local address
  EXPECT_NE(any.Refusal(Ip("127.0.0.9"), 7070), std::nullopt);
  EXPECT_NE(any.Refusal(Ip("::1"), 7070), std::nullopt);
  EXPECT_EQ(any.Refusal(Ip("127.0.0.9"), 9000), std::nullopt);
}

TEST(PushTargetsTest, CheckHostRefusesOnlyWhenEveryAddressIsRefused) {
  EXPECT_EQ(Targets("169.254.0.0/16", "").CheckHost("169.254.169.254", 80).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(Targets("169.254.0.0/16", "").CheckHost("127.0.0.1", 80).ok());
  Status st = Targets("127.0.0.0/8,::1", "").CheckHost("localhost", 80);
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("--push-deny-cidrs"), std::string::npos) << st.ToString();
  // A name that does not resolve now may later: every connection checks again.
  EXPECT_TRUE(Targets("0.0.0.0/0,::/0", "").CheckHost("no-such-host.invalid", 80).ok());
}

}  // namespace
}  // namespace eragon
