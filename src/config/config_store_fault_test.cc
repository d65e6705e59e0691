// The SQLite config store over a fault-injecting VFS (testing/fault_injection_vfs.h): a
// route change whose write or fsync fails is refused and never half-applied, and a
// change that was answered ok survives a power loss.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>

#include "config/sqlite_config_store.h"
#include "testing/fault_injection_vfs.h"

namespace eragon::config {
namespace {

class ConfigStoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "eragon_config_fault_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/config.db";
    store_ = Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<ConfigStore> Open() {
    Result<std::unique_ptr<ConfigStore>> store = OpenSqliteConfigStore(path_, vfs_.name());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  // The power fails: nothing written from now on lands, then what was not synced is gone.
  void PowerLossAndReopen() {
    vfs_.PowerOff();
    store_.reset();
    vfs_.DropUnsyncedData();
    store_ = Open();
    ASSERT_TRUE(store_);
  }
  static ConsumerRoute Route(std::string url, int64_t timeout_ms, uint32_t max_in_flight) {
    ConsumerRoute r;
    r.event_type = "order_created";
    r.consumer = "billing";
    r.url = std::move(url);
    r.timeout_ms = timeout_ms;
    r.max_in_flight = max_in_flight;
    r.headers = {{"X-Team", "billing"}};
    r.created_at = 1;
    r.updated_at = timeout_ms;
    return r;
  }
  std::optional<ConsumerRoute> Stored() {
    Result<std::optional<ConsumerRoute>> r = store_->GetConsumer("order_created", "billing");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  testing::FaultInjectionVfs vfs_{"eragon-fault-" + std::to_string(::getpid())};
  std::string dir_;
  std::string path_;
  std::unique_ptr<ConfigStore> store_;
};

TEST_F(ConfigStoreFaultTest, FailedFsyncRefusesTheRouteChangeAndPowerLossKeepsTheOldRoute) {
  const ConsumerRoute old_route = Route("http://127.0.0.1:9001/old", 1000, 8);
  ASSERT_TRUE(store_->PutConsumer(old_route).ok());
  vfs_.FailSyncs(true);
  EXPECT_FALSE(store_->PutConsumer(Route("http://127.0.0.1:9002/new", 2000, 16)).ok());
  EXPECT_GT(vfs_.InjectedFailures(), 0);
  EXPECT_EQ(Stored(), old_route);  // nothing of the refused change is visible
  PowerLossAndReopen();
  EXPECT_EQ(Stored(), old_route);  // all old: not one field of the new route
}

TEST_F(ConfigStoreFaultTest, FailedWriteRefusesTheRouteChangeAndTheNextChangeWorks) {
  const ConsumerRoute old_route = Route("http://127.0.0.1:9001/old", 1000, 8);
  ASSERT_TRUE(store_->PutConsumer(old_route).ok());
  vfs_.FailWrites(true);
  EXPECT_FALSE(store_->PutConsumer(Route("http://127.0.0.1:9002/new", 2000, 16)).ok());
  EXPECT_EQ(Stored(), old_route);
  vfs_.FailWrites(false);
  const ConsumerRoute next = Route("http://127.0.0.1:9003/next", 3000, 32);
  ASSERT_TRUE(store_->PutConsumer(next).ok());
  PowerLossAndReopen();
  EXPECT_EQ(Stored(), next);
}

TEST_F(ConfigStoreFaultTest, FailedFsyncThenRestartLeavesTheRouteAllOldOrAllNew) {
  const ConsumerRoute old_route = Route("http://127.0.0.1:9001/old", 1000, 8);
  const ConsumerRoute new_route = Route("http://127.0.0.1:9002/new", 2000, 16);
  ASSERT_TRUE(store_->PutConsumer(old_route).ok());
  vfs_.FailSyncs(true);
  EXPECT_FALSE(store_->PutConsumer(new_route).ok());
  vfs_.FailSyncs(false);
  store_.reset();  // a restart without a power loss: the WAL's frames stay
  store_ = Open();
  ASSERT_TRUE(store_);
  std::optional<ConsumerRoute> r = Stored();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(*r == old_route || *r == new_route) << r->url;
}

TEST_F(ConfigStoreFaultTest, PowerLossKeepsEveryRouteChangeAnsweredOk) {
  for (int i = 1; i <= 20; ++i) {
    ASSERT_TRUE(
        store_->PutConsumer(Route("http://127.0.0.1:9001/v" + std::to_string(i), i, i)).ok());
  }
  ASSERT_TRUE(store_->DeleteConsumer("order_created", "billing").ok());
  const ConsumerRoute last = Route("http://127.0.0.1:9001/last", 99, 9);
  ASSERT_TRUE(store_->PutConsumer(last).ok());
  PowerLossAndReopen();
  EXPECT_EQ(Stored(), last);
}

// The shim itself: with SQLite's fsyncs off, a power loss loses the commits (else the
// tests above could not tell a lost change from a kept one).
TEST_F(ConfigStoreFaultTest, ThePowerLossOfTheShimDropsUnsyncedCommits) {
  store_.reset();
  sqlite3* db = nullptr;
  const std::string path = dir_ + "/raw.db";
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            vfs_.name().c_str()),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; CREATE TABLE t (x); PRAGMA synchronous=FULL;"
                         " INSERT INTO t VALUES (1); PRAGMA synchronous=OFF;"
                         " INSERT INTO t VALUES (2);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  vfs_.PowerOff();
  sqlite3_close(db);
  EXPECT_GT(vfs_.DropUnsyncedData(), 0);
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, vfs_.name().c_str()),
            SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT group_concat(x) FROM t", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "1");
  sqlite3_finalize(q);
  sqlite3_close(db);
}

}  // namespace
}  // namespace eragon::config
