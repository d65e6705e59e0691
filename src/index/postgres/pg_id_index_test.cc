// The cluster's id index on a real PostgreSQL (the ctest fixture `postgres`, a database
// per test), with two PgIdIndex instances standing for two nodes: one id claimed through
// both at once goes to one; what one node stored is a duplicate or a conflict for the
// other and is found by it; an abort frees the id; a dead node's claim is taken over once
// stale; while the database refuses connections, claims are kUnavailable and commits wait
// in memory, written by themselves once it is back.
#include "index/postgres/pg_id_index.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

#include "channel/embedded.h"
#include "testing/test_postgres.h"

namespace eragon::index {
namespace {

using eragon::testing::PgQueryValue;
using eragon::testing::TestDatabase;
using eragon::testing::TestPostgresUrl;

Fingerprint Fp(uint8_t b) {
  Fingerprint fp{};
  fp.fill(b);
  return fp;
}

// Blocks until the index's commits made so far are in PostgreSQL (or failed once).
void WaitCommits(IdIndex& idx) {
  std::promise<void> p;
  idx.AfterCommits([&] { p.set_value(); });
  p.get_future().wait();
}

class PgIdIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestPostgresUrl().empty())
        << "no PostgreSQL: run through ctest (fixture postgres)";
    db_ = std::make_unique<TestDatabase>(TestPostgresUrl());
    ASSERT_TRUE(db_->ok()) << db_->error();
    dir_ = std::filesystem::temp_directory_path() /
           ("pgidx-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    channel::EmbeddedOptions opts;
    opts.fsync.policy = channel::FsyncPolicy::kNever;
    auto logs = channel::OpenEmbeddedChannel(dir_, opts);
    ASSERT_TRUE(logs.ok()) << logs.status().ToString();
    logs_ = std::move(logs).value();
    ASSERT_TRUE(logs_->OpenTopic("orders", {.partitions = 4}).ok());
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    if (logs_) (void)logs_->Close();
    std::filesystem::remove_all(dir_);
    db_.reset();
  }
  std::unique_ptr<IdIndex> Node(PgIdIndexOptions options = {}) {
    auto idx = OpenPgIdIndex(db_->url(), logs_.get(), options);
    EXPECT_TRUE(idx.ok()) << idx.status().ToString();
    return idx.ok() ? std::move(idx).value() : nullptr;
  }
  // Stores (producer p, id) through `idx` at `loc` and waits until PostgreSQL has it.
  static void Store(IdIndex& idx, const std::string& id, const Fingerprint& fp, Location loc) {
    ASSERT_EQ(idx.Claim(id, fp, "p"), ClaimOutcome::kNew);
    idx.Commit(id, "p", "order_created", loc);
    WaitCommits(idx);
  }
  // ALLOW_CONNECTIONS on the test's database, and its sessions ended when false.
  void AllowConnections(bool allow) {
    const std::string name = db_->name();
    ASSERT_TRUE(PgQueryValue(TestPostgresUrl(), "ALTER DATABASE \"" + name +
                                                    "\" ALLOW_CONNECTIONS " +
                                                    (allow ? "true" : "false"))
                    .ok());
    if (!allow) {
      ASSERT_TRUE(PgQueryValue(TestPostgresUrl(),
                               "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE datname = '" +
                                   name + "'")
                      .ok());
    }
  }

  std::unique_ptr<TestDatabase> db_;
  std::filesystem::path dir_;
  std::unique_ptr<channel::Channel> logs_;
  std::unique_ptr<IdIndex> a_, b_;
};

TEST_F(PgIdIndexTest, OneIdClaimedThroughTwoNodesAtOnceGoesToOneAndIsThenADuplicateForBoth) {
  a_ = Node();
  b_ = Node();
  for (int round = 0; round < 20; ++round) {
    const std::string id = "evt-" + std::to_string(round);
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    auto claim = [&](IdIndex* idx) {
      start.wait();
      return idx->Claim(id, Fp(1), "p");
    };
    auto fa = std::async(std::launch::async, claim, a_.get());
    auto fb = std::async(std::launch::async, claim, b_.get());
    go.set_value();
    ClaimOutcome oa = fa.get(), ob = fb.get();
    ASSERT_EQ((oa == ClaimOutcome::kNew) + (ob == ClaimOutcome::kNew), 1) << id;
    IdIndex* winner = oa == ClaimOutcome::kNew ? a_.get() : b_.get();
    IdIndex* other = winner == a_.get() ? b_.get() : a_.get();
    EXPECT_EQ(oa == ClaimOutcome::kNew ? ob : oa, ClaimOutcome::kInFlight);
    winner->Commit(id, "p", "order_created", {"orders", 1, static_cast<uint64_t>(round)});
    WaitCommits(*winner);
    EXPECT_EQ(other->Claim(id, Fp(1), "p"), ClaimOutcome::kDuplicate);
    EXPECT_EQ(winner->Claim(id, Fp(1), "p"), ClaimOutcome::kDuplicate);
    EXPECT_EQ(other->Claim(id, Fp(2), "p"), ClaimOutcome::kConflict);
    EXPECT_EQ(other->Claim(id, Fp(2), "another-producer"), ClaimOutcome::kNew)
        << "ids are scoped per producer";
    other->Abort(id, "another-producer");
    Result<std::optional<Location>> found = other->Find(id, "p");
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ(**found, (Location{"orders", 1, static_cast<uint64_t>(round)}));
  }
}

TEST_F(PgIdIndexTest, GeneratedIdsAreWrittenWithTheirCommitAndFoundByEveryNode) {
  a_ = Node();
  b_ = Node();
  a_->ClaimGenerated("gen-1", Fp(3), "p");
  a_->Commit("gen-1", "p", "order_paid", {"orders", 2, 7});
  WaitCommits(*a_);
  Result<std::optional<Location>> found = b_->Find("gen-1", "p");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, (Location{"orders", 2, 7}));
  Result<std::vector<Holder>> all = b_->FindAll("gen-1");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].producer, "p");
  EXPECT_TRUE(b_->HasEventsOfType("order_paid"));
  EXPECT_FALSE(b_->HasEventsOfType("order_cancelled"));
  EXPECT_FALSE(b_->Find("gen-2", "p")->has_value());
  EXPECT_EQ(b_->Claim("gen-1", Fp(3), "p"), ClaimOutcome::kDuplicate);
}

// A commit of a type this node already stored is one statement on event_ids alone (it
// was two round trips, the second re-inserting the type, on every commit); a new type is
// written with its ids in one statement, both or neither.
TEST_F(PgIdIndexTest, ACommitOfATypeAlreadyStoredWritesOnlyItsIdsAndANewTypeLandsWithItsIds) {
  a_ = Node();
  b_ = Node();
  Store(*a_, "e1", Fp(1), {"orders", 0, 1});
  ASSERT_TRUE(b_->HasEventsOfType("order_created"));
  // Any statement that touches event_types_stored fails from now on.
  ASSERT_TRUE(
      PgQueryValue(db_->url(), "ALTER TABLE event_types_stored RENAME TO types_moved_away").ok());
  Store(*a_, "e2", Fp(2), {"orders", 0, 2});
  Result<std::optional<Location>> found = b_->Find("e2", "p");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(found->has_value()) << "a known type's commit touched event_types_stored";

  a_->ClaimGenerated("e3", Fp(3), "p");
  a_->Commit("e3", "p", "order_paid", {"orders", 1, 1});
  WaitCommits(*a_);  // the first write failed: the new type's table is away
  found = b_->Find("e3", "p");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_FALSE(found->has_value()) << "ids written without their new type";
  EXPECT_TRUE(a_->Find("e3", "p")->has_value()) << "the committing node knows it meanwhile";

  ASSERT_TRUE(
      PgQueryValue(db_->url(), "ALTER TABLE types_moved_away RENAME TO event_types_stored").ok());
  for (int i = 0; i < 100 && !b_->Find("e3", "p")->has_value(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(b_->Find("e3", "p")->has_value()) << "the retry did not land";
  EXPECT_TRUE(b_->HasEventsOfType("order_paid"));
}

TEST_F(PgIdIndexTest, ClaimManyAnswersEachIdInOrderInOneBatch) {
  a_ = Node();
  b_ = Node();
  Store(*a_, "x1", Fp(1), {"orders", 0, 1});
  Store(*a_, "x2", Fp(1), {"orders", 0, 2});
  std::vector<ClaimRequest> reqs;
  for (const char* id : {"x1", "new-1", "x2", "new-2"}) reqs.push_back({id, Fp(1), "p"});
  reqs[2].fp = Fp(9);
  std::vector<ClaimOutcome> out = b_->ClaimMany(reqs);
  EXPECT_EQ(out, (std::vector<ClaimOutcome>{ClaimOutcome::kDuplicate, ClaimOutcome::kNew,
                                            ClaimOutcome::kConflict, ClaimOutcome::kNew}));
  EXPECT_EQ(a_->Claim("new-1", Fp(1), "p"), ClaimOutcome::kInFlight);
  b_->Abort("new-1", "p");
  b_->Abort("new-2", "p");
  WaitCommits(*b_);  // the aborts queued before it are written too
  EXPECT_EQ(a_->Claim("new-1", Fp(1), "p"), ClaimOutcome::kNew) << "an abort frees the id";
}

TEST_F(PgIdIndexTest, AClaimLeftByADeadNodeIsTakenOverOnceStale) {
  PgIdIndexOptions fast;
  fast.stale_claim_ms = 400;
  a_ = Node(fast);
  b_ = Node(fast);
  ASSERT_EQ(a_->Claim("orphan", Fp(1), "p"), ClaimOutcome::kNew);
  a_.reset();  // the node dies between claim and commit
  EXPECT_EQ(b_->Claim("orphan", Fp(1), "p"), ClaimOutcome::kInFlight);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(b_->Claim("orphan", Fp(1), "p"), ClaimOutcome::kNew);
}

TEST_F(PgIdIndexTest, WhileTheDatabaseIsUnreachableClaimsAreUnavailableAndCommitsWaitAndLand) {
  a_ = Node();
  b_ = Node();
  ASSERT_EQ(a_->Claim("before", Fp(1), "p"), ClaimOutcome::kNew);
  a_->ClaimGenerated("gen", Fp(2), "p");
  AllowConnections(false);
  EXPECT_EQ(b_->Claim("during", Fp(1), "p"), ClaimOutcome::kUnavailable);
  EXPECT_FALSE(b_->Find("x", "p").ok()) << "a lookup that cannot be made is an error";
  a_->Commit("before", "p", "order_created", {"orders", 3, 5});
  a_->Commit("gen", "p", "order_created", {"orders", 3, 6});
  WaitCommits(*a_);  // the first write failed
  Result<std::optional<Location>> here = a_->Find("gen", "p");
  ASSERT_TRUE(here.ok() && here->has_value()) << "the node that stored it still finds it";
  EXPECT_EQ(a_->Claim("before", Fp(1), "p"), ClaimOutcome::kDuplicate);
  AllowConnections(true);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Result<std::optional<Location>> there = b_->Find("gen", "p");
  while (!(there.ok() && there->has_value()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    there = b_->Find("gen", "p");
  }
  ASSERT_TRUE(there.ok() && there->has_value()) << "written by itself once reachable";
  EXPECT_EQ(**there, (Location{"orders", 3, 6}));
  EXPECT_TRUE(b_->Find("before", "p")->has_value());
  EXPECT_EQ(b_->Claim("during", Fp(1), "p"), ClaimOutcome::kNew);
  EXPECT_TRUE(a_->Close().ok());
}

// Once the channel no longer retains an event (its segment deleted), the sweep deletes
// its row: the id is free again for its producer, as on a single node. Rows of events
// still retained, and of other partitions, stay.
TEST_F(PgIdIndexTest, TheSweepFreesTheIdsOfEventsTheChannelNoLongerRetains) {
  ASSERT_TRUE(logs_->Close().ok());
  logs_.reset();  // releases the directory's lock
  channel::EmbeddedOptions opts;
  opts.fsync.policy = channel::FsyncPolicy::kNever;
  opts.segment_bytes = 16 << 10;
  opts.retention_bytes = 16 << 10;  // per topic: older segments go at the next retention run
  auto logs = channel::OpenEmbeddedChannel(dir_, opts);
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  logs_ = std::move(logs).value();
  a_ = Node();
  for (int i = 0; i < 10; ++i)
    Store(*a_, "old-" + std::to_string(i), Fp(1), {"orders", 0, 10u + i});
  Store(*a_, "kept", Fp(1), {"orders", 0, 500});
  Store(*a_, "other-partition", Fp(1), {"orders", 1, 0});
  EXPECT_EQ(*a_->SweepExpired(), 0u) << "everything is still retained";

  channel::Topic* topic = logs_->FindTopic("orders");
  std::string key;
  for (int i = 0; topic->PartitionFor(key) != 0 || key.empty(); ++i) key = "e" + std::to_string(i);
  const std::string payload(1024, 'x');
  for (int i = 0; i < 80; ++i) {
    channel::AppendRecord rec{key, payload, 1};
    ASSERT_TRUE(topic->Append({&rec, 1}).ok());
  }
  ASSERT_TRUE(logs_->RunRetention().ok());
  ASSERT_GT(topic->StartOffset(0), 20u) << "the retention run dropped the oldest segments";

  Result<uint64_t> swept = a_->SweepExpired();
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  EXPECT_EQ(*swept, 10u);
  EXPECT_FALSE(a_->Find("old-3", "p")->has_value());
  EXPECT_EQ(a_->Claim("old-3", Fp(2), "p"), ClaimOutcome::kNew) << "the id is free again";
  EXPECT_TRUE(a_->Find("kept", "p")->has_value());
  EXPECT_TRUE(a_->Find("other-partition", "p")->has_value());
}

// A claim a dead node left without a location is deleted by the sweep once it is older
// than forget_claims_after_ms (before that it blocks the id until stale_claim_ms).
TEST_F(PgIdIndexTest, TheSweepDeletesClaimsLeftWithoutALocationLongAgo) {
  PgIdIndexOptions o;
  o.forget_claims_after_ms = 300;
  a_ = Node(o);
  b_ = Node(o);
  ASSERT_EQ(a_->Claim("orphan", Fp(1), "p"), ClaimOutcome::kNew);
  a_.reset();  // the node dies between claim and commit
  EXPECT_EQ(b_->Claim("orphan", Fp(1), "p"), ClaimOutcome::kInFlight);
  EXPECT_EQ(*b_->SweepExpired(), 0u) << "too recent";
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(*b_->SweepExpired(), 1u);
  EXPECT_EQ(b_->Claim("orphan", Fp(1), "p"), ClaimOutcome::kNew);
}

}  // namespace
}  // namespace eragon::index
