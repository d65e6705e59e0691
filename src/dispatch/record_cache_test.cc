// RecordCache over a real log in a temp dir: what it serves equals the log, workers
// reading the same range share one decoded event, a reader far behind does not evict
// the run the others use, and the run stays within its capacity.
#include "dispatch/record_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "channel/embedded.h"
#include "core/event_codec.h"

namespace eragon::dispatch {
namespace {

class RecordCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eragon-record-cache-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    channel::EmbeddedOptions o;
    o.fsync.policy = channel::FsyncPolicy::kNever;
    auto logs = channel::OpenEmbeddedChannel(dir_, o);
    ASSERT_TRUE(logs.ok()) << logs.status().ToString();
    logs_ = std::move(*logs);
    auto topic = logs_->OpenTopic("t", {1});
    ASSERT_TRUE(topic.ok());
    topic_ = *topic;
    for (int i = 0; i < 100; ++i) {
      Event e;
      e.id = "id" + std::to_string(i);
      e.event_type = "t";
      e.entity_id = "e";
      e.data = "{}";
      std::string payload;
      EncodeEventRecord(e, &payload);
      channel::AppendRecord rec{"e", payload, 1000 + i};
      ASSERT_TRUE(topic_->Append({&rec, 1}).ok());
    }
  }
  void TearDown() override {
    logs_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::vector<CachedRecord> Read(RecordCache& c, uint64_t from, size_t max) {
    std::vector<CachedRecord> out;
    EXPECT_TRUE(c.Read(0, from, max, 1 << 20, &out).ok());
    return out;
  }

  std::string dir_;
  std::unique_ptr<channel::Channel> logs_;
  channel::Topic* topic_ = nullptr;
};

TEST_F(RecordCacheTest, ServesTheLogsRecordsAndSharesOneDecodedEventBetweenReaders) {
  RecordCache cache(topic_, 64);
  std::vector<CachedRecord> a = Read(cache, 10, 20);  // starts the run at 10
  ASSERT_EQ(a.size(), 20u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].offset, 10 + i);
    EXPECT_EQ(a[i].timestamp_ms, int64_t(1010 + i));
    ASSERT_TRUE(a[i].event);
    EXPECT_EQ(a[i].event->id, "id" + std::to_string(10 + i));
  }
  std::vector<CachedRecord> b = Read(cache, 15, 100);  // inside the run: up to its end
  ASSERT_EQ(b.size(), 15u);
  EXPECT_EQ(b[0].event.get(), a[5].event.get()) << "a second reader decoded again";
  std::vector<CachedRecord> c = Read(cache, 30, 100);  // at the end: extends the run
  ASSERT_EQ(c.size(), 70u);
  EXPECT_EQ(c.back().event->id, "id99");
  EXPECT_EQ(Read(cache, 99, 10)[0].event.get(), c.back().event.get());
  EXPECT_TRUE(Read(cache, 100, 10).empty());  // the durable end
}

TEST_F(RecordCacheTest, AReaderBehindTheRunReadsTheLogWithoutEvictingIt) {
  RecordCache cache(topic_, 64);
  std::vector<CachedRecord> lead = Read(cache, 50, 10);
  std::vector<CachedRecord> behind = Read(cache, 0, 10);
  ASSERT_EQ(behind.size(), 10u);
  EXPECT_EQ(behind[0].event->id, "id0");
  EXPECT_EQ(Read(cache, 50, 1)[0].event.get(), lead[0].event.get()) << "the run was evicted";
}

TEST_F(RecordCacheTest, TheRunKeepsOnlyTheNewestCapacityRecords) {
  RecordCache cache(topic_, 16);
  std::vector<CachedRecord> all = Read(cache, 0, 100);
  ASSERT_EQ(all.size(), 100u);
  // Offsets 84..99 are kept; 10 was dropped, so reading it decodes a new event.
  EXPECT_EQ(Read(cache, 84, 1)[0].event.get(), all[84].event.get());
  std::vector<CachedRecord> old = Read(cache, 10, 1);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_NE(old[0].event.get(), all[10].event.get());
  EXPECT_EQ(old[0].event->id, "id10");
}

}  // namespace
}  // namespace eragon::dispatch
