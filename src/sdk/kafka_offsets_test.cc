// The KafkaConsumer's bookkeeping without a broker: contiguous done offsets, revocation
// (waits for running handlers, ends retry sleeps, refuses queued records), the dedup LRU.
#include "sdk/kafka_offsets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "sdk/kafka_dedup.h"

namespace eragon::sdk {
namespace {

using namespace std::chrono_literals;

TEST(KafkaOffsetsTest, CommitsOnlyUpToTheFirstRecordNotDone) {
  KafkaOffsets o;
  PartitionPtr p = o.Assign(0);
  for (int64_t off = 10; off < 15; ++off) o.Received(*p, off);
  EXPECT_TRUE(o.ToCommit().empty());
  for (int64_t off : {11, 13}) {
    ASSERT_TRUE(o.BeginRun(*p));
    o.EndRun(*p, off, true);
  }
  EXPECT_TRUE(o.ToCommit().empty());  // 10 is not done: nothing moves
  ASSERT_TRUE(o.BeginRun(*p));
  o.EndRun(*p, 10, true);
  EXPECT_EQ(o.ToCommit(), (std::vector<PartitionOffset>{{0, 12}}));  // 10, 11 done; 12 not
  ASSERT_TRUE(o.BeginRun(*p));
  o.EndRun(*p, 12, false);  // failed (revoked while retrying): still not done
  EXPECT_EQ(o.ToCommit(), (std::vector<PartitionOffset>{{0, 12}}));
  o.Committed({{0, 12}});
  EXPECT_TRUE(o.ToCommit().empty());
  o.Finish(*p, 12);  // e.g. a duplicate passed over
  EXPECT_EQ(o.ToCommit(), (std::vector<PartitionOffset>{{0, 14}}));
}

// A transaction's commit marker takes the offset after its records and holds nothing to
// handle: the end of partition past it moves the commit there, once the records are done.
TEST(KafkaOffsetsTest, AnEndOfPartitionMovesTheCommitPastMarkersOnceEverythingIsDone) {
  KafkaOffsets o;
  PartitionPtr p = o.Assign(0);
  o.Received(*p, 3);
  o.Received(*p, 4);
  o.ReachedEnd(*p, 6);  // 5 is a marker
  EXPECT_TRUE(o.ToCommit().empty());
  ASSERT_TRUE(o.BeginRun(*p));
  o.EndRun(*p, 3, true);
  EXPECT_EQ(o.ToCommit(), (std::vector<PartitionOffset>{{0, 4}}));  // 4 not done yet
  ASSERT_TRUE(o.BeginRun(*p));
  o.EndRun(*p, 4, true);
  EXPECT_EQ(o.ToCommit(), (std::vector<PartitionOffset>{{0, 6}}));
  o.Committed({{0, 6}});
  o.ReachedEnd(*p, 8);  // nothing received in between: two markers (an aborted batch)
  EXPECT_EQ(o.ToCommit(), (std::vector<PartitionOffset>{{0, 8}}));
}

TEST(KafkaOffsetsTest, RevokeWaitsForRunningHandlersAndEndsRetrySleeps) {
  KafkaOffsets o;
  PartitionPtr p0 = o.Assign(0);
  PartitionPtr p1 = o.Assign(1);
  o.Received(*p0, 0);
  o.Received(*p0, 1);
  o.Received(*p1, 0);
  ASSERT_TRUE(o.BeginRun(*p0));  // a handler of partition 0 runs
  ASSERT_TRUE(o.BeginRun(*p1));  // and one of partition 1 sleeps before a retry
  std::atomic<bool> retry_ended{false}, retry_allowed{true};
  std::thread retrier([&] {
    retry_allowed = o.WaitBeforeRetry(*p1, 60'000);
    retry_ended = true;
    o.EndRun(*p1, 0, false);
  });
  std::atomic<bool> revoked{false};
  std::vector<PartitionOffset> due;
  std::thread revoker([&] {
    due = o.Revoke({0, 1});
    revoked = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(retry_ended);  // the retry sleep ended at once, without retrying
  EXPECT_FALSE(retry_allowed);
  EXPECT_FALSE(revoked);  // partition 0's handler still runs
  o.EndRun(*p0, 0, true);
  revoker.join();
  retrier.join();
  EXPECT_EQ(due, (std::vector<PartitionOffset>{{0, 1}}));  // what partition 0 finished
  EXPECT_FALSE(o.BeginRun(*p0));  // its queued record (offset 1) is dropped
  EXPECT_EQ(o.Find(0), nullptr);
  PartitionPtr again = o.Assign(0);  // assigned back: a fresh state
  EXPECT_NE(again, p0);
  EXPECT_TRUE(o.BeginRun(*again));
}

TEST(KafkaOffsetsTest, StopRefusesNewRunsAndEndsRetrySleeps) {
  KafkaOffsets o;
  PartitionPtr p = o.Assign(3);
  ASSERT_TRUE(o.BeginRun(*p));
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    o.Stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(o.WaitBeforeRetry(*p, 60'000));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  stopper.join();
  EXPECT_FALSE(o.BeginRun(*p));
}

TEST(IdLruTest, HoldsTheLastCapacityIdsMostRecentlySeen) {
  IdLru lru(3);
  for (const char* id : {"a", "b", "c"}) lru.Insert(id);
  EXPECT_TRUE(lru.Contains("a"));  // "a" becomes the most recent; "b" is now the oldest
  lru.Insert("d");
  EXPECT_FALSE(lru.Contains("b"));
  EXPECT_TRUE(lru.Contains("a"));
  EXPECT_TRUE(lru.Contains("c"));
  EXPECT_TRUE(lru.Contains("d"));
  lru.Insert("d");  // again: no second entry
  EXPECT_EQ(lru.size(), 3u);
}

}  // namespace
}  // namespace eragon::sdk
