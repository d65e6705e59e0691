// PullLeases on its own, with a ManualClock: expiry order, ack ids, stale ids.
#include "dispatch/pull_leases.h"

#include <gtest/gtest.h>

#include "eragon/clock.h"

namespace eragon::dispatch {
namespace {

TEST(PullLeasesTest, LeasesExpireInOrderOfTheirEnd) {
  ManualClock clock;
  PullLeases l;
  const int64_t now = clock.WallMs();
  l.Lease({0, 1}, 5, now + 30'000);
  l.Lease({1, 9}, 6, now + 10'000);
  EXPECT_EQ(l.NextExpiry(), now + 10'000);
  SlotKey key;
  uint64_t tag = 0;
  EXPECT_FALSE(l.PopExpired(clock.WallMs(), &key, &tag));
  clock.AdvanceMs(10'000);
  ASSERT_TRUE(l.PopExpired(clock.WallMs(), &key, &tag));
  EXPECT_EQ(key, (SlotKey{1, 9}));
  EXPECT_EQ(tag, 6u);
  EXPECT_FALSE(l.PopExpired(clock.WallMs(), &key, &tag));
  EXPECT_EQ(l.size(), 1u);
  l.Clear();
  EXPECT_EQ(l.NextExpiry(), INT64_MAX);
}

TEST(PullLeasesTest, AnAckIdIsCurrentOnlyForTheDeliveryInFlightWithItsTag) {
  Slot s;
  s.state = SlotState::kInFlight;
  s.tag = 7;
  EXPECT_TRUE(PullLeases::Current(&s, 7));
  EXPECT_FALSE(PullLeases::Current(&s, 6)) << "an earlier delivery's id";
  EXPECT_FALSE(PullLeases::Current(nullptr, 7)) << "acked and gone";
  s.state = SlotState::kQueued;  // expired or nacked, waiting for the next fetch
  EXPECT_FALSE(PullLeases::Current(&s, 7));
}

TEST(PullLeasesTest, AckIdsArePartitionOffsetTagTopic) {
  std::string id;
  PullLeases::AppendAckId({3, 18446744073709551615u}, 42, "orders.v1", &id);
  EXPECT_EQ(id, "3.18446744073709551615.42.orders.v1");
  std::string more = "x";
  PullLeases::AppendAckId({0, 0}, 1, "t", &more);
  EXPECT_EQ(more, "x0.0.1.t");
}

TEST(PullLeasesTest, AckIdsParseBackIntoTheirParts) {
  std::string id;
  PullLeases::AppendAckId({3, 18446744073709551615u}, 42, "orders.v1", &id);
  auto a = PullLeases::ParseAckId(id);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->partition, 3u);
  EXPECT_EQ(a->offset, 18446744073709551615u);
  EXPECT_EQ(a->tag, 42u);
  EXPECT_EQ(a->topic, "orders.v1") << "the topic keeps its dots";
}

TEST(PullLeasesTest, AckIdsThatAppendAckIdCannotWriteAreRefused) {
  for (const char* bad :
       {"", "1.2.3", "1.2.3.", "1.2.x.t", "-1.2.3.t", "1.2.18446744073709551616.t",
        "4294967296.0.0.t", " 1.2.3.t", "1.2 .3.t", "..."}) {
    EXPECT_FALSE(PullLeases::ParseAckId(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace eragon::dispatch
