// DedupGate on its own: keys, parking behind a holder, release, and keys held until the
// pending batch with their claim is written.
#include "dispatch/dedup_gate.h"

#include <gtest/gtest.h>

namespace eragon::dispatch {
namespace {

Event Sample(const std::string& id, const std::string& entity) {
  Event e;
  e.id = id;
  e.entity_id = entity;
  e.event_type = "order_created";
  return e;
}

TEST(DedupGateTest, KeysFollowTheModeAndTheHoldKeyNamesTheType) {
  const Event e = Sample("01J", "o-1");
  EXPECT_EQ(DedupGate::StoreKey(e, config::DedupMode::kEventId), "i01J");
  EXPECT_EQ(DedupGate::StoreKey(e, config::DedupMode::kEntityEvent), "eo-1");
  EXPECT_EQ(DedupGate::HoldKey(e, config::DedupMode::kEntityEvent),
            std::string("order_created\0eo-1", 18));
}

TEST(DedupGateTest, CopiesParkBehindTheHolderAndComeBackInOrderWhenItIsDone) {
  DedupGate g;
  const std::string k = "t\0ex";
  EXPECT_FALSE(g.Park(k, {0, 1})) << "nobody holds it: the caller may take it";
  g.Hold(k);
  EXPECT_TRUE(g.Park(k, {0, 2}));
  EXPECT_TRUE(g.Park(k, {1, 3}));
  EXPECT_FALSE(g.Park("other", {0, 4}));
  std::vector<SlotKey> parked;
  g.Release(k, &parked);
  EXPECT_EQ(parked, (std::vector<SlotKey>{{0, 2}, {1, 3}}));
  EXPECT_EQ(g.held(), 0u);
  parked.clear();
  g.Release(k, &parked);  // released once only
  EXPECT_TRUE(parked.empty());
}

TEST(DedupGateTest, ADeliveredKeyStaysHeldUntilItsClaimIsWritten) {
  DedupGate g;
  g.Hold("a");
  g.Hold("b");
  EXPECT_TRUE(g.Park("a", {0, 10}));
  EXPECT_TRUE(g.Park("b", {0, 11}));
  g.HoldUntilWritten("a");
  g.HoldUntilWritten("b");
  EXPECT_TRUE(g.Park("a", {0, 12})) << "the claim is not in the store yet";
  std::vector<SlotKey> parked;
  g.Written(&parked);
  EXPECT_EQ(parked, (std::vector<SlotKey>{{0, 10}, {0, 12}, {0, 11}}));
  EXPECT_FALSE(g.Park("a", {0, 13}));
  parked.clear();
  g.Written(&parked);
  EXPECT_TRUE(parked.empty());
}

TEST(DedupGateTest, ClearHoldersForgetsKeysHeldBySlots) {
  DedupGate g;
  g.Hold("a");
  g.ClearHolders();
  EXPECT_FALSE(g.Park("a", {0, 1}));
}

}  // namespace
}  // namespace eragon::dispatch
