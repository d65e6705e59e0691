// RocksDeliveryStore on a real RocksDB in a temp dir: state horizons, dedup expiry by
// compaction, redrive marks.
#include "dispatch/rocks_delivery_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace eragon::dispatch {
namespace {

class DeliveryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eragon-delivery-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = RocksDeliveryStore::Open(dir_, &clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Put(const std::string& consumer, const std::string& topic, uint32_t p, uint64_t off) {
    DeliveryBatch b;
    DeliveryState st;
    st.state = DeliveryStateKind::kDelivered;
    b.PutState(consumer, topic, p, off, st);
    ASSERT_TRUE(store_->Write(b, false).ok());
  }

  ManualClock clock_;
  std::string dir_;
  std::unique_ptr<RocksDeliveryStore> store_;
};

TEST(DeliveryBatchTest, ShowsEveryChangeInOrderAndClearsToEmpty) {
  DeliveryBatch b;
  DeliveryState st;
  st.state = DeliveryStateKind::kRetrying;
  st.attempts = 3;
  st.next_attempt_at = 1234;
  st.last_error = "HTTP 503";
  b.PutState("c", "topic", 2, 77, st);
  b.ClaimDedup("c", "type", "ekey", 1000, 500);
  DeadLetter d;
  d.event.id = "id1";
  b.PutDead("c", d);
  b.MarkRedrive("c", "topic", "dk");
  b.RemoveDead("dk");
  b.UnmarkRedrive("c", "topic", "dk");
  EXPECT_EQ(b.size(), 6u);
  std::vector<DeliveryOp::Kind> kinds;
  b.ForEach([&](const DeliveryOp& op) {
    kinds.push_back(op.kind);
    if (op.kind == DeliveryOp::Kind::kPutState) {
      EXPECT_EQ(op.consumer, "c");
      EXPECT_EQ(op.scope, "topic");
      EXPECT_EQ(op.partition, 2u);
      EXPECT_EQ(op.offset, 77u);
      std::optional<DeliveryState> back = DecodeDeliveryState(op.state);
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(back->attempts, 3u);
      EXPECT_EQ(back->next_attempt_at, 1234);
      EXPECT_EQ(back->last_error, "HTTP 503");
    } else if (op.kind == DeliveryOp::Kind::kClaimDedup) {
      EXPECT_EQ(op.key, "ekey");
      EXPECT_EQ(op.claimed_at, 1000);
      EXPECT_EQ(op.expires_at, 1500);
    } else if (op.kind == DeliveryOp::Kind::kPutDead) {
      EXPECT_EQ(op.dead->event.id, "id1");
    } else {
      EXPECT_EQ(op.key, "dk");
    }
  });
  using K = DeliveryOp::Kind;
  EXPECT_EQ(kinds, (std::vector<K>{K::kPutState, K::kClaimDedup, K::kPutDead, K::kMarkRedrive,
                                   K::kRemoveDead, K::kUnmarkRedrive}));
  b.Clear();
  EXPECT_TRUE(b.empty());
  b.ForEach([](const DeliveryOp&) { ADD_FAILURE() << "a cleared batch has no changes"; });
}

TEST_F(DeliveryStoreTest, StateEndIsOnePastTheHighestStateOfThatPartitionOnly) {
  EXPECT_EQ(store_->StateEnd("c", "t", 0, 0), 0u);
  Put("c", "t", 0, 5);
  Put("c", "t", 0, 300);
  Put("c", "t", 1, 9000);
  Put("c", "tt", 0, 70000);  // a topic whose name extends "t"
  Put("cc", "t", 0, 80000);  // a consumer whose name extends "c"
  EXPECT_EQ(store_->StateEnd("c", "t", 0, 0), 301u);
  EXPECT_EQ(store_->StateEnd("c", "t", 0, 300), 301u);
  EXPECT_EQ(store_->StateEnd("c", "t", 0, 301), 0u);  // none at or above 301
  EXPECT_EQ(store_->StateEnd("c", "t", 1, 0), 9001u);
  EXPECT_EQ(store_->StateEnd("c", "t", 2, 0), 0u);
  EXPECT_EQ(store_->StateEnd("c", "tt", 0, 0), 70001u);
  ASSERT_TRUE(store_->RemoveStates("c", "t", 0, 0, 1000).ok());
  EXPECT_EQ(store_->StateEnd("c", "t", 0, 0), 0u);
}

TEST_F(DeliveryStoreTest, DedupKeysExpireAtTheirTtlAndCompactionDeletesThem) {
  const int64_t hour = 3'600'000;
  DeliveryBatch b;
  b.ClaimDedup("c", "t", "short", clock_.WallMs(), hour);
  b.ClaimDedup("c", "t", "long", clock_.WallMs(), 48 * hour);
  b.ClaimDedup("c", "t", "forever", clock_.WallMs(), 0);
  ASSERT_TRUE(store_->Write(b, false).ok());
  EXPECT_TRUE(store_->DedupClaimed("c", "t", "short", clock_.WallMs()));
  EXPECT_FALSE(store_->DedupClaimed("c", "t", "never-claimed", clock_.WallMs()));
  clock_.AdvanceMs(2 * hour);
  EXPECT_FALSE(store_->DedupClaimed("c", "t", "short", clock_.WallMs()));
  EXPECT_TRUE(store_->DedupClaimed("c", "t", "long", clock_.WallMs()));
  EXPECT_EQ(store_->CountDedupKeys("c", "t"), 3u);  // expired, but still stored
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_EQ(store_->CountDedupKeys("c", "t"), 2u);
  clock_.AdvanceMs(100 * hour);
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_EQ(store_->CountDedupKeys("c", "t"), 1u);
  EXPECT_TRUE(store_->DedupClaimed("c", "t", "forever", clock_.WallMs()));
}

TEST_F(DeliveryStoreTest, RedriveMarksListTheirDeadLettersUntilUnmarked) {
  DeadLetter d;
  d.event.id = "ev1";
  d.event.event_type = "t";
  d.event.entity_id = "e";
  d.topic = "orders";
  d.dead_at = 1;
  DeliveryBatch b;
  b.PutDead("c", d);
  ASSERT_TRUE(store_->Write(b, false).ok());
  std::vector<DeadLetter> dead = store_->ListDead("c", "t", "", 10);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_TRUE(store_->ListRedrives("c", "orders").empty());
  DeliveryBatch mark;
  mark.MarkRedrive("c", "orders", dead[0].key);
  ASSERT_TRUE(store_->Write(mark, true).ok());
  std::vector<DeadLetter> marked = store_->ListRedrives("c", "orders");
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_EQ(marked[0].event.id, "ev1");
  EXPECT_EQ(marked[0].key, dead[0].key);
  EXPECT_TRUE(store_->ListRedrives("c", "other").empty());
  DeliveryBatch done;
  done.RemoveDead(dead[0].key);
  done.UnmarkRedrive("c", "orders", dead[0].key);
  ASSERT_TRUE(store_->Write(done, false).ok());
  EXPECT_TRUE(store_->ListRedrives("c", "orders").empty());
}

// Concurrent callers share fsyncs (group commit); each one's writes, made before its
// Sync, are in the store when every Sync has returned ok, also after a reopen. Under
// TSan this also checks the hand-over between the caller that syncs and those waiting.
// The writes themselves take turns: concurrent writers make RocksDB merge their batches
// in its write group, synchronised by atomics inside Debian's uninstrumented librocksdb
// that TSan cannot see (a false race report, and not what this test is about).
TEST_F(DeliveryStoreTest, ConcurrentSyncsEachReturnOkWithTheirWritesStored) {
  constexpr int kThreads = 8, kRounds = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  std::mutex write_mu;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        DeliveryBatch b;
        DeliveryState st;
        st.state = DeliveryStateKind::kDelivered;
        b.PutState("c", "t", static_cast<uint32_t>(t), static_cast<uint64_t>(r), st);
        bool written;
        {
          std::lock_guard lock(write_mu);
          written = store_->Write(b, false).ok();
        }
        if (!written || !store_->Sync().ok()) ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  store_.reset();
  auto s = RocksDeliveryStore::Open(dir_, &clock_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(*s);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(store_->StateEnd("c", "t", static_cast<uint32_t>(t), 0), uint64_t{kRounds});
  }
}

AttemptRecord Attempt(uint32_t n, AttemptKind kind = AttemptKind::kPush) {
  AttemptRecord r;
  r.kind = kind;
  r.attempt = n;
  r.at = 1000 + n;
  r.duration_ms = n % 7;
  r.status = n % 2 ? 503 : 200;
  r.error = n % 2 ? "HTTP 503: busy" : "";
  r.node = "node-a:7070";
  return r;
}

TEST(AttemptRecordTest, RoundTripsARunOfRecords) {
  std::string run;
  for (uint32_t n = 1; n <= 5; ++n)
    AppendAttemptRecord(FieldsOf(Attempt(n, AttemptKind(n % 6))), &run);
  std::vector<AttemptRecord> all = DecodeAttemptRecords(run);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[2].attempt, 3u);
  EXPECT_EQ(all[2].kind, AttemptKind::kAck);
  EXPECT_EQ(all[2].error, "HTTP 503: busy");
  EXPECT_EQ(all[2].node, "node-a:7070");
  EXPECT_EQ(all[3].duration_ms, 4);
  // A torn run decodes up to its last whole record.
  EXPECT_EQ(DecodeAttemptRecords(std::string_view(run).substr(0, run.size() - 3)).size(), 4u);
}

TEST_F(DeliveryStoreTest, AttemptHistoryKeepsTheLast50InOrderAcrossReopenAndCompaction) {
  for (uint32_t n = 1; n <= 60; ++n) {
    DeliveryBatch b;
    b.AddAttempt("c", "orders", 1, 42, FieldsOf(Attempt(n)));
    b.AddAttempt("c", "orders", 1, 43 + n % 3, FieldsOf(Attempt(n)));  // same block, own history
    b.AddAttempt("c2", "orders", 1, 42, FieldsOf(Attempt(n)));  // another consumer's own history
    ASSERT_TRUE(store_->Write(b, false).ok());
  }
  auto check = [&] {
    std::vector<AttemptRecord> got = store_->Attempts("c", "orders", 1, 42);
    ASSERT_EQ(got.size(), kAttemptsKept);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].attempt, 11 + i);
    EXPECT_EQ(got.back().status, 200);
  };
  check();
  EXPECT_EQ(store_->Attempts("c", "orders", 1, 43).size(), 20u);
  EXPECT_TRUE(store_->Attempts("c", "orders", 1, 46).empty());
  ASSERT_TRUE(store_->CompactAll().ok());
  check();
  store_.reset();
  auto s = RocksDeliveryStore::Open(dir_, &clock_);
  ASSERT_TRUE(s.ok());
  store_ = std::move(*s);
  check();
}

TEST_F(DeliveryStoreTest, AttemptHistoriesGoWithRetentionAndWithTheirRoute) {
  for (uint64_t off : {5, 9, 10}) {
    DeliveryBatch b;
    b.AddAttempt("c", "orders", 0, off, FieldsOf(Attempt(1)));
    b.AddAttempt("c", "other", 0, off, FieldsOf(Attempt(1)));
    ASSERT_TRUE(store_->Write(b, false).ok());
  }
  ASSERT_TRUE(store_->RemoveAttempts("c", "orders", 0, 0, 10).ok());
  EXPECT_TRUE(store_->Attempts("c", "orders", 0, 5).empty());
  EXPECT_TRUE(store_->Attempts("c", "orders", 0, 9).empty());
  EXPECT_EQ(store_->Attempts("c", "orders", 0, 10).size(), 1u);
  ASSERT_TRUE(store_->RemoveConsumerTopic("c", "orders").ok());
  EXPECT_TRUE(store_->Attempts("c", "orders", 0, 10).empty());
  EXPECT_EQ(store_->Attempts("c", "other", 0, 5).size(), 1u);
}

// The attempts of one batch share a merge per block of offsets; each event keeps its own
// order, retention cuts inside a block and across blocks, and what a cut dropped stays
// dropped through partial merges (compaction) and after new attempts.
TEST_F(DeliveryStoreTest, AttemptBlocksKeepEachEventsOrderThroughCutsAndCompaction) {
  const uint64_t base = 3 * kAttemptBlock;
  for (int round = 0; round < 3; ++round) {
    DeliveryBatch b;
    for (uint64_t off = base - 5; off < base + 300; ++off) {
      b.AddAttempt("c", "orders", 2, off, FieldsOf(Attempt(static_cast<uint32_t>(round + 1))));
    }
    ASSERT_TRUE(store_->Write(b, false).ok());
  }
  for (uint64_t off : {base - 5, base - 1, base, base + 255, base + 256, base + 299}) {
    std::vector<AttemptRecord> got = store_->Attempts("c", "orders", 2, off);
    ASSERT_EQ(got.size(), 3u) << off;
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(got[i].attempt, i + 1) << off;
  }
  EXPECT_TRUE(store_->Attempts("c", "orders", 2, base + 300).empty());
  ASSERT_TRUE(store_->RemoveAttempts("c", "orders", 2, 0, base + 10).ok());
  DeliveryBatch later;
  later.AddAttempt("c", "orders", 2, base + 3, FieldsOf(Attempt(9)));  // a late straggler
  later.AddAttempt("c", "orders", 2, base + 10, FieldsOf(Attempt(4)));
  ASSERT_TRUE(store_->Write(later, false).ok());
  auto check = [&] {
    EXPECT_TRUE(store_->Attempts("c", "orders", 2, base - 1).empty());
    EXPECT_TRUE(store_->Attempts("c", "orders", 2, base + 9).empty());
    EXPECT_EQ(store_->Attempts("c", "orders", 2, base + 3).size(), 1u);  // after the cut
    ASSERT_EQ(store_->Attempts("c", "orders", 2, base + 10).size(), 4u);
    EXPECT_EQ(store_->Attempts("c", "orders", 2, base + 10).back().attempt, 4u);
    EXPECT_EQ(store_->Attempts("c", "orders", 2, base + 299).size(), 3u);
  };
  check();
  ASSERT_TRUE(store_->CompactAll().ok());
  check();
}

TEST(AttemptBlockTest, TrimKeepsTheLast50OfEachSlotAndAppliesCutsToOlderEntries) {
  std::string run;
  std::string rec;
  for (uint32_t n = 1; n <= 60; ++n) {
    rec.clear();
    AppendAttemptRecord(FieldsOf(Attempt(n)), &rec);
    AppendAttemptEntry(7, rec, &run);
    AppendAttemptEntry(kAttemptBlock + 3, rec, &run);  // slot 3
  }
  AppendAttemptCut(5, &run);  // drops slot 3's entries so far, not slot 7's
  rec.clear();
  AppendAttemptRecord(FieldsOf(Attempt(61)), &rec);
  AppendAttemptEntry(3, rec, &run);
  std::string partial;
  TrimAttemptBlock(run, /*keep_cuts=*/true, &partial);
  EXPECT_LT(partial.size(), run.size());
  for (const std::string& r : {run, partial}) {
    std::vector<AttemptRecord> seven = AttemptsInBlock(r, 7);
    ASSERT_EQ(seven.size(), kAttemptsKept);
    EXPECT_EQ(seven.front().attempt, 11u);
    EXPECT_EQ(seven.back().attempt, 60u);
    std::vector<AttemptRecord> three = AttemptsInBlock(r, 3);
    ASSERT_EQ(three.size(), 1u);
    EXPECT_EQ(three[0].attempt, 61u);
  }
  // The cut kept in a partial merge still drops older data the full merge puts before it.
  std::string older;
  AppendAttemptEntry(4, rec, &older);
  EXPECT_TRUE(AttemptsInBlock(older + partial, 4).empty());
  // A torn block reads up to its last whole entry.
  EXPECT_EQ(AttemptsInBlock(std::string_view(run).substr(0, run.size() - 2), 3).size(), 0u);
}

}  // namespace
}  // namespace eragon::dispatch
