#include "core/uuid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "core/hash.h"

namespace eragon {
namespace {

// RFC 9562 Appendix A.4: UUIDv5 of "www.example.com" in NameSpace_DNS.
TEST(Uuid, V5MatchesRfc9562TestVector) {
  EXPECT_EQ(UuidV5(kNamespaceDns, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST(Uuid, V5IsDeterministicAndVersioned) {
  std::string a = UuidV5(kNamespaceUrl, "x");
  EXPECT_EQ(a, UuidV5(kNamespaceUrl, "x"));
  EXPECT_NE(a, UuidV5(kNamespaceDns, "x"));
  EXPECT_EQ(a[14], '5');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);
}

// Issue 16: tick ids were UUIDv5 of "<schedule>/<tick>" in a fixed namespace, so any
// service could compute (and squat) them. Now they are keyed with the install's secret:
// stable for one secret, unrelated under another, and not the old UUIDv5.
TEST(Uuid, ScheduleEventIdIsKeyedWithTheInstallSecret) {
  const std::string secret(32, 'k');
  const std::string id = ScheduleEventId(secret, "nightly", 1700000000000);
  EXPECT_EQ(id, ScheduleEventId(secret, "nightly", 1700000000000));
  EXPECT_NE(id, ScheduleEventId(std::string(32, 'j'), "nightly", 1700000000000));
  const UuidBytes old_ns = {0xc4, 0x07, 0x02, 0x4d, 0xe9, 0x77, 0x4a, 0x38,
                            0xa7, 0x7f, 0xee, 0x3b, 0x6f, 0x03, 0xbc, 0xe7};
  EXPECT_NE(id, UuidV5(old_ns, "nightly/1700000000000"));
  // The first 32 bits are the HMAC's.
  EXPECT_EQ(id.substr(0, 8), HexEncode(HmacSha256(secret, "nightly/1700000000000")).substr(0, 8));
  EXPECT_EQ(id[14], '8');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_NE(id, ScheduleEventId(secret, "nightly", 1700000060000));
  EXPECT_NE(ScheduleEventId(secret, "a", 1), ScheduleEventId(secret, "b", 1));
}

TEST(Uuid, V7LayoutCarriesTimestampVersionAndVariant) {
  ManualClock clock(1'543'309'287'000);
  std::string id = NewUuidV7(&clock);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_EQ(UuidV7Timestamp(id).value_or(-1), 1'543'309'287'000);
  for (char c : id) EXPECT_TRUE(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  EXPECT_FALSE(UuidV7Timestamp(UuidV5(kNamespaceDns, "x")).has_value());
}

TEST(Uuid, V7IsMonotonicWithinOneMillisecondAndWhenClockStepsBack) {
  ManualClock clock(2'000'000'000'000);
  std::vector<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back(NewUuidV7(&clock));  // overflows the counter
  clock.SetWallMs(1'999'999'000'000);                                 // steps back
  for (int i = 0; i < 100; ++i) ids.push_back(NewUuidV7(&clock));
  clock.SetWallMs(2'000'000'100'000);
  for (int i = 0; i < 100; ++i) ids.push_back(NewUuidV7(&clock));
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << i;
}

TEST(Uuid, V7IsUniqueAcrossThreads) {
  ManualClock clock;
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) per_thread[t].push_back(NewUuidV7(&clock));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (auto& v : per_thread) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), 20'000u);
}

TEST(Uuid, ParseAndFormatRoundTrip) {
  std::optional<UuidBytes> b = ParseUuid("6BA7B810-9DAD-11d1-80b4-00c04fd430c8");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, kNamespaceDns);
  EXPECT_EQ(FormatUuid(*b), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_FALSE(ParseUuid("6ba7b810x9dad-11d1-80b4-00c04fd430c8").has_value());
  EXPECT_FALSE(ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430c").has_value());
  EXPECT_FALSE(ParseUuid("6ba7b810-9dad-11d1-80b4-00c04fd430cg").has_value());
}

}  // namespace
}  // namespace eragon
