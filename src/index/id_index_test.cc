#include "index/id_index.h"

#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include <filesystem>

#include "channel/embedded.h"
#include "core/event_codec.h"

namespace eragon::index {
namespace {

class IdIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("idindex-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    OpenAll();
  }
  void TearDown() override {
    CloseAll();
    std::filesystem::remove_all(dir_);
  }
  void OpenAll() {
    channel::EmbeddedOptions opts;
    opts.fsync.policy = channel::FsyncPolicy::kNever;
    opts.segment_bytes = 1 << 20;
    auto logs = channel::OpenEmbeddedChannel(dir_ / "log", opts);
    ASSERT_TRUE(logs.ok()) << logs.status().ToString();
    logs_ = std::move(logs).value();
    auto topic = logs_->OpenTopic("orders", {.partitions = 4});
    ASSERT_TRUE(topic.ok());
    topic_ = *topic;
    auto idx = IdIndex::Open(dir_ / "index", logs_.get());
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    index_ = std::move(idx).value();
  }
  void CloseAll() {
    if (index_) {
      ASSERT_TRUE(index_->Close().ok());
    }
    index_.reset();
    if (logs_) {
      ASSERT_TRUE(logs_->Close().ok());
    }
    logs_.reset();
  }
  Event MakeEvent(std::string id, std::string data = "{\"a\":1}") {
    Event e;
    e.id = std::move(id);
    e.event_type = "order_created";
    e.entity_id = "order-1";
    e.producer = "order-service";
    e.occurred_at = 1000;
    e.data = std::move(data);
    return e;
  }
  // Appends the event to the log (as the publish path does) and returns its location.
  Location Append(const Event& e) {
    std::string rec;
    EncodeEventRecord(e, &rec);
    channel::AppendRecord r{e.entity_id, rec, e.occurred_at};
    auto pos = topic_->Append(std::span(&r, 1));
    EXPECT_TRUE(pos.ok());
    return {"orders", (*pos)[0].partition, (*pos)[0].offset};
  }
  void Publish(const Event& e) {
    ASSERT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kNew);
    index_->Commit(e.id, e.producer, e.event_type, Append(e));
  }

  std::filesystem::path dir_;
  std::unique_ptr<channel::Channel> logs_;
  channel::Topic* topic_ = nullptr;
  std::unique_ptr<IdIndex> index_;
};

TEST_F(IdIndexTest, SameIdSameContentIsDuplicate) {
  Event e = MakeEvent("e1");
  Publish(e);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kDuplicate);
  ASSERT_TRUE(index_->Find("e1", "order-service")->has_value());
  EXPECT_EQ((*index_->Find("e1", "order-service"))->topic, "orders");
}

TEST_F(IdIndexTest, SameIdOtherContentIsConflict) {
  Event e = MakeEvent("e1");
  Publish(e);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(MakeEvent("e1", "{\"a\":2}")), e.producer),
            ClaimOutcome::kConflict);
}

// Ids are scoped per producer: another producer's event with the same id (same content or
// not) is new, both are found, and neither blocks the other's retries.
TEST_F(IdIndexTest, SameIdOfAnotherProducerIsNew) {
  Event a = MakeEvent("e1");
  Publish(a);
  Event b = MakeEvent("e1", "{\"b\":1}");
  b.producer = "billing-service";
  Publish(b);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(a), a.producer), ClaimOutcome::kDuplicate);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(b), b.producer), ClaimOutcome::kDuplicate);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(a), b.producer), ClaimOutcome::kConflict);
  ASSERT_TRUE(index_->Find("e1", a.producer)->has_value());
  ASSERT_TRUE(index_->Find("e1", b.producer)->has_value());
  EXPECT_NE(**index_->Find("e1", a.producer), **index_->Find("e1", b.producer));
  EXPECT_FALSE(index_->Find("e1", "third-service")->has_value());
  std::vector<Holder> all = *index_->FindAll("e1");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].producer, "billing-service");
  EXPECT_EQ(all[1].producer, "order-service");
  CloseAll();
  OpenAll();
  EXPECT_EQ(index_->FindAll("e1")->size(), 2u);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(b), b.producer), ClaimOutcome::kDuplicate);
  EXPECT_TRUE(index_->FindAll("e")->empty());  // a prefix of an id is another id
}

// Recovery from the log scopes ids per producer too (the log record holds the producer).
TEST_F(IdIndexTest, RebuildFromLogKeepsBothProducers) {
  Event a = MakeEvent("e1");
  Event b = MakeEvent("e1", "{\"b\":1}");
  b.producer = "billing-service";
  Location la = Append(a);
  Location lb = Append(b);
  CloseAll();
  OpenAll();
  EXPECT_EQ(*index_->Find("e1", a.producer), la);
  EXPECT_EQ(*index_->Find("e1", b.producer), lb);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(a), a.producer), ClaimOutcome::kDuplicate);
}

TEST_F(IdIndexTest, ClaimInFlightUntilCommitOrAbort) {
  Event e = MakeEvent("e1");
  ASSERT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kNew);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kInFlight);
  EXPECT_FALSE(index_->Find("e1", "order-service")->has_value());
  index_->Abort("e1", "order-service");
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kNew);
}

// A server-generated id is reserved without a lookup but otherwise behaves like a
// claimed one: in flight until committed, then found, and a later publish of the same id
// (a client retrying with the id it was given) is a duplicate, before and after reopen.
TEST_F(IdIndexTest, GeneratedIdClaimsLikeAnyOther) {
  Event e = MakeEvent("0190b1c2-0000-7000-8000-000000000001");
  index_->ClaimGenerated(e.id, FingerprintOf(e), e.producer);
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kInFlight);
  EXPECT_FALSE(index_->Find(e.id, "order-service")->has_value());
  Location loc = Append(e);
  index_->Commit(e.id, e.producer, e.event_type, loc);
  ASSERT_TRUE(index_->Find(e.id, "order-service")->has_value());
  EXPECT_EQ(**index_->Find(e.id, "order-service"), loc);
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kDuplicate);
  CloseAll();
  OpenAll();
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kDuplicate);
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), "other-service"), ClaimOutcome::kNew);
  index_->Abort(e.id, "other-service");
}

TEST_F(IdIndexTest, AbortedGeneratedIdIsForgotten) {
  Event e = MakeEvent("0190b1c2-0000-7000-8000-000000000002");
  index_->ClaimGenerated(e.id, FingerprintOf(e), e.producer);
  index_->Abort(e.id, e.producer);
  EXPECT_FALSE(index_->Find(e.id, "order-service")->has_value());
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kNew);
}

TEST_F(IdIndexTest, DuplicateDetectedAfterReopen) {
  Event e = MakeEvent("e1");
  Publish(e);
  CloseAll();
  OpenAll();
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kDuplicate);
  EXPECT_TRUE(index_->HasEventsOfType("order_created"));
  EXPECT_FALSE(index_->HasEventsOfType("order_paid"));
}

// A crash after the log append but before the index write: the reopened index finds the
// event by re-reading the log past its checkpoint.
TEST_F(IdIndexTest, RebuildsFromLogPastCheckpoint) {
  Publish(MakeEvent("indexed"));
  Event missing = MakeEvent("only-in-log");
  Location loc = Append(missing);  // no Claim/Commit: the index never heard of it
  CloseAll();
  OpenAll();
  ASSERT_TRUE(index_->Find("only-in-log", "order-service")->has_value());
  EXPECT_EQ(**index_->Find("only-in-log", "order-service"), loc);
  EXPECT_EQ(index_->Claim("only-in-log", FingerprintOf(missing), missing.producer),
            ClaimOutcome::kDuplicate);
}

// Rewrites the closed index's keys as the version before per-producer ids wrote them
// ("i/<id>", the same value), keeping the checkpoints, so Open() cannot rebuild the ids
// from the log and must migrate them.
void DowngradeToV1Keys(const std::string& dir) {
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  size_t n = 0;
  for (it->Seek("k/"); it->Valid() && it->key().starts_with("k/"); it->Next()) {
    std::string key = it->key().ToString();
    std::string id = key.substr(2, key.find('/', 2) - 2);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "i/" + id, it->value()).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), key).ok());
    ++n;
  }
  ASSERT_GT(n, 0u);
  it.reset();
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(IdIndexTest, IndexOfTheOldVersionIsMigratedOnOpen) {
  for (int i = 0; i < 3000; ++i) Publish(MakeEvent("id-" + std::to_string(i)));
  CloseAll();
  DowngradeToV1Keys(dir_ / "index");
  OpenAll();
  for (int i = 0; i < 3000; ++i) {
    Event e = MakeEvent("id-" + std::to_string(i));
    ASSERT_TRUE(index_->Find(e.id, e.producer)->has_value()) << i;
    ASSERT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kDuplicate);
  }
  EXPECT_EQ(index_->FindAll("id-7")->size(), 1u);
  CloseAll();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir_ / "index", &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->Seek("i/");
  EXPECT_FALSE(it->Valid() && it->key().starts_with("i/")) << "old keys left behind";
  it.reset();
  db.reset();
  OpenAll();
}

TEST_F(IdIndexTest, ManyIdsAcrossPartitions) {
  for (int i = 0; i < 500; ++i) {
    Event e = MakeEvent("id-" + std::to_string(i));
    e.entity_id = "entity-" + std::to_string(i % 37);
    Publish(e);
  }
  CloseAll();
  OpenAll();
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(index_->Find("id-" + std::to_string(i), "order-service")->has_value()) << i;
  }
  EXPECT_FALSE(index_->Find("id-500", "order-service")->has_value());
}

}  // namespace
}  // namespace eragon::index
