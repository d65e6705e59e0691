// The ConfigStore contract, as tests every store passes (config_store_contract_test.cc):
// each backend supplies a StoreBackend and instantiates ConfigStoreContractTest with it
// (SQLite in sqlite_config_store_test.cc, PostgreSQL in postgres/pg_config_store_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "config/config_store.h"

namespace eragon::config {

// One test's database.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // Opens a store on this test's database; called again, another instance sharing it
  // (another process, another node).
  virtual Result<std::unique_ptr<ConfigStore>> OpenStore() = 0;
  // Runs SQL on the database directly, bypassing the store.
  virtual Status RawExec(const std::string& sql) = 0;
};

struct BackendParam {
  std::string name;
  // A fresh database; null skips the test (GTEST_SKIP: e.g. no PostgreSQL given).
  std::function<std::unique_ptr<StoreBackend>()> make;
};

class ConfigStoreContractTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().make();
    if (!backend_) GTEST_SKIP() << "no " << GetParam().name << " database for this test";
  }
  void TearDown() override { backend_.reset(); }

  std::unique_ptr<ConfigStore> Open() {
    Result<std::unique_ptr<ConfigStore>> store = backend_->OpenStore();
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::unique_ptr<StoreBackend> backend_;
};

inline std::string BackendName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

ProducerRoute SampleProducer(std::string type = "order_created");
ConsumerRoute SampleConsumer(std::string type = "order_created",
                             std::string consumer = "payment-service");
Service SampleService(std::string name = "order-service", std::string hash = "abc123");
Schedule SampleSchedule(std::string name = "nightly-report");

}  // namespace eragon::config
