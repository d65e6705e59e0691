#include "index/id_index.h"

#include <gtest/gtest.h>

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
    index_->Commit(e.id, e.event_type, Append(e));
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
  ASSERT_TRUE(index_->Find("e1").has_value());
  EXPECT_EQ(index_->Find("e1")->topic, "orders");
}

TEST_F(IdIndexTest, SameIdOtherContentOrProducerIsConflict) {
  Event e = MakeEvent("e1");
  Publish(e);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(MakeEvent("e1", "{\"a\":2}")), e.producer),
            ClaimOutcome::kConflict);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(e), "other-service"), ClaimOutcome::kConflict);
}

TEST_F(IdIndexTest, ClaimInFlightUntilCommitOrAbort) {
  Event e = MakeEvent("e1");
  ASSERT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kNew);
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kInFlight);
  EXPECT_FALSE(index_->Find("e1").has_value());
  index_->Abort("e1");
  EXPECT_EQ(index_->Claim("e1", FingerprintOf(e), e.producer), ClaimOutcome::kNew);
}

// A server-generated id is reserved without a lookup but otherwise behaves like a
// claimed one: in flight until committed, then found, and a later publish of the same id
// (a client retrying with the id it was given) is a duplicate, before and after reopen.
TEST_F(IdIndexTest, GeneratedIdClaimsLikeAnyOther) {
  Event e = MakeEvent("0190b1c2-0000-7000-8000-000000000001");
  index_->ClaimGenerated(e.id, FingerprintOf(e), e.producer);
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kInFlight);
  EXPECT_FALSE(index_->Find(e.id).has_value());
  Location loc = Append(e);
  index_->Commit(e.id, e.event_type, loc);
  ASSERT_TRUE(index_->Find(e.id).has_value());
  EXPECT_EQ(*index_->Find(e.id), loc);
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kDuplicate);
  CloseAll();
  OpenAll();
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), e.producer), ClaimOutcome::kDuplicate);
  EXPECT_EQ(index_->Claim(e.id, FingerprintOf(e), "other-service"), ClaimOutcome::kConflict);
}

TEST_F(IdIndexTest, AbortedGeneratedIdIsForgotten) {
  Event e = MakeEvent("0190b1c2-0000-7000-8000-000000000002");
  index_->ClaimGenerated(e.id, FingerprintOf(e), e.producer);
  index_->Abort(e.id);
  EXPECT_FALSE(index_->Find(e.id).has_value());
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
  ASSERT_TRUE(index_->Find("only-in-log").has_value());
  EXPECT_EQ(*index_->Find("only-in-log"), loc);
  EXPECT_EQ(index_->Claim("only-in-log", FingerprintOf(missing), missing.producer),
            ClaimOutcome::kDuplicate);
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
    ASSERT_TRUE(index_->Find("id-" + std::to_string(i)).has_value()) << i;
  }
  EXPECT_FALSE(index_->Find("id-500").has_value());
}

}  // namespace
}  // namespace eragon::index
