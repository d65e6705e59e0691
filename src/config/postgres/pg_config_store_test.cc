// The PostgreSQL config store against a real server (the ctest fixture `postgres`): the
// store contract (config_store_contract_test.cc) on a fresh database per test, and what
// only this store does (the version poll, the LISTEN connection's recovery, migrations by
// nodes that start together, connection errors).
#include "config/postgres/pg_config_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "config/config_store_contract.h"
#include "config/postgres/pg_install_secret.h"
#include "config/sql_config_store.h"
#include "testing/test_postgres.h"

namespace eragon::config {
namespace {

using eragon::testing::PgQueryValue;
using eragon::testing::TestDatabase;
using eragon::testing::TestPostgresUrl;

class PgBackend final : public StoreBackend {
 public:
  explicit PgBackend(PgStoreOptions options = {}) : db_(TestPostgresUrl()), options_(options) {
    EXPECT_TRUE(db_.ok()) << db_.error();
  }
  Result<std::unique_ptr<ConfigStore>> OpenStore() override {
    return OpenPgConfigStore(db_.url(), options_);
  }
  Status RawExec(const std::string& sql) override { return PgQueryValue(db_.url(), sql).status(); }
  const TestDatabase& db() const { return db_; }

 private:
  TestDatabase db_;
  PgStoreOptions options_;
};

std::unique_ptr<StoreBackend> MakePgBackend() {
  if (TestPostgresUrl().empty()) return nullptr;
  return std::make_unique<PgBackend>();
}

INSTANTIATE_TEST_SUITE_P(Postgres, ConfigStoreContractTest,
                         ::testing::Values(BackendParam{"postgres", MakePgBackend}), BackendName);

bool Within(std::chrono::milliseconds limit, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class PgConfigStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestPostgresUrl().empty()) GTEST_SKIP() << "no PostgreSQL (run through ctest)";
  }
  static std::unique_ptr<ConfigStore> Open(const std::string& url, PgStoreOptions o = {}) {
    Result<std::unique_ptr<ConfigStore>> store = OpenPgConfigStore(url, o);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
};

TEST_F(PgConfigStoreTest, TheVersionPollAloneCatchesAChangeMadeElsewhere) {
  TestDatabase db(TestPostgresUrl());
  ASSERT_TRUE(db.ok()) << db.error();
  auto a = Open(db.url());
  PgStoreOptions poll_only;
  poll_only.listen = false;
  poll_only.poll_ms = 300;
  auto b = Open(db.url(), poll_only);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->PutProducer(SampleProducer()).ok());
  EXPECT_TRUE(Within(std::chrono::milliseconds(2000),
                     [&] { return b->GetProducer("order_created").value().has_value(); }));
}

TEST_F(PgConfigStoreTest, ADroppedListenConnectionReconnectsAndCatchesUp) {
  TestDatabase db(TestPostgresUrl());
  ASSERT_TRUE(db.ok()) << db.error();
  auto a = Open(db.url());
  PgStoreOptions no_poll;
  no_poll.poll_ms = 3'600'000;  // only the listener's recovery can catch up
  auto b = Open(db.url(), no_poll);
  ASSERT_TRUE(a && b);
  const std::string listeners = "SELECT count(*) FROM pg_stat_activity WHERE datname = '" +
                                db.name() + "' AND query = 'LISTEN eragon_config'";
  ASSERT_TRUE(Within(std::chrono::milliseconds(2000),
                     [&] { return PgQueryValue(db.url(), listeners).value() == "2"; }));
  ASSERT_EQ(PgQueryValue(db.url(),
                         "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                         " WHERE datname = '" +
                             db.name() + "' AND query = 'LISTEN eragon_config'")
                .value(),
            "2");
  ASSERT_TRUE(a->PutConsumer(SampleConsumer()).ok());  // while b's listener is gone
  EXPECT_TRUE(Within(std::chrono::milliseconds(2000), [&] {
    return b->GetConsumer("order_created", "payment-service").value().has_value();
  }));
  // Listening again: the next change arrives through a notification.
  ASSERT_TRUE(a->DeleteConsumer("order_created", "payment-service").ok());
  EXPECT_TRUE(Within(std::chrono::milliseconds(1000), [&] {
    return !b->GetConsumer("order_created", "payment-service").value().has_value();
  }));
}

TEST_F(PgConfigStoreTest, NodesStartingTogetherApplyEachMigrationOnce) {
  TestDatabase db(TestPostgresUrl());
  ASSERT_TRUE(db.ok()) << db.error();
  std::vector<std::unique_ptr<ConfigStore>> stores(4);
  std::vector<std::thread> threads;
  for (auto& s : stores) threads.emplace_back([&] { s = Open(db.url()); });
  for (auto& t : threads) t.join();
  for (auto& s : stores) ASSERT_TRUE(s);
  std::string every;  // "1,2,...,N" for the N migrations of this build
  for (size_t v = 1; v <= ConfigMigrations().size(); ++v) {
    every += (v > 1 ? "," : "") + std::to_string(v);
  }
  EXPECT_EQ(PgQueryValue(db.url(),
                         "SELECT string_agg(version::text, ',' ORDER BY version)"
                         " FROM schema_version")
                .value(),
            every);
  EXPECT_EQ(PgQueryValue(db.url(), "SELECT count(*) FROM config_version").value(), "1");
}

TEST_F(PgConfigStoreTest, EveryNodeGetsTheInstallSecretTheFirstOneStored) {
  TestDatabase db(TestPostgresUrl());
  ASSERT_TRUE(db.ok()) << db.error();
  ASSERT_TRUE(Open(db.url()));  // migrated
  const std::string first(32, 'a'), second(32, 'b');
  EXPECT_EQ(SharedInstallSecret(db.url(), first).value(), first);
  EXPECT_EQ(SharedInstallSecret(db.url(), second).value(), first);
  ASSERT_TRUE(PgQueryValue(db.url(), "UPDATE install_secret SET secret = 'xyz'").ok());
  EXPECT_EQ(SharedInstallSecret(db.url(), second).status().code(), Code::kCorruption);
}

TEST_F(PgConfigStoreTest, AnUnreachableServerIsUnavailableAndABadUrlIsInvalid) {
  Result<std::unique_ptr<ConfigStore>> down =
      OpenPgConfigStore("postgresql://eragon:secret-pw@127.0.0.1:1/eragon");
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();
  EXPECT_EQ(down.status().message().find("secret-pw"), std::string::npos);
  Result<std::unique_ptr<ConfigStore>> bad = OpenPgConfigStore("postgresql://u:secret-pw@[::1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument) << bad.status().ToString();
  EXPECT_EQ(bad.status().message().find("secret-pw"), std::string::npos);
  EXPECT_EQ(OpenPgConfigStore("mysql://x").status().code(), Code::kInvalidArgument);
  std::string wrong_password = TestPostgresUrl();
  wrong_password.replace(wrong_password.find(':', 13) + 1, 4, "nope");
  EXPECT_FALSE(OpenPgConfigStore(wrong_password).ok());
}

}  // namespace
}  // namespace eragon::config
