// The Kafka channel against a real broker (the ctest fixture kafka_broker; its address is
// in the file ERAGON_TEST_KAFKA_FILE names, or ERAGON_TEST_KAFKA_BOOTSTRAP).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "channel/kafka/kafka.h"
#include "channel/kafka/kafka_topic.h"
#include "core/event_codec.h"
#include "core/murmur2.h"
#include "eragon/clock.h"

namespace eragon::channel {
namespace {

std::string Bootstrap() {
  if (const char* b = std::getenv("ERAGON_TEST_KAFKA_BOOTSTRAP")) return b;
  const char* file = std::getenv("ERAGON_TEST_KAFKA_FILE");
  std::string out;
  if (file != nullptr) std::getline(std::ifstream(file), out);
  return out;
}

std::string UniqueName(const std::string& base) {
  static std::mt19937_64 rng(std::random_device{}());
  return base + "-" + std::to_string(rng() % 1000000000);
}

class KafkaChannelTest : public testing::Test {
 protected:
  void SetUp() override {
    options_.brokers = Bootstrap();
    ASSERT_FALSE(options_.brokers.empty()) << "no broker: run through ctest (fixture)";
    options_.topic_prefix = "test.";
    options_.request_timeout_ms = 20000;
    // As eragond runs it: appends of several records in transactions.
    options_.transactional_id = UniqueName("test.txn");
    channel_ = Open();
  }
  std::unique_ptr<Channel> Open() {
    Result<std::unique_ptr<Channel>> c = OpenKafkaChannel(options_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  static std::string EventRecord(const std::string& id, const std::string& entity) {
    Event e{id, "order_created", entity, "order-service", 1700000000000, R"({"n":1})", ""};
    std::string out;
    EncodeEventRecord(e, &out);
    return out;
  }
  // Every event payload of partition `p`, read as the dispatcher reads: from the start
  // until DurableEnd, each read at one past the last record (placeholders passed over).
  static std::vector<std::string> ReadAll(Topic& t, uint32_t p) {
    std::vector<std::string> out;
    uint64_t at = t.StartOffset(p);
    for (int reads = 0; at < t.DurableEnd(p) && reads < 1000; ++reads) {
      Result<std::vector<Record>> r = t.Read(p, at, 5, 1 << 20);
      EXPECT_TRUE(r.ok()) << "read at " << at << ": " << r.status().message();
      if (!r.ok() || r->empty()) break;
      for (const Record& rec : *r) {
        if (!rec.payload.empty()) out.push_back(rec.payload);
        at = rec.offset + 1;
      }
    }
    return out;
  }
  KafkaOptions options_;
  std::unique_ptr<Channel> channel_;
};

TEST_F(KafkaChannelTest, OpenTopicCreatesKafkaTopicAndOtherPartitionCountIsConflict) {
  const std::string name = UniqueName("orders");
  Result<Topic*> t = channel_->OpenTopic(name, {4, "kafka"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->partitions(), 4u);
  EXPECT_EQ(channel_->FindTopic(name), *t);
  // Another process (a fresh channel) finds the Kafka topic with its 4 partitions.
  std::unique_ptr<Channel> other = Open();
  Result<Topic*> wrong = other->OpenTopic(name, {8, "kafka"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kConflict) << wrong.status().message();
  EXPECT_TRUE(other->OpenTopic(name, {4, "kafka"}).ok());
}

TEST_F(KafkaChannelTest, AppendedRecordsAreReadBackInTheirMurmur2Partitions) {
  Result<Topic*> t = channel_->OpenTopic(UniqueName("orders"), {8, "kafka"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::vector<std::string> payloads, keys;
  for (int i = 0; i < 50; ++i) {
    keys.push_back("entity-" + std::to_string(i % 7));
    payloads.push_back(EventRecord("id-" + std::to_string(i), keys.back()));
  }
  std::vector<AppendRecord> recs;
  for (size_t i = 0; i < payloads.size(); ++i) recs.push_back({keys[i], payloads[i], 1234});
  Result<std::vector<RecordPosition>> pos = (*t)->Append(recs);
  ASSERT_TRUE(pos.ok()) << pos.status().message();
  ASSERT_EQ(pos->size(), recs.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ((*pos)[i].partition, Murmur2Partition(keys[i], 8));
    EXPECT_GE((*t)->DurableEnd((*pos)[i].partition), (*pos)[i].offset + 1);
    Result<std::vector<Record>> r = (*t)->Read((*pos)[i].partition, (*pos)[i].offset, 1, 1 << 20);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].offset, (*pos)[i].offset);
    EXPECT_EQ((*r)[0].payload, payloads[i]);  // the event comes back exactly
    EXPECT_EQ((*r)[0].timestamp_ms, 1234);
  }
}

TEST_F(KafkaChannelTest, OneEntitysRecordsKeepTheirOrderAcrossBatches) {
  Result<Topic*> t = channel_->OpenTopic(UniqueName("orders"), {3, "kafka"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::vector<std::string> payloads;
  for (int i = 0; i < 30; ++i) payloads.push_back(EventRecord("e" + std::to_string(i), "one"));
  for (int b = 0; b < 3; ++b) {
    std::vector<AppendRecord> recs;
    for (int i = 0; i < 10; ++i) recs.push_back({"one", payloads[b * 10 + i], 1});
    ASSERT_TRUE((*t)->Append(recs).ok());
  }
  const uint32_t p = (*t)->PartitionFor("one");
  std::vector<std::string> read = ReadAll(**t, p);
  ASSERT_EQ(read.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(read[i], payloads[i]);
}

// Batches go in transactions: their commit markers take offsets that hold no record. A
// reader going from the start to DurableEnd, as the dispatcher does (next read at the last
// offset + 1), gets every record and passes the markers, also the one at the very end,
// without an error or a wait for a record that never comes.
TEST_F(KafkaChannelTest, AReaderPassesTheMarkersOfTransactionsToTheEnd) {
  Result<Topic*> t = channel_->OpenTopic(UniqueName("orders"), {2, "kafka"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::vector<std::string> payloads;
  for (int i = 0; i < 12; ++i) payloads.push_back(EventRecord("m" + std::to_string(i), "one"));
  for (int b = 0; b < 3; ++b) {
    std::vector<AppendRecord> recs;
    for (int i = 0; i < 3; ++i) recs.push_back({"one", payloads[b * 4 + i], 1});
    ASSERT_TRUE((*t)->Append(recs).ok());
    std::vector<AppendRecord> single = {{"one", payloads[b * 4 + 3], 1}};
    ASSERT_TRUE((*t)->Append(single).ok());
  }
  std::vector<AppendRecord> last;  // a transaction last: its marker ends the partition
  for (int i = 0; i < 2; ++i) {
    payloads.push_back(EventRecord("z" + std::to_string(i), "one"));
    last.push_back({"one", payloads.back(), 1});
  }
  Result<std::vector<RecordPosition>> at = (*t)->Append(last);
  ASSERT_TRUE(at.ok()) << at.status().message();
  const uint32_t p = (*t)->PartitionFor("one");
  EXPECT_EQ(ReadAll(**t, p), payloads);
  // The last marker: once the reader's watermark counts it, a read at it returns one
  // placeholder (no event) that takes the position to the end, at once.
  const uint64_t marker = at->back().offset + 1;
  for (int i = 0; i < 200 && (*t)->DurableEnd(p) <= marker; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ((*t)->DurableEnd(p), marker + 1);
  Result<std::vector<Record>> tail = (*t)->Read(p, marker, 5, 1 << 20);
  ASSERT_TRUE(tail.ok()) << tail.status().message();
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].offset, marker);
  EXPECT_TRUE((*tail)[0].payload.empty());
  // A fresh reader (another process) too, from the start.
  std::unique_ptr<Channel> other = Open();
  Result<Topic*> again = other->OpenTopic((*t)->name(), {2, "kafka"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadAll(**again, p), payloads);
}

TEST_F(KafkaChannelTest, WaitForDataAndSubscribeSeeAnAppend) {
  Result<Topic*> t = channel_->OpenTopic(UniqueName("orders"), {1, "kafka"});
  ASSERT_TRUE(t.ok());
  std::atomic<int> calls{0};
  uint64_t sub = (*t)->Subscribe([&] { calls++; });
  const uint64_t end = (*t)->DurableEnd(0);
  EXPECT_FALSE((*t)->WaitForData(0, end, Clock::System()->MonoNs() + 50'000'000));
  std::string rec = EventRecord("x", "k");
  (*t)->AppendAsync(
      std::vector<AppendRecord>{{"k", rec, 1}},
      [](const Status& st, std::span<const RecordPosition>) { ASSERT_TRUE(st.ok()); });
  EXPECT_TRUE((*t)->WaitForData(0, end, Clock::System()->MonoNs() + 20'000'000'000));
  // Subscribers run after the append's callback, which may come after WaitForData woke.
  for (int i = 0; i < 500 && calls.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*t)->Unsubscribe(sub);
  EXPECT_GE(calls.load(), 1);
}

TEST_F(KafkaChannelTest, OffsetForTimeFindsTheFirstRecordAtOrAfter) {
  Result<Topic*> t = channel_->OpenTopic(UniqueName("orders"), {1, "kafka"});
  ASSERT_TRUE(t.ok());
  std::string a = EventRecord("a", "k"), b = EventRecord("b", "k");
  ASSERT_TRUE((*t)->Append(std::vector<AppendRecord>{{"k", a, 1000}, {"k", b, 2000}}).ok());
  // The brokers answer from what read_committed readers see: once the batch's commit
  // marker (offset 2) is in the partition.
  for (int i = 0; i < 200 && (*t)->DurableEnd(0) < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(*(*t)->OffsetForTime(0, 500), 0u);
  EXPECT_EQ(*(*t)->OffsetForTime(0, 1500), 1u);
  // Past every record: the end, or the offset of the batch's commit marker (the brokers
  // date it at the commit), which holds nothing to read either.
  const uint64_t after = *(*t)->OffsetForTime(0, 9000);
  EXPECT_GE(after, 2u);
  EXPECT_LE(after, (*t)->DurableEnd(0));
}

TEST_F(KafkaChannelTest, PositionsAreGroupOffsetsThatOutliveTheChannel) {
  const std::string name = UniqueName("orders");
  ASSERT_TRUE(channel_->OpenTopic(name, {2, "kafka"}).ok());
  std::vector<PositionStore::Entry> e = {{name, "payments", 0, 5}, {name, "payments", 1, 9}};
  Status committed = channel_->positions()->Commit(e);
  ASSERT_TRUE(committed.ok()) << committed.message();
  EXPECT_EQ(channel_->positions()->Get(name, "payments", 1), 9u);  // seen at once
  ASSERT_TRUE(channel_->Close().ok());                             // writes what is pending
  std::unique_ptr<Channel> again = Open();
  EXPECT_EQ(again->positions()->Get(name, "payments", 0), 5u);
  EXPECT_EQ(again->positions()->Get(name, "payments", 1), 9u);
  EXPECT_EQ(again->positions()->Get(name, "billing", 0), std::nullopt);
  ASSERT_TRUE(again->OpenTopic(name, {2, "kafka"}).ok());
  ASSERT_TRUE(again->positions()->Remove(name, "payments").ok());
  std::unique_ptr<Channel> third = Open();
  EXPECT_EQ(third->positions()->Get(name, "payments", 0), std::nullopt);
}

// Commits are written by a background thread: a Remove right after a Commit must not be
// undone by that Commit's write landing later.
TEST_F(KafkaChannelTest, RemovedPositionsDoNotComeBackFromAPendingCommit) {
  const std::string name = UniqueName("audit");
  ASSERT_TRUE(channel_->OpenTopic(name, {4, "kafka"}).ok());
  for (uint64_t round = 1; round <= 5; ++round) {
    std::vector<PositionStore::Entry> e;
    for (uint32_t p = 0; p < 4; ++p) e.push_back({name, "auditor", p, round * 10 + p});
    ASSERT_TRUE(channel_->positions()->Commit(e).ok());
    Status removed = channel_->positions()->Remove(name, "auditor");
    ASSERT_TRUE(removed.ok()) << removed.message();
    EXPECT_EQ(channel_->positions()->Get(name, "auditor", 0), std::nullopt);
  }
  ASSERT_TRUE(channel_->Close().ok());
  std::unique_ptr<Channel> again = Open();
  for (uint32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(again->positions()->Get(name, "auditor", p), std::nullopt) << "partition " << p;
  }
}

TEST(KafkaChannelUnreachableTest, OpeningWithoutABrokerIsUnavailable) {
  KafkaOptions o;
  o.brokers = "127.0.0.1:1";
  o.request_timeout_ms = 1500;
  Result<std::unique_ptr<Channel>> c = OpenKafkaChannel(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable) << c.status().message();
}

// Cluster mode (split_work): a node fetches only the partitions it follows (those its
// groups assign it, the saga engine's) and, for a while, those it reads on demand; the
// durable end of a partition it does not fetch is asked of the brokers. Another channel
// (another node) writes.
// How many threads of this process are named `name`.
int ThreadsNamed(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    n += comm == name ? 1 : 0;
  }
  return n;
}

// The topics of a channel read through one consumer handle: opening more topics starts no
// librdkafka client (each has a main thread that wakes on its timers, and fetch sessions
// of its own), and each topic still reads its own records.
TEST_F(KafkaChannelTest, TopicsShareOneReaderAndEachReadsItsOwnRecords) {
  Result<Topic*> first = channel_->OpenTopic(UniqueName("shared"), {2, "kafka"});
  ASSERT_TRUE(first.ok()) << first.status().message();
  const int clients = ThreadsNamed("rdk:main");
  std::vector<Topic*> topics{*first};
  for (int i = 0; i < 3; ++i) {
    Result<Topic*> t = channel_->OpenTopic(UniqueName("shared"), {2, "kafka"});
    ASSERT_TRUE(t.ok()) << t.status().message();
    topics.push_back(*t);
  }
  EXPECT_EQ(ThreadsNamed("rdk:main"), clients) << "a librdkafka client per topic";
  for (size_t i = 0; i < topics.size(); ++i) {
    std::string payload = EventRecord("shared-" + std::to_string(i), "k");
    AppendRecord rec{"k", payload, 1};
    ASSERT_TRUE(topics[i]->Append({&rec, 1}).ok());
  }
  for (size_t i = 0; i < topics.size(); ++i) {
    const uint32_t p = topics[i]->PartitionFor("k");
    EXPECT_EQ(ReadAll(*topics[i], p),
              std::vector<std::string>{EventRecord("shared-" + std::to_string(i), "k")})
        << "topic " << i;
  }
}

// A fatal error of the idempotent producer (librdkafka 2.0 raises one after some leader
// changes: "rewound sequence number") no longer leaves the channel read-only until a
// restart: publishes answer 503 for a moment, then a new producer takes them.
TEST_F(KafkaChannelTest, AFatalProducerErrorIsFollowedByANewProducer) {
  Result<Topic*> t = channel_->OpenTopic(UniqueName("fatal"), {2, "kafka"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto append = [&](const std::string& id) {
    std::string payload = EventRecord(id, "k");
    AppendRecord rec{"k", payload, 1};
    return (*t)->Append({&rec, 1});
  };
  ASSERT_TRUE(append("before").ok());
  ASSERT_TRUE(KafkaFailProducerForTest(channel_.get()).ok());
  Result<std::vector<RecordPosition>> after = Status::Unavailable("not yet");
  for (int i = 0; i < 200 && !after.ok(); ++i) {
    after = append("after-" + std::to_string(i));
    if (after.ok()) break;
    EXPECT_EQ(after.status().code(), Code::kUnavailable) << after.status().message();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_TRUE((*t)->health().ok()) << (*t)->health().message();
  const uint32_t p = (*t)->PartitionFor("k");
  std::vector<std::string> got = ReadAll(**t, p);
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got.front(), EventRecord("before", "k"));
}

TEST_F(KafkaChannelTest, InClusterModeOnlyFollowedAndRecentlyReadPartitionsAreFetched) {
  const std::string name = UniqueName("split");
  Result<Topic*> w = channel_->OpenTopic(name, {2, "kafka"});
  ASSERT_TRUE(w.ok()) << w.status().message();
  std::string key[2];
  for (int i = 0; key[0].empty() || key[1].empty(); ++i) {
    std::string k = "e" + std::to_string(i);
    key[(*w)->PartitionFor(k)] = k;
  }
  auto append = [&](uint32_t p, int n) {
    for (int i = 0; i < n; ++i) {
      std::string payload = EventRecord(UniqueName("id"), key[p]);
      AppendRecord rec{key[p], payload, 1234};
      ASSERT_TRUE((*w)->Append({&rec, 1}).ok());
    }
  };
  append(0, 3);
  append(1, 2);
  options_.split_work = true;
  std::unique_ptr<Channel> node = Open();
  ASSERT_NE(node, nullptr);
  Result<Topic*> t = node->OpenTopic(name, {2, "kafka"});
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto* kt = dynamic_cast<kafka::KafkaTopic*>(*t);
  ASSERT_NE(kt, nullptr);
  kt->set_idle_stop_ms(200);
  EXPECT_FALSE(kt->Fetching(0));
  EXPECT_FALSE(kt->Fetching(1));
  EXPECT_EQ(kt->DurableEnd(0), 3u);
  append(0, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(kt->DurableEnd(0), 5u) << "asked of the brokers, not fetched";
  EXPECT_FALSE(kt->Fetching(0));

  // A read on demand fetches the partition, until it is left idle.
  Result<std::vector<Record>> r = kt->Read(0, 0, 100, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->size(), 5u);
  EXPECT_TRUE(kt->Fetching(0));
  EXPECT_FALSE(kt->Fetching(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_FALSE(kt->Fetching(0)) << "idle for longer than idle_stop_ms";

  // A followed partition stays fetched, and its fetches show what others append.
  kt->Follow(1, true);
  EXPECT_TRUE(kt->Fetching(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_TRUE(kt->Fetching(1)) << "followed: fetched however long nobody reads it";
  append(1, 1);
  const int64_t deadline = Clock::System()->MonoNs() + 20'000'000'000;
  EXPECT_TRUE(kt->WaitForData(1, 2, deadline));
  kt->Follow(1, false);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_FALSE(kt->Fetching(1));
}

}  // namespace
}  // namespace eragon::channel
