// The soak's checks catch what they are for: a lost event, a first delivery out of entity
// order, and a dedup consumer given a second event of one (entity, type) or not the first.
#include "soak_ledger.h"

#include <gtest/gtest.h>

namespace eragon::soak {
namespace {

ConsumerReport ReportOf(const Ledger& l, const std::string& name) {
  for (const ConsumerReport& r : l.Check()) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no report for " << name;
  return {};
}

TEST(SoakLedgerTest, EverythingReceivedInOrderWithRepeatsPasses) {
  Ledger l;
  l.AddConsumer("c", Expect::kEverything);
  for (int s = 1; s <= 3; ++s) l.Published(Ledger::IdOf("e1", s), "t");
  l.Received("c", "e1.1", "t");
  l.Received("c", "e1.2", "t");
  l.Received("c", "e1.1", "t");  // a repeat after a crash is not an order violation
  l.Received("c", "e1.3", "t");
  ConsumerReport r = ReportOf(l, "c");
  EXPECT_EQ(r.missing, 0u);
  EXPECT_EQ(r.order_violations, 0u);
  EXPECT_EQ(r.deliveries, 4u);
  EXPECT_EQ(r.distinct, 3u);
}

TEST(SoakLedgerTest, ALostEventAndAnOutOfOrderFirstDeliveryAreCounted) {
  Ledger l;
  l.AddConsumer("c", Expect::kEverything);
  for (int s = 1; s <= 4; ++s) l.Published(Ledger::IdOf("e1", s), "t");
  l.Received("c", "e1.2", "t");
  l.Received("c", "e1.1", "t");  // first delivered after seq 2
  l.Received("c", "e1.3", "t");
  EXPECT_EQ(l.Missing("c"), 1u);  // e1.4
  ConsumerReport r = ReportOf(l, "c");
  EXPECT_EQ(r.missing, 1u);
  EXPECT_EQ(r.order_violations, 1u);
}

TEST(SoakLedgerTest, DedupConsumerMustGetExactlyTheFirstEventOfEachEntityAndType) {
  Ledger l;
  l.AddConsumer("d", Expect::kFirstPerEntityType);
  l.Published("e1.1", "a");
  l.Published("e1.2", "a");
  l.Published("e1.3", "b");
  l.Published("e2.1", "a");
  l.Received("d", "e1.1", "a");
  l.Received("d", "e1.2", "a");  // a second id for (e1, a)
  l.Received("d", "e1.3", "b");
  EXPECT_EQ(l.Missing("d"), 1u);  // e2.1, the first of (e2, a)
  ConsumerReport r = ReportOf(l, "d");
  EXPECT_EQ(r.dedup_violations, 1u);
  EXPECT_EQ(r.missing, 1u);
}

}  // namespace
}  // namespace eragon::soak
