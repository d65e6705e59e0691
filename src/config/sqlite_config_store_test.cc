#include "config/sqlite_config_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "config/config_store_contract.h"
#include "config/sql_config_store.h"

namespace eragon::config {
namespace {

// A config.db in a fresh temp dir.
class SqliteBackend final : public StoreBackend {
 public:
  SqliteBackend() {
    std::string tmpl = ::testing::TempDir() + "eragon_config_XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
    path_ = dir_ + "/config.db";
  }
  ~SqliteBackend() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<ConfigStore>> OpenStore() override { return OpenSqliteConfigStore(path_); }
  Status RawExec(const std::string& sql) override {
    sqlite3* db = nullptr;
    int rc = sqlite3_open(path_.c_str(), &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return rc == SQLITE_OK ? Status::Ok() : Status::Internal(sqlite3_errstr(rc));
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, ConfigStoreContractTest,
                         ::testing::Values(BackendParam{
                             "sqlite", [] { return std::make_unique<SqliteBackend>(); }}),
                         BackendName);

// What only the SQLite store does: a private WAL file in the data dir, migrations from
// the files older releases wrote.
class SqliteConfigStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<ConfigStore> Open() {
    Result<std::unique_ptr<ConfigStore>> store = backend_.OpenStore();
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  SqliteBackend backend_;
  const std::string& path_ = backend_.path();
};

TEST_F(SqliteConfigStoreTest, FileIsPrivateAndInWalMode) {
  auto store = Open();
  ASSERT_TRUE(store);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "wal");
  sqlite3_finalize(q);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_version", -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), static_cast<int>(ConfigMigrations().size()));
  sqlite3_finalize(q);
  sqlite3_close(db);
}

TEST_F(SqliteConfigStoreTest, ANonDatabaseFileIsReported) {
  FILE* f = std::fopen(path_.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("this is not a database, just some text that is long enough to matter......", f);
  std::fclose(f);
  Result<std::unique_ptr<ConfigStore>> store = OpenSqliteConfigStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kCorruption) << store.status().ToString();
}

TEST_F(SqliteConfigStoreTest, AVersionOneDatabaseIsMigratedToSchedules) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->PutProducer(SampleProducer()).ok());
  }
  // Turn the file back into what the first release wrote.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE schedules; ALTER TABLE consumer_routes DROP COLUMN settings;"
                         " DROP TABLE saga_instances; DROP TABLE sagas; DROP TABLE cluster_nodes;"
                         " DROP TABLE install_secret;"
                         " DELETE FROM schema_version WHERE version > 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->GetProducer("order_created").value().has_value());
  EXPECT_EQ(store->PutSchedule(SampleSchedule()).value(), PutOutcome::kCreated);
}

TEST_F(SqliteConfigStoreTest, AVersionTwoDatabaseKeepsItsConsumerRoutesWithoutSettings) {
  ConsumerRoute before = SampleConsumer();  // without what the settings column holds
  before.filter.clear();
  before.retry.schedule_ms.clear();
  before.secret_overlap_ms = ConsumerRoute{}.secret_overlap_ms;
  before.previous_secret.clear();
  before.previous_secret_until = 0;
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->PutConsumer(before).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "ALTER TABLE consumer_routes DROP COLUMN settings;"
                         " DROP TABLE saga_instances; DROP TABLE sagas; DROP TABLE cluster_nodes;"
                         " DROP TABLE install_secret;"
                         " DELETE FROM schema_version WHERE version > 2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->GetConsumer(before.event_type, before.consumer).value(), before);
}

}  // namespace
}  // namespace eragon::config
