// RocksDeliveryStore over a fault-injecting file system (testing/fault_injection_fs.h):
// a failed WAL write or fsync refuses the change it carried (the ack is answered with an
// error, so the consumer retries it) and every later durable write until a restart;
// what was acknowledged survives a power loss.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "dispatch/rocks_delivery_store.h"
#include "testing/fault_injection_fs.h"

namespace eragon::dispatch {
namespace {

class DeliveryStoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eragon-delivery-fault-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    if (store_) store_->Close().ok();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A fresh fault layer per open, as a restarted process would have.
  void Open() {
    fs_ = std::make_shared<testing::FaultInjectionFs>();
    env_ = testing::NewFaultInjectionEnv(fs_);
    auto s = RocksDeliveryStore::Open(dir_, &clock_, env_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void PowerLossAndReopen() {
    fs_->PowerOff();
    store_->Close().ok();
    store_.reset();
    fs_->DropUnsyncedData();
    Open();
  }
  // An ack as the pull path records it: the state, written, then (sync) fsynced.
  Status Ack(uint64_t offset, bool sync) {
    DeliveryBatch b;
    DeliveryState st;
    st.state = DeliveryStateKind::kDelivered;
    b.PutState("billing", "orders", 0, offset, st);
    return store_->Write(b, sync);
  }
  bool Acked(uint64_t offset) {
    return store_->GetState("billing", "orders", 0, offset).has_value();
  }

  ManualClock clock_;
  std::string dir_;
  std::shared_ptr<testing::FaultInjectionFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<RocksDeliveryStore> store_;
};

TEST_F(DeliveryStoreFaultTest, FailedFsyncRefusesTheAckAndEveryLaterDurableWrite) {
  ASSERT_TRUE(Ack(1, /*sync=*/true).ok());
  ASSERT_TRUE(Ack(2, /*sync=*/false).ok());
  fs_->FailSyncs(true, ".log");
  EXPECT_FALSE(store_->Sync().ok());  // the ack of 2 is answered with an error
  fs_->FailSyncs(false);
  // Never retried: what the failed fsync dropped cannot be told from what a retry would
  // find durable. Both ways of asking for durability keep failing until a restart.
  EXPECT_FALSE(store_->Sync().ok());
  EXPECT_FALSE(Ack(3, /*sync=*/true).ok());
  PowerLossAndReopen();
  EXPECT_TRUE(Acked(1));                    // acknowledged before the failure
  EXPECT_TRUE(Ack(4, /*sync=*/true).ok());  // a restart clears the failure
  EXPECT_TRUE(store_->Sync().ok());
}

TEST_F(DeliveryStoreFaultTest, FailedSyncedWriteIsRefusedAndWritesFailStop) {
  ASSERT_TRUE(Ack(1, /*sync=*/true).ok());
  fs_->FailSyncs(true, ".log");
  EXPECT_FALSE(Ack(2, /*sync=*/true).ok());
  fs_->FailSyncs(false);
  EXPECT_FALSE(Ack(3, /*sync=*/true).ok());
  EXPECT_FALSE(store_->Sync().ok());
  PowerLossAndReopen();
  EXPECT_TRUE(Acked(1));
  EXPECT_FALSE(Acked(3));  // refused, never half there
}

TEST_F(DeliveryStoreFaultTest, FailedWalWriteRefusesTheAck) {
  ASSERT_TRUE(Ack(1, /*sync=*/true).ok());
  fs_->FailWrites(true, ".log");
  EXPECT_FALSE(Ack(2, /*sync=*/false).ok());
  fs_->FailWrites(false);
  EXPECT_FALSE(Ack(3, /*sync=*/true).ok());  // stopped until a restart
  PowerLossAndReopen();
  EXPECT_TRUE(Acked(1));
  EXPECT_FALSE(Acked(3));
}

TEST_F(DeliveryStoreFaultTest, PowerLossKeepsSyncedAcksAndDropsOnlyUnsyncedOnes) {
  for (uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(Ack(i, /*sync=*/false).ok());
  ASSERT_TRUE(store_->Sync().ok());  // 0..99 acknowledged
  for (uint64_t i = 100; i < 110; ++i) ASSERT_TRUE(Ack(i, /*sync=*/false).ok());  // not yet
  PowerLossAndReopen();
  for (uint64_t i = 0; i < 100; ++i) EXPECT_TRUE(Acked(i)) << i;
  // The fault layer really dropped what was not synced (else this test proves nothing).
  EXPECT_FALSE(Acked(105));
}

}  // namespace
}  // namespace eragon::dispatch
