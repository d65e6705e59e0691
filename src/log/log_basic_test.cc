#include <algorithm>

#include "log/log_test_util.h"

namespace eragon::log {
namespace {

using testing::AppendOne;
using testing::LogFixture;
using testing::Payload;
using testing::ReadAll;

TEST(Log, AppendedRecordsReadBackInOrderPerPartition) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("orders", 4);
  std::vector<std::vector<std::string>> expected(4);
  for (int i = 0; i < 300; ++i) {
    std::string key = "entity-" + std::to_string(i % 13);
    auto pos = AppendOne(t, Payload(i), key);
    ASSERT_TRUE(pos.ok()) << pos.status().ToString();
    ASSERT_EQ(pos->size(), 1u);
    EXPECT_EQ((*pos)[0].partition, t->PartitionFor(key));
    EXPECT_EQ((*pos)[0].offset, expected[(*pos)[0].partition].size());
    expected[(*pos)[0].partition].push_back(Payload(i));
  }
  for (uint32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(ReadAll(t, p), expected[p]);
    EXPECT_EQ(t->DurableEnd(p), expected[p].size());
  }
  f.Reopen();  // recovery from sealed segments (index files) and the active one (scan)
  t = f.log->FindTopic("orders");
  ASSERT_NE(t, nullptr);
  for (uint32_t p = 0; p < 4; ++p) EXPECT_EQ(ReadAll(t, p), expected[p]);
  auto pos = AppendOne(t, "after reopen", "entity-1");
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ((*pos)[0].offset, expected[t->PartitionFor("entity-1")].size());
}

TEST(Log, ReadsFromAnyOffsetAndHonourLimits) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("t", 2);
  std::vector<AppendRecord> batch;
  std::vector<std::string> payloads;
  for (int i = 0; i < 500; ++i) payloads.push_back(Payload(i, 50));
  std::string kb = "b";
  while (t->PartitionFor(kb) == t->PartitionFor("a")) kb += "b";
  for (int i = 0; i < 500; ++i)
    batch.push_back({i % 2 ? std::string_view("a") : std::string_view(kb), payloads[i], i});
  for (size_t i = 0; i < batch.size(); i += 50) {
    ASSERT_TRUE(t->Append(std::span(batch).subspan(i, 50)).ok());
  }
  const uint32_t pa = t->PartitionFor("a");
  const uint32_t pb = t->PartitionFor(kb);
  ASSERT_NE(pa, pb);
  for (uint64_t from : {0, 1, 77, 200, 249}) {
    auto r = t->Read(pa, from, 3, 1 << 20);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), std::min<size_t>(3, 250 - from));
    EXPECT_EQ((*r)[0].offset, from);
    EXPECT_EQ((*r)[0].payload, payloads[2 * from + 1]);
    EXPECT_EQ((*r)[0].timestamp_ms, static_cast<int64_t>(2 * from + 1));
  }
  auto one = t->Read(pb, 0, 100, 1);  // max_bytes below one record: still one record
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  EXPECT_TRUE(t->Read(pb, 250, 10, 1 << 20)->empty());
  EXPECT_EQ(t->Read(9, 0, 1, 1).status().code(), Code::kInvalidArgument);
}

TEST(Log, BatchGetsConsecutiveOffsetsPerPartitionInInputOrder) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("t", 3);
  std::vector<AppendRecord> batch = {{"x", "1", 0}, {"y", "2", 0}, {"x", "3", 0}, {"x", "4", 0}};
  auto pos = t->Append(batch);
  ASSERT_TRUE(pos.ok());
  const uint32_t px = t->PartitionFor("x");
  EXPECT_EQ((*pos)[0], (RecordPosition{px, 0}));
  EXPECT_EQ((*pos)[2], (RecordPosition{px, 1}));
  EXPECT_EQ((*pos)[3], (RecordPosition{px, 2}));
  EXPECT_EQ(ReadAll(t, px), (std::vector<std::string>{"1", "3", "4"}));
}

TEST(Log, BatchLargerThanASegmentGetsItsOwnSegment) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  ASSERT_TRUE(AppendOne(t, "small").ok());
  std::string big(40 << 10, 'b');  // segment_bytes is 16 KiB
  ASSERT_TRUE(AppendOne(t, big).ok());
  ASSERT_TRUE(AppendOne(t, "after").ok());
  EXPECT_EQ(ReadAll(t, 0), (std::vector<std::string>{"small", big, "after"}));
  f.Reopen();
  EXPECT_EQ(ReadAll(f.log->FindTopic("t"), 0), (std::vector<std::string>{"small", big, "after"}));
}

TEST(Log, OpenTopicChecksNameAndPartitionCount) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  f.Topic("orders", 8);
  EXPECT_EQ(f.log->OpenTopic("orders", {4}).status().code(), Code::kConflict);
  EXPECT_EQ(f.log->OpenTopic("bad/name", {1}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(f.log->OpenTopic("p0", {0}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(f.log->FindTopic("nope"), nullptr);
  f.Reopen();
  EXPECT_EQ(f.log->TopicNames(), std::vector<std::string>{"orders"});
  EXPECT_EQ(f.log->FindTopic("orders")->partitions(), 8u);
}

TEST(Log, SecondOpenOfTheSameDirectoryFailsWhileLocked) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  auto again = channel::OpenEmbeddedChannel(testing::kDir, f.options);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("locked"), std::string::npos);
}

TEST(Log, OffsetForTimeFindsFirstRecordAtOrAfter) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("t", 1);
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(AppendOne(t, Payload(i), "k", 1000 + 10 * i).ok());
  EXPECT_EQ(*t->OffsetForTime(0, 0), 0u);
  EXPECT_EQ(*t->OffsetForTime(0, 1000), 0u);
  EXPECT_EQ(*t->OffsetForTime(0, 1001), 1u);
  EXPECT_EQ(*t->OffsetForTime(0, 1000 + 10 * 250), 250u);
  EXPECT_EQ(*t->OffsetForTime(0, 1000 + 10 * 399), 399u);
  EXPECT_EQ(*t->OffsetForTime(0, 99999999), 400u);
  f.Reopen();
  EXPECT_EQ(*f.log->FindTopic("t")->OffsetForTime(0, 1000 + 10 * 123 - 5), 123u);
}

TEST(Log, DiskUsageCountsSegments) {
  LogFixture f;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  ASSERT_TRUE(AppendOne(t, "x").ok());
  auto u = f.log->GetDiskUsage();
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->log_bytes, t->SizeBytes());
  EXPECT_GE(u->log_bytes, f.options.segment_bytes);
  EXPECT_GT(u->total_bytes, u->free_bytes);
}

TEST(Log, AppendsBeyondMaxPendingBytesAreRefused) {
  LogFixture f;
  f.options.max_pending_bytes = 1000;
  f.env->SetSyncError(Status::Ok());
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  std::string payload(600, 'x');
  AppendRecord r{"k", payload, 0};
  int refused = 0;
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    t->AppendAsync(std::span(&r, 1), [&](const Status& s, std::span<const RecordPosition>) {
      if (s.code() == Code::kResourceExhausted) ++refused;
      ++done;
    });
  }
  while (done.load() < 200) std::this_thread::yield();
  EXPECT_GT(refused, 0);  // the writer cannot have kept up with 200 x 600 B at once
}

}  // namespace
}  // namespace eragon::log
