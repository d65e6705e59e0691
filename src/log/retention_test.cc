// Retention by age and size, bounded by committed consumer positions; the position store.
#include <thread>

#include "log/log_test_util.h"
#include "log/position_store.h"

namespace eragon::log {
namespace {

using testing::AppendOne;
using testing::LogFixture;
using testing::Payload;
using testing::ReadAll;

// Appends records stamped with the clock until `segments` segment files exist.
int FillSegments(LogFixture& f, TopicLog* t, int segments) {
  int n = 0;
  while (!f.env->Exists(f.SegmentPath(t->name(), segments))) {
    EXPECT_TRUE(AppendOne(t, Payload(n++, 500), "k", f.clock.WallMs()).ok());
  }
  return n;
}

TEST(Retention, DeletesSegmentsOlderThanTheAgeLimitButNeverTheActiveOne) {
  LogFixture f;
  f.options.retention_ms = 60'000;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  const int n = FillSegments(f, t, 4);
  auto none = f.log->RunRetention();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->segments_deleted, 0u);
  f.clock.AdvanceMs(60'001);
  auto r = f.log->RunRetention();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 3u);
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_FALSE(f.env->Exists(f.SegmentPath("t", 1)));
  EXPECT_TRUE(f.env->Exists(f.SegmentPath("t", 4)));
  const uint64_t start = t->StartOffset(0);
  EXPECT_GT(start, 0u);
  auto rest = ReadAll(t, 0);  // from 0: starts at StartOffset
  ASSERT_EQ(rest.size(), n - start);
  EXPECT_EQ(rest.front(), Payload(static_cast<int>(start), 500));
  f.Reopen();  // the start offset and the next offset survive
  t = f.log->FindTopic("t");
  EXPECT_EQ(t->StartOffset(0), start);
  EXPECT_EQ((*AppendOne(t, "next"))[0].offset, static_cast<uint64_t>(n));
}

TEST(Retention, AgeNeverDeletesPastTheSlowestCommittedPosition) {
  LogFixture f;
  f.options.retention_ms = 1000;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  FillSegments(f, t, 4);
  const uint64_t seg2_first = t->StartOffset(0);
  (void)seg2_first;
  PositionStore::Entry fast{"t", "fast", 0, 1'000'000};
  PositionStore::Entry slow{"t", "slow", 0, 3};  // inside segment 1
  ASSERT_TRUE(f.log->positions()->Commit(std::vector{fast, slow}).ok());
  f.clock.AdvanceMs(2000);
  auto r = f.log->RunRetention();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 0u);
  EXPECT_EQ(t->StartOffset(0), 0u);
  // Once the slow consumer moves on, the segments it passed go.
  slow.offset = t->DurableEnd(0);
  ASSERT_TRUE(f.log->positions()->Commit(std::vector{slow}).ok());
  r = f.log->RunRetention();
  EXPECT_EQ(r->segments_deleted, 3u);
}

TEST(Retention, SizeLimitForcesDeletionPastCommittedPositionsAndSaysSo) {
  LogFixture f;
  f.options.retention_bytes = 2 * f.options.segment_bytes;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  FillSegments(f, t, 5);
  ASSERT_TRUE(f.log->positions()->Commit(std::vector{PositionStore::Entry{"t", "c", 0, 0}}).ok());
  auto r = f.log->RunRetention();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->segments_deleted, 3u);
  EXPECT_EQ(t->SizeBytes(), 2 * f.options.segment_bytes);
  ASSERT_FALSE(r->warnings.empty());
  EXPECT_NE(r->warnings[0].find("size limit"), std::string::npos);
}

TEST(Positions, CommittedPositionsSurviveReopenAndPowerLoss) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  PositionStore* ps = f.log->positions();
  ASSERT_TRUE(ps->Commit(std::vector<PositionStore::Entry>{{"orders", "billing", 0, 10},
                                                           {"orders", "billing", 1, 20},
                                                           {"orders", "mail", 0, 5}})
                  .ok());
  ASSERT_TRUE(ps->Commit(std::vector<PositionStore::Entry>{{"orders", "billing", 0, 11}}).ok());
  f.Crash();
  ASSERT_TRUE(f.Open().ok());
  ps = f.log->positions();
  EXPECT_EQ(ps->Get("orders", "billing", 0), 11u);
  EXPECT_EQ(ps->Get("orders", "billing", 1), 20u);
  EXPECT_EQ(ps->Get("orders", "mail", 0), 5u);
  EXPECT_EQ(ps->Get("orders", "mail", 1), std::nullopt);
  ASSERT_TRUE(ps->Remove("orders", "billing").ok());
  f.Crash();
  ASSERT_TRUE(f.Open().ok());
  auto all = f.log->positions()->List();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].consumer, "mail");
}

TEST(Positions, ConcurrentCommitsAreAllDurable) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  PositionStore* ps = f.log->positions();
  std::vector<std::thread> threads;
  for (int c = 0; c < 8; ++c) {
    threads.emplace_back([ps, c] {
      for (uint64_t i = 1; i <= 50; ++i) {
        PositionStore::Entry e{"t", std::string("c").append(std::to_string(c)), 0, i};
        ASSERT_TRUE(ps->Commit(std::span(&e, 1)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  f.Crash();
  ASSERT_TRUE(f.Open().ok());
  for (int c = 0; c < 8; ++c)
    EXPECT_EQ(f.log->positions()->Get("t", std::string("c").append(std::to_string(c)), 0), 50u);
}

TEST(Positions, TornLastRecordIsDroppedAndABadMiddleRecordIsCorruption) {
  auto env = NewMemEnv();
  {
    auto ps = FilePositionStore::Open(env.get(), "/positions");
    ASSERT_TRUE(ps.ok());
    for (uint64_t i = 0; i < 3; ++i) {
      PositionStore::Entry e{"t", "c", static_cast<uint32_t>(i), i};
      ASSERT_TRUE((*ps)->Commit(std::span(&e, 1)).ok());
    }
  }
  const std::string data = *env->FileContents("/positions");
  ASSERT_TRUE(env->TruncateFile("/positions", data.size() - 3).ok());
  {
    auto ps = FilePositionStore::Open(env.get(), "/positions");
    ASSERT_TRUE(ps.ok());
    EXPECT_EQ((*ps)->List().size(), 2u);
  }
  ASSERT_TRUE(env->CorruptByte("/positions", 10, 0x01).ok());
  EXPECT_EQ(FilePositionStore::Open(env.get(), "/positions").status().code(), Code::kCorruption);
}

TEST(Positions, FsyncFailureMakesTheStoreReadOnly) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  f.env->SetSyncError(Status::IOError("EIO"));
  PositionStore::Entry e{"t", "c", 0, 1};
  EXPECT_FALSE(f.log->positions()->Commit(std::span(&e, 1)).ok());
  f.env->SetSyncError(Status::Ok());
  EXPECT_EQ(f.log->positions()->Commit(std::span(&e, 1)).code(), Code::kReadOnly);
}

}  // namespace
}  // namespace eragon::log
