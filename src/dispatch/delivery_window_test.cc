// DeliveryWindow on its own: positions, the bound, entity order, queues, clearing.
#include "dispatch/delivery_window.h"

#include <gtest/gtest.h>

namespace eragon::dispatch {
namespace {

Slot EventSlot(const std::string& entity, int64_t log_ts = 0) {
  auto e = std::make_shared<Event>();
  e->entity_id = entity;
  e->event_type = "t";
  Slot s;
  s.event = std::move(e);
  s.log_ts = log_ts;
  return s;
}

TEST(DeliveryWindowTest, CommittedIsTheLowestOffsetNotDoneOrTheReadPosition) {
  DeliveryWindow w(2, /*ordered=*/false);
  w.StartAt(0, 10);
  EXPECT_EQ(w.partition(0).committed, 10u);
  bool head = false;
  for (uint64_t off : {10, 11, 12}) ASSERT_NE(w.Add(0, off, EventSlot("a"), &head), nullptr);
  w.ReadTo(0, 15);  // 13 and 14 were skipped (not routed)
  EXPECT_EQ(w.partition(0).read_pos, 15u);
  EXPECT_EQ(w.partition(0).committed, 10u);  // 10 is not done
  w.Remove({0, 11}, *w.Find({0, 11}));
  EXPECT_EQ(w.partition(0).committed, 10u);  // done out of order: the position holds
  w.Remove({0, 10}, *w.Find({0, 10}));
  EXPECT_EQ(w.partition(0).committed, 12u);
  w.Remove({0, 12}, *w.Find({0, 12}));
  EXPECT_EQ(w.partition(0).committed, 15u);  // empty: the read position
  EXPECT_EQ(w.partition(1).committed, 0u);   // other partitions untouched
  EXPECT_EQ(w.size(), 0u);
}

TEST(DeliveryWindowTest, RoomShrinksToZeroAtTheBoundAndRedrivesDoNotCount) {
  DeliveryWindow w(1, false);
  bool head = false;
  for (uint64_t off = 0; off < kMaxWindow; ++off) w.Add(0, off, EventSlot("a"), &head);
  EXPECT_EQ(w.size(), kMaxWindow);
  EXPECT_EQ(w.room(), 0u);
  EXPECT_EQ(w.Add(0, 5, EventSlot("a"), &head), nullptr) << "an offset is in the window once";
  SlotKey r = w.AddRedrive(EventSlot("a"));
  EXPECT_EQ(r.partition, kRedrivePartition);
  EXPECT_NE(w.Find(r), nullptr);
  EXPECT_EQ(w.size(), kMaxWindow);
  w.Remove(r, *w.Find(r));
  EXPECT_EQ(w.Find(r), nullptr);
}

// Issue 16: the bound was 4096 events whatever their size (4 GiB of 1 MiB events). Now
// the window also stops taking events at kMaxWindowBytes, and frees the bytes on removal.
TEST(DeliveryWindowTest, RoomIsZeroAtTheByteBoundToo) {
  DeliveryWindow w(1, false);
  bool head = false;
  auto big = [](int i) {
    Slot s = EventSlot("e" + std::to_string(i));
    auto e = std::make_shared<Event>(*s.event);
    e->data.assign(1 << 20, 'x');
    s.event = std::move(e);
    return s;
  };
  uint64_t off = 0;
  while (w.room() > 0 && off < kMaxWindow) w.Add(0, off, big(int(off)), &head), ++off;
  EXPECT_EQ(off, kMaxWindowBytes / (1 << 20)) << "64 events of 1 MiB, not 4096";
  EXPECT_GE(w.bytes(), kMaxWindowBytes);
  w.Remove({0, 0}, *w.Find({0, 0}));
  EXPECT_GT(w.room(), 0u);
  EXPECT_LT(w.bytes(), kMaxWindowBytes);
  w.Clear();
  EXPECT_EQ(w.bytes(), 0u);
  EXPECT_EQ(w.room(), kMaxWindow);
}

TEST(DeliveryWindowTest, OrderedTopicsLetOnlyEachEntitysOldestGo) {
  DeliveryWindow w(1, /*ordered=*/true);
  bool head = false;
  w.Add(0, 0, EventSlot("a"), &head);
  EXPECT_TRUE(head);
  w.Add(0, 1, EventSlot("a"), &head);
  EXPECT_FALSE(head);
  w.Add(0, 2, EventSlot("b"), &head);
  EXPECT_TRUE(head) << "another entity does not wait";
  w.Add(0, 3, EventSlot("a"), &head);
  EXPECT_FALSE(head);
  std::optional<SlotKey> next = w.Remove({0, 0}, *w.Find({0, 0}));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, (SlotKey{0, 1}));
  next = w.Remove({0, 1}, *w.Find({0, 1}));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, (SlotKey{0, 3}));
  EXPECT_FALSE(w.Remove({0, 2}, *w.Find({0, 2})).has_value());  // b had no more
  EXPECT_FALSE(w.Remove({0, 3}, *w.Find({0, 3})).has_value());
}

TEST(DeliveryWindowTest, UnpausePutsPausedEventsInFrontOfReady) {
  DeliveryWindow w(1, false);
  w.ready().push_back({0, 5});
  w.paused().push_back({0, 1});
  w.paused().push_back({0, 2});
  w.Unpause();
  EXPECT_TRUE(w.paused().empty());
  ASSERT_EQ(w.ready().size(), 3u);
  EXPECT_EQ(w.ready()[0], (SlotKey{0, 1}));
  EXPECT_EQ(w.ready()[1], (SlotKey{0, 2}));
  EXPECT_EQ(w.ready()[2], (SlotKey{0, 5}));
}

TEST(DeliveryWindowTest, ClearDropsEventsAndQueuesButKeepsRedrives) {
  DeliveryWindow w(1, true);
  bool head = false;
  w.Add(0, 0, EventSlot("a", 100), &head);
  w.Add(0, 1, EventSlot("a", 50), &head);
  EXPECT_EQ(w.OldestLogTs(), 100) << "the oldest by offset, the partition's committed one";
  SlotKey r = w.AddRedrive(EventSlot("x"));
  w.ready().push_back({0, 0});
  w.pull_ready().push_back({0, 1});
  w.paused().push_back(r);
  w.Clear();
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.Find({0, 0}), nullptr);
  EXPECT_TRUE(w.ready().empty());
  EXPECT_TRUE(w.pull_ready().empty());
  EXPECT_TRUE(w.paused().empty());
  EXPECT_NE(w.Find(r), nullptr);
  EXPECT_EQ(w.OldestLogTs(), INT64_MAX);
  w.Add(0, 1, EventSlot("a"), &head);
  EXPECT_TRUE(head) << "the entity queues went with the events";
}

TEST(DeliveryWindowTest, TagsAreNeverReused) {
  DeliveryWindow w(1, false);
  const uint64_t a = w.NewTag();
  const uint64_t b = w.NewTag();
  EXPECT_NE(a, b);
  EXPECT_GT(b, a);
}

}  // namespace
}  // namespace eragon::dispatch
