// The cluster's DeliveryStore on a real PostgreSQL (the ctest fixture `postgres`, a
// database per test), with two instances standing for two nodes: what one writes the
// other reads (states, dedup keys, dead letters, redrive marks, attempts); a batch that
// changes a key twice ends as its last change; removals; and while the database refuses
// connections a Write fails (Unavailable), changes nothing, and works again after.
#include "dispatch/postgres/pg_delivery_store.h"

#include <gtest/gtest.h>

#include <set>

#include <chrono>

#include "testing/test_postgres.h"

namespace eragon::dispatch {
namespace {

using eragon::testing::PgQueryValue;
using eragon::testing::TestDatabase;
using eragon::testing::TestPostgresUrl;

DeliveryState Delivered(int64_t at) {
  DeliveryState s;
  s.state = DeliveryStateKind::kDelivered;
  s.attempts = 2;
  s.last_status = 200;
  s.delivered_at = at;
  s.last_error = "a \"quoted\" error\\with a backslash";
  return s;
}

DeadLetter Dead(const std::string& id, const std::string& type, int64_t dead_at) {
  DeadLetter d;
  d.event.id = id;
  d.event.event_type = type;
  d.event.entity_id = "e";
  d.event.producer = "p";
  d.event.data = R"({"n":1})";
  d.topic = "orders";
  d.partition = 3;
  d.offset = 77;
  d.attempts = 5;
  d.last_status = 503;
  d.last_error = "HTTP 503";
  d.dead_at = dead_at;
  return d;
}

AttemptFields Attempt(uint32_t n) {
  AttemptFields f;
  f.attempt = n;
  f.at = 1000 + n;
  f.status = 503;
  f.error = "busy";
  f.node = "node-a";
  return f;
}

class PgDeliveryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestPostgresUrl().empty())
        << "no PostgreSQL: run through ctest (fixture postgres)";
    db_ = std::make_unique<TestDatabase>(TestPostgresUrl());
    ASSERT_TRUE(db_->ok()) << db_->error();
    a_ = Open();
    b_ = Open();
    ASSERT_TRUE(a_ && b_);
  }
  std::unique_ptr<DeliveryStore> Open() {
    auto s = OpenPgDeliveryStore(db_->url());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<DeliveryStore> a_, b_;
};

TEST_F(PgDeliveryStoreTest, StatesWrittenByOneNodeAreReadByTheOtherAndTheLastChangeWins) {
  DeliveryBatch batch;
  DeliveryState retrying;
  retrying.state = DeliveryStateKind::kRetrying;
  batch.PutState("c", "orders", 0, 5, retrying);
  batch.PutState("c", "orders", 0, 5, Delivered(42));  // the same key twice: the last wins
  batch.PutState("c", "orders", 0, 300, Delivered(43));
  batch.PutState("c", "orders", 1, 9000, Delivered(44));
  batch.PutState("cc", "orders", 0, 80000, Delivered(45));
  ASSERT_TRUE(a_->Write(batch, true).ok());
  ASSERT_TRUE(a_->Sync().ok());
  std::optional<DeliveryState> got = b_->GetState("c", "orders", 0, 5);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, DeliveryStateKind::kDelivered);
  EXPECT_EQ(got->delivered_at, 42);
  EXPECT_EQ(got->last_error, Delivered(0).last_error);
  EXPECT_FALSE(b_->GetState("c", "orders", 0, 6));
  EXPECT_EQ(b_->StateEnd("c", "orders", 0, 0), 301u);
  EXPECT_EQ(b_->StateEnd("c", "orders", 0, 301), 0u);
  EXPECT_EQ(b_->StateEnd("c", "orders", 1, 0), 9001u);
  ASSERT_TRUE(b_->RemoveStates("c", "orders", 0, 0, 1000).ok());
  EXPECT_EQ(a_->StateEnd("c", "orders", 0, 0), 0u);
  EXPECT_EQ(a_->StateEnd("c", "orders", 1, 0), 9001u);
}

TEST_F(PgDeliveryStoreTest, DedupKeysAreSharedAndExpireAtTheirTtl) {
  // Real time: expired keys are deleted by the store's sweep, which goes by the system clock.
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t hour = 3'600'000;
  DeliveryBatch batch;
  batch.ClaimDedup("c", "t", std::string("bin\0key", 7), now, hour);
  batch.ClaimDedup("c", "t", "forever", now, 0);
  ASSERT_TRUE(a_->Write(batch, false).ok());
  EXPECT_TRUE(b_->DedupClaimed("c", "t", std::string("bin\0key", 7), now + 1));
  EXPECT_FALSE(b_->DedupClaimed("c", "t", "bin", now + 1));
  EXPECT_FALSE(b_->DedupClaimed("c", "t", std::string("bin\0key", 7), now + 2 * hour));
  EXPECT_TRUE(b_->DedupClaimed("c", "t", "forever", now + 1000 * hour));
  EXPECT_FALSE(b_->DedupClaimed("c", "other-type", "forever", now));
  ASSERT_TRUE(b_->RemoveConsumerType("c", "t").ok());
  EXPECT_FALSE(a_->DedupClaimed("c", "t", "forever", now));
}

TEST_F(PgDeliveryStoreTest, DeadLettersListInDeathOrderWithACursorAndRedriveThroughAnyNode) {
  DeliveryBatch batch;
  for (int i = 0; i < 5; ++i) batch.PutDead("c", Dead("ev" + std::to_string(i), "t", 100 - i));
  batch.PutDead("c", Dead("other", "u", 1));
  ASSERT_TRUE(a_->Write(batch, false).ok());
  EXPECT_EQ(b_->CountDead("c"), 6u);
  std::vector<DeadLetter> first = b_->ListDead("c", "t", "", 3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].event.id, "ev4");  // died first
  EXPECT_EQ(first[0].event.data, R"({"n":1})");
  EXPECT_EQ(first[0].partition, 3u);
  EXPECT_EQ(first[0].offset, 77u);
  EXPECT_EQ(first[0].last_error, "HTTP 503");
  std::vector<DeadLetter> rest = b_->ListDead("c", "t", first.back().key, 10);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[1].event.id, "ev0");
  // Node B marks a redrive; node A sees it; the redriven letter goes.
  DeliveryBatch mark;
  mark.MarkRedrive("c", "orders", first[0].key);
  ASSERT_TRUE(b_->Write(mark, true).ok());
  std::vector<DeadLetter> marked = a_->ListRedrives("c", "orders");
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_EQ(marked[0].event.id, "ev4");
  DeliveryBatch done;
  done.RemoveDead(marked[0].key);
  done.UnmarkRedrive("c", "orders", marked[0].key);
  ASSERT_TRUE(a_->Write(done, false).ok());
  EXPECT_TRUE(b_->ListRedrives("c", "orders").empty());
  EXPECT_EQ(b_->CountDead("c"), 5u);
  ASSERT_TRUE(a_->RemoveConsumerType("c", "t").ok());
  EXPECT_EQ(b_->CountDead("c"), 1u);
}

// Cluster mode: a node lists the redrives of the partitions it delivers (and marks that
// name no partition), whichever node marked them.
TEST_F(PgDeliveryStoreTest, RedrivesAreListedForThePartitionsAsked) {
  DeliveryBatch batch;
  for (int i = 0; i < 3; ++i) batch.PutDead("c", Dead("ev" + std::to_string(i), "t", 100 - i));
  ASSERT_TRUE(a_->Write(batch, false).ok());
  std::vector<DeadLetter> dead = a_->ListDead("c", "t", "", 10);
  ASSERT_EQ(dead.size(), 3u);
  DeliveryBatch mark;
  mark.MarkRedrive("c", "orders", dead[0].key, 0);
  mark.MarkRedrive("c", "orders", dead[1].key, 5);
  mark.MarkRedrive("c", "orders", dead[2].key);  // no partition: any node
  ASSERT_TRUE(b_->Write(mark, true).ok());
  const std::vector<uint32_t> p0{0}, p5{5, 6}, none{7};
  auto ids = [](const std::vector<DeadLetter>& v) {
    std::set<std::string> out;
    for (const DeadLetter& d : v) out.insert(d.event.id);
    return out;
  };
  EXPECT_EQ(ids(a_->ListRedrives("c", "orders", 10, &p0)),
            (std::set<std::string>{dead[0].event.id, dead[2].event.id}));
  EXPECT_EQ(ids(a_->ListRedrives("c", "orders", 10, &p5)),
            (std::set<std::string>{dead[1].event.id, dead[2].event.id}));
  EXPECT_EQ(ids(a_->ListRedrives("c", "orders", 10, &none)),
            (std::set<std::string>{dead[2].event.id}));
  EXPECT_EQ(a_->ListRedrives("c", "orders").size(), 3u);
}

TEST_F(PgDeliveryStoreTest, AttemptHistoriesKeepTheLast50InOrderAndGoWithRetention) {
  for (uint32_t n = 1; n <= 60; ++n) {
    DeliveryBatch batch;
    batch.AddAttempt("c", "orders", 1, 42, Attempt(n));
    batch.AddAttempt("c", "orders", 1, 43, Attempt(n));
    ASSERT_TRUE((n % 2 ? a_ : b_)->Write(batch, false).ok());
  }
  std::vector<AttemptRecord> got = b_->Attempts("c", "orders", 1, 42);
  ASSERT_EQ(got.size(), kAttemptsKept);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].attempt, 11 + i);
  EXPECT_EQ(got.back().error, "busy");
  ASSERT_TRUE(a_->RemoveAttempts("c", "orders", 1, 0, 43).ok());
  EXPECT_TRUE(b_->Attempts("c", "orders", 1, 42).empty());
  EXPECT_EQ(b_->Attempts("c", "orders", 1, 43).size(), kAttemptsKept);
  ASSERT_TRUE(a_->RemoveConsumerTopic("c", "orders").ok());
  EXPECT_TRUE(b_->Attempts("c", "orders", 1, 43).empty());
}

TEST_F(PgDeliveryStoreTest, AWriteWhileTheDatabaseRefusesConnectionsFailsAndChangesNothing) {
  const std::string name = db_->name();
  ASSERT_TRUE(
      PgQueryValue(TestPostgresUrl(), "ALTER DATABASE \"" + name + "\" ALLOW_CONNECTIONS false")
          .ok());
  ASSERT_TRUE(PgQueryValue(TestPostgresUrl(),
                           "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                           " WHERE datname = '" +
                               name + "'")
                  .ok());
  DeliveryBatch batch;
  batch.PutState("c", "orders", 0, 1, Delivered(1));
  batch.PutDead("c", Dead("ev", "t", 1));
  Status st = a_->Write(batch, true);
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  ASSERT_TRUE(
      PgQueryValue(TestPostgresUrl(), "ALTER DATABASE \"" + name + "\" ALLOW_CONNECTIONS true")
          .ok());
  EXPECT_FALSE(b_->GetState("c", "orders", 0, 1));
  EXPECT_EQ(b_->CountDead("c"), 0u);
  ASSERT_TRUE(a_->Write(batch, true).ok()) << "the same batch again, once reachable";
  EXPECT_TRUE(b_->GetState("c", "orders", 0, 1));
  EXPECT_EQ(b_->CountDead("c"), 1u);
}

}  // namespace
}  // namespace eragon::dispatch
