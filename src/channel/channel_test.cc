// The embedded channel through the seam's interfaces only (channel.h, embedded.h): what
// README.md in this folder promises, checked on an in-memory Env.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "channel/channel.h"
#include "channel/embedded.h"
#include "core/mem_env.h"

namespace eragon::channel {
namespace {

constexpr char kDir[] = "/data/channel";

class ChannelTest : public ::testing::Test {
 protected:
  ChannelTest() {
    options_.env = env_.get();
    options_.clock = &clock_;
    options_.segment_bytes = 16 << 10;
    options_.retention_ms = 0;
    Reopen();
  }

  void Reopen() {
    if (channel_) {
      EXPECT_TRUE(channel_->Close().ok());
    }
    channel_.reset();
    auto c = OpenEmbeddedChannel(kDir, options_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    channel_ = std::move(c).value();
  }

  Topic* Open(const std::string& name, uint32_t partitions) {
    auto t = channel_->OpenTopic(name, TopicProperties{partitions});
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : nullptr;
  }

  // AppendAsync, waiting for its callback.
  static Result<std::vector<RecordPosition>> AppendAndWait(Topic* t,
                                                           std::vector<AppendRecord> records) {
    std::promise<Result<std::vector<RecordPosition>>> done;
    t->AppendAsync(records, [&done](const Status& st, std::span<const RecordPosition> pos) {
      if (!st.ok()) return done.set_value(st);
      done.set_value(std::vector<RecordPosition>(pos.begin(), pos.end()));
    });
    return done.get_future().get();
  }

  std::unique_ptr<MemEnv> env_ = NewMemEnv();
  ManualClock clock_;
  EmbeddedOptions options_;
  std::unique_ptr<Channel> channel_;
};

TEST(FsyncOptions, ParsesTheThreePolicies) {
  EXPECT_EQ(ParseFsyncOptions("always")->policy, FsyncPolicy::kAlways);
  EXPECT_EQ(ParseFsyncOptions("never")->policy, FsyncPolicy::kNever);
  auto i = ParseFsyncOptions("interval:100");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->policy, FsyncPolicy::kInterval);
  EXPECT_EQ(i->interval_ms, 100);
  EXPECT_EQ(FsyncOptionsToString(*i), "interval:100");
  for (const char* bad : {"interval:0", "interval:", "interval:x", "sometimes", ""}) {
    EXPECT_FALSE(ParseFsyncOptions(bad).ok()) << bad;
  }
}

TEST_F(ChannelTest, OpenTopicCreatesOnceAndRefusesAnotherPartitionCount) {
  EXPECT_EQ(channel_->kind(), "embedded");
  EXPECT_EQ(channel_->FindTopic("orders"), nullptr);
  Topic* t = Open("orders", 4);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->partitions(), 4u);
  EXPECT_EQ(Open("orders", 4), t);
  auto other = channel_->OpenTopic("orders", TopicProperties{8});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kConflict);
  Reopen();
  EXPECT_EQ(channel_->TopicNames(), std::vector<std::string>{"orders"});
  ASSERT_NE(channel_->FindTopic("orders"), nullptr);
  EXPECT_EQ(channel_->FindTopic("orders")->partitions(), 4u);
}

TEST_F(ChannelTest, BatchGetsConsecutiveOffsetsPerPartitionAndReadsBackInOrder) {
  Topic* t = Open("orders", 2);
  const uint32_t p = t->PartitionFor("e1");
  std::vector<std::string> payloads = {"a", "b", "c"};
  std::vector<AppendRecord> batch;
  for (const std::string& s : payloads) batch.push_back({"e1", s, 1000});
  auto first = AppendAndWait(t, batch);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ((*first)[i], (RecordPosition{p, i}));
  auto second = t->Append(std::vector<AppendRecord>{{"e1", "d", 2000}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)[0], (RecordPosition{p, 3}));
  EXPECT_EQ(t->DurableEnd(p), 4u);
  EXPECT_EQ(t->DurableEnd(1 - p), 0u);

  auto read = t->Read(p, 1, 100, 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].payload, "b");
  EXPECT_EQ((*read)[2].payload, "d");
  EXPECT_EQ((*read)[2].offset, 3u);
  EXPECT_EQ((*read)[2].timestamp_ms, 2000);
  EXPECT_EQ(*t->OffsetForTime(p, 1500), 3u);
  EXPECT_EQ(*t->OffsetForTime(p, 0), 0u);
  EXPECT_EQ(*t->OffsetForTime(p, 2001), t->DurableEnd(p));
}

TEST_F(ChannelTest, FailedFsyncIsNotRetriedAndTheTopicTurnsReadOnly) {
  Topic* t = Open("orders", 1);
  ASSERT_TRUE(t->Append(std::vector<AppendRecord>{{"k", "kept", 1}}).ok());
  env_->SetSyncError(Status::IOError("disk gone"));
  auto failed = AppendAndWait(t, {{"k", "lost", 2}});
  ASSERT_FALSE(failed.ok());
  env_->SetSyncError(Status::Ok());
  EXPECT_FALSE(t->health().ok());
  EXPECT_EQ(t->DurableEnd(0), 1u);  // the failed record never became visible
  auto later = AppendAndWait(t, {{"k", "later", 3}});
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), Code::kReadOnly);
}

TEST_F(ChannelTest, CommittedPositionsSurviveReopenUntilRemoved) {
  Open("orders", 2);
  PositionStore::Entry a{"orders", "billing", 0, 7};
  PositionStore::Entry b{"orders", "billing", 1, 3};
  PositionStore::Entry c{"orders", "audit", 0, 1};
  ASSERT_TRUE(channel_->positions()->Commit(std::vector{a, b, c}).ok());
  env_->DropUnsyncedData();  // durable on return: a power loss now loses none of them
  Reopen();
  PositionStore* positions = channel_->positions();
  EXPECT_EQ(positions->Get("orders", "billing", 0), 7u);
  EXPECT_EQ(positions->Get("orders", "billing", 1), 3u);
  EXPECT_EQ(positions->List().size(), 3u);
  ASSERT_TRUE(positions->Remove("orders", "billing").ok());
  Reopen();
  EXPECT_EQ(channel_->positions()->Get("orders", "billing", 0), std::nullopt);
  EXPECT_EQ(channel_->positions()->Get("orders", "audit", 0), 1u);
}

}  // namespace
}  // namespace eragon::channel
