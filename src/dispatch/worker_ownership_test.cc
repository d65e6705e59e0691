// ConsumerWorker in cluster mode (worker_ownership.cc), driven as its group member drives
// it: only assigned partitions are delivered, an assignment starts at the group's
// position, a revoke lets pushes in flight finish and hands back the contiguous done
// position, and replay/seek move the owned partitions only. The worker runs over
// the rig's real embedded log, delivery store and push client; no dispatcher drives it.
#include <gtest/gtest.h>

#include "core/murmur2.h"
#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

using namespace std::chrono_literals;
using Assigned = channel::PartitionOwner::Assigned;

class WorkerOwnership : public ::testing::Test {
 protected:
  void SetUp() override {
    rig_.Producer("t", "t", /*ordered=*/true, /*partitions=*/2);
    topic_ = rig_.logs->FindTopic("t");
    cache_ = std::make_unique<RecordCache>(topic_);
    WorkerContext ctx;
    ctx.topic = topic_;
    ctx.records = cache_.get();
    ctx.positions = rig_.logs->positions();
    ctx.store = rig_.store.get();
    ctx.push = rig_.push.get();
    ctx.clock = &rig_.clock;
    worker_ = std::make_shared<ConsumerWorker>("c", true, ctx);
    worker_->SplitWork();
    worker_->SetRoutes({{"t", rig_.HttpRoute("t", "c", ep_.Url())}});
  }
  void TearDown() override {
    rig_.push->Stop();  // its answers must not reach a destroyed worker
  }
  // An entity whose events land in partition p.
  static std::string EntityIn(uint32_t p, int n = 0) {
    for (int i = 0;; ++i) {
      std::string e = "e" + std::to_string(i);
      if (Murmur2Partition(e, 2) == p && n-- == 0) return e;
    }
  }
  // Pumps until `pred` holds (real time; pushes answer on the client's threads).
  bool PumpUntil(const std::function<bool()>& pred) {
    return WaitFor([&] {
      worker_->Pump();
      return pred();
    });
  }

  Rig rig_;
  Endpoint ep_;
  channel::Topic* topic_ = nullptr;
  std::unique_ptr<RecordCache> cache_;
  std::shared_ptr<ConsumerWorker> worker_;
};

TEST_F(WorkerOwnership, OnlyAssignedPartitionsAreDeliveredFromTheGroupsPosition) {
  for (int i = 0; i < 4; ++i) rig_.Publish("t", EntityIn(0), "p0-" + std::to_string(i));
  for (int i = 0; i < 4; ++i) rig_.Publish("t", EntityIn(1), "p1-" + std::to_string(i));
  worker_->Pump();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ep_.count(), 0u) << "nothing is delivered before the group assigns a partition";
  EXPECT_EQ(worker_->DeliveringPartitions(), 0u);
  // Partition 1 with a group position of 2: its events from offset 2 on.
  Assigned a{1, 2};
  EXPECT_TRUE(worker_->Assign({&a, 1}).empty());
  EXPECT_EQ(worker_->DeliveringPartitions(), 1u);
  ASSERT_TRUE(PumpUntil([&] { return ep_.delivered() == 2; }));
  std::this_thread::sleep_for(100ms);
  worker_->Pump();
  EXPECT_EQ(ep_.Delivered(), (std::vector<std::string>{"p1-2", "p1-3"}));
  // Partition 0 without a group position: the route's start (earliest), committed once
  // reported (TakeCommitted hands it to the member).
  Assigned b{0, std::nullopt};
  worker_->Assign({&b, 1});
  ASSERT_TRUE(PumpUntil([&] { return ep_.delivered() == 6; }));
  // The endpoint counts a push before its answer reaches the worker (a later Pump takes it):
  // pump until the position the answers moved is reported.
  bool reported_p0 = false;
  EXPECT_TRUE(PumpUntil([&] {
    for (const auto& e : worker_->TakeCommitted()) reported_p0 |= e.partition == 0 && e.offset == 4;
    return reported_p0;
  }));
}

TEST_F(WorkerOwnership, RevokeLetsPushesInFlightFinishAndHandsBackTheContiguousPosition) {
  ep_.SetHold(300ms);
  Assigned a{0, std::nullopt};
  worker_->Assign({&a, 1});
  // Four entities of partition 0: four pushes in flight at once.
  for (int i = 0; i < 4; ++i) rig_.Publish("t", EntityIn(0, i), "ev-" + std::to_string(i));
  ASSERT_TRUE(PumpUntil([&] { return ep_.arrived() == 4; }));
  const uint32_t p = 0;
  std::vector<channel::PositionStore::Entry> out = worker_->Revoke({&p, 1}, /*lost=*/false);
  EXPECT_EQ(ep_.delivered(), 4u) << "the revoke waited for the pushes in flight";
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].partition, 0u);
  EXPECT_EQ(out[0].offset, 4u);
  EXPECT_EQ(worker_->DeliveringPartitions(), 0u);
  // Nothing more is delivered on the revoked partition.
  rig_.Publish("t", EntityIn(0), "after");
  worker_->Pump();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(ep_.count(), 4u);
  // A lost partition (the session expired) hands back nothing to commit.
  worker_->Assign({&a, 1});
  EXPECT_TRUE(worker_->Revoke({&p, 1}, /*lost=*/true).empty());
}

// Each node moves the partitions it owns (the API sends the request to every node): a
// replay redelivers the owned partition's events and leaves the other partition alone,
// and the moved position is reported for the member to commit.
TEST_F(WorkerOwnership, ReplayAndSeekMoveOnlyTheOwnedPartitions) {
  for (int i = 0; i < 2; ++i) rig_.Publish("t", EntityIn(0), "p0-" + std::to_string(i));
  for (int i = 0; i < 2; ++i) rig_.Publish("t", EntityIn(1), "p1-" + std::to_string(i));
  Assigned a{0, std::nullopt};
  worker_->Assign({&a, 1});
  ASSERT_TRUE(PumpUntil([&] { return ep_.delivered() == 2; }));
  worker_->TakeCommitted();
  Moved moved;
  ASSERT_TRUE(worker_->Replay(0, false, &moved).ok());
  EXPECT_EQ(moved.partitions, 1u);
  EXPECT_EQ(moved.of, 2u);
  bool reported_p0 = false;
  for (const auto& e : worker_->TakeCommitted()) reported_p0 |= e.partition == 0 && e.offset == 0;
  EXPECT_TRUE(reported_p0) << "the replayed position goes to the member";
  ASSERT_TRUE(PumpUntil([&] { return ep_.delivered() == 4; }));
  std::this_thread::sleep_for(100ms);
  worker_->Pump();
  EXPECT_EQ(ep_.Delivered(), (std::vector<std::string>{"p0-0", "p0-1", "p0-0", "p0-1"}));
  // A seek to the end skips what is published before it, on the owned partition only.
  rig_.Publish("t", EntityIn(0), "p0-skipped");
  ASSERT_TRUE(worker_->Seek(-1, &moved).ok());
  EXPECT_EQ(moved.partitions, 1u);
  rig_.Publish("t", EntityIn(0), "p0-after");
  ASSERT_TRUE(PumpUntil([&] { return ep_.delivered() == 5; }));
  std::this_thread::sleep_for(100ms);
  worker_->Pump();
  EXPECT_EQ(ep_.Delivered().size(), 5u);
  EXPECT_EQ(ep_.Delivered().back(), "p0-after");
}

}  // namespace
}  // namespace eragon::dispatch::testing
