#include "config/config_store_contract.h"

#include <chrono>
#include <thread>
#include <vector>

namespace eragon::config {

ProducerRoute SampleProducer(std::string type) {
  ProducerRoute r;
  r.event_type = std::move(type);
  r.producer = "order-service";
  r.topic = "orders";
  r.ordered = true;
  r.partitions = 16;
  r.created_at = 1000;
  r.updated_at = 2000;
  return r;
}

ConsumerRoute SampleConsumer(std::string type, std::string consumer) {
  ConsumerRoute r;
  r.event_type = std::move(type);
  r.consumer = std::move(consumer);
  r.url = "https://payments.internal/events";
  r.timeout_ms = 1234;
  r.headers = {{"X-Team", "payments \"quoted\" é"}, {"Authorization", "Bearer x"}};
  r.max_in_flight = 7;
  r.rate_limit_per_s = 9;
  r.retry = {3, 100, 9000, {250, 60'000}};
  r.dedup = DedupMode::kEventId;
  r.dedup_ttl_hours = 48;
  r.format = PushFormat::kCloudEvents;
  r.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  r.secret_overlap_ms = 3'600'000;
  r.previous_secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
  r.previous_secret_until = 1'900'000'000'000;
  r.start = StartAt::kEarliest;
  r.enabled = false;
  r.filter = R"({"data.total":[{"numeric":[">=",100]}],"entity_id":[{"prefix":"b2b-"}]})";
  r.created_at = 11;
  r.updated_at = 12;
  return r;
}

Service SampleService(std::string name, std::string hash) {
  return Service{std::move(name), {"admin", "producer"}, std::move(hash), 77};
}

Schedule SampleSchedule(std::string name) {
  Schedule s;
  s.name = std::move(name);
  s.event_type = "report_due";
  s.entity_id = "report é 1";
  s.data = R"({"kind": "nightly",  "n": 1e400})";
  s.cron = "0 3 * * *";
  s.last_tick_ms = 1'700'000'000'000;
  s.created_at = 1000;
  s.updated_at = 2000;
  return s;
}

namespace {

bool WithinASecond(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_P(ConfigStoreContractTest, ProducerRoundTripCreateReplaceDelete) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->GetProducer("order_created").value(), std::nullopt);
  EXPECT_EQ(store->PutProducer(SampleProducer()).value(), PutOutcome::kCreated);
  EXPECT_EQ(store->GetProducer("order_created").value(), SampleProducer());
  ProducerRoute changed = SampleProducer();
  changed.producer = "other-service";
  changed.ordered = false;
  EXPECT_EQ(store->PutProducer(changed).value(), PutOutcome::kReplaced);
  EXPECT_EQ(store->GetProducer("order_created").value(), changed);
  ASSERT_TRUE(store->PutProducer(SampleProducer("a_first")).ok());
  std::vector<ProducerRoute> all = store->ListProducers().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].event_type, "a_first");
  EXPECT_TRUE(store->DeleteProducer("order_created").ok());
  EXPECT_EQ(store->DeleteProducer("order_created").code(), Code::kNotFound);
  EXPECT_EQ(store->GetProducer("order_created").value(), std::nullopt);
}

TEST_P(ConfigStoreContractTest, ConsumerRoundTripKeepsEveryField) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->PutConsumer(SampleConsumer()).value(), PutOutcome::kCreated);
  EXPECT_EQ(store->GetConsumer("order_created", "payment-service").value(), SampleConsumer());
  EXPECT_EQ(store->PutConsumer(SampleConsumer()).value(), PutOutcome::kReplaced);
  ConsumerRoute defaults;
  defaults.event_type = "x";
  defaults.consumer = "y";
  ASSERT_TRUE(store->PutConsumer(defaults).ok());
  EXPECT_EQ(store->GetConsumer("x", "y").value(), defaults);
  EXPECT_EQ(store->GetConsumer("x", "nobody").value(), std::nullopt);
}

TEST_P(ConfigStoreContractTest, ListConsumersFilters) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutConsumer(SampleConsumer("a", "c1")).ok());
  ASSERT_TRUE(store->PutConsumer(SampleConsumer("a", "c2")).ok());
  ASSERT_TRUE(store->PutConsumer(SampleConsumer("b", "c1")).ok());
  EXPECT_EQ(store->ListConsumers().value().size(), 3u);
  EXPECT_EQ(store->ListConsumers("a").value().size(), 2u);
  EXPECT_EQ(store->ListConsumers(std::nullopt, "c1").value().size(), 2u);
  std::vector<ConsumerRoute> one = store->ListConsumers("b", "c1").value();
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], SampleConsumer("b", "c1"));
  EXPECT_TRUE(store->ListConsumers("zzz").value().empty());
  EXPECT_TRUE(store->DeleteConsumer("a", "c1").ok());
  EXPECT_EQ(store->DeleteConsumer("a", "c1").code(), Code::kNotFound);
  EXPECT_EQ(store->ListConsumers("a").value().size(), 1u);
}

TEST_P(ConfigStoreContractTest, ServicesByNameAndTokenHash) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->PutService(SampleService()).value(), PutOutcome::kCreated);
  EXPECT_EQ(store->GetService("order-service").value(), SampleService());
  EXPECT_EQ(store->FindServiceByTokenHash("abc123").value(), SampleService());
  EXPECT_EQ(store->FindServiceByTokenHash("other").value(), std::nullopt);
  // Rotation replaces the hash: the old one no longer finds the service.
  EXPECT_EQ(store->PutService(SampleService("order-service", "def456")).value(),
            PutOutcome::kReplaced);
  EXPECT_EQ(store->FindServiceByTokenHash("abc123").value(), std::nullopt);
  // Two services never share a token hash.
  EXPECT_EQ(store->PutService(SampleService("thief", "def456")).status().code(), Code::kConflict);
  EXPECT_EQ(store->GetService("thief").value(), std::nullopt);
  ASSERT_TRUE(store->PutService(SampleService("a-first", "h2")).ok());
  EXPECT_EQ(store->ListServices().value().size(), 2u);
  EXPECT_TRUE(store->DeleteService("order-service").ok());
  EXPECT_EQ(store->DeleteService("order-service").code(), Code::kNotFound);
}

TEST_P(ConfigStoreContractTest, VersionCountsChangesOnly) {
  auto store = Open();
  ASSERT_TRUE(store);
  int64_t v0 = store->Version().value();
  ASSERT_TRUE(store->PutProducer(SampleProducer()).ok());
  int64_t v1 = store->Version().value();
  EXPECT_GT(v1, v0);
  ASSERT_TRUE(store->GetProducer("order_created").ok());
  EXPECT_EQ(store->Version().value(), v1);
  EXPECT_EQ(store->DeleteProducer("missing").code(), Code::kNotFound);
  EXPECT_EQ(store->Version().value(), v1);  // a failed change is rolled back
  ASSERT_TRUE(store->PutConsumer(SampleConsumer()).ok());
  ASSERT_TRUE(store->PutService(SampleService()).ok());
  ASSERT_TRUE(store->DeleteConsumer("order_created", "payment-service").ok());
  EXPECT_EQ(store->Version().value(), v1 + 3);
}

TEST_P(ConfigStoreContractTest, SurvivesReopenAndSharesTheFileWithAnotherInstance) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->PutProducer(SampleProducer()).ok());
    ASSERT_TRUE(store->PutConsumer(SampleConsumer()).ok());
    ASSERT_TRUE(store->PutService(SampleService()).ok());
  }
  auto a = Open();
  auto b = Open();  // e.g. another process on the same data dir, another node
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->GetProducer("order_created").value(), SampleProducer());
  EXPECT_EQ(a->GetConsumer("order_created", "payment-service").value(), SampleConsumer());
  EXPECT_EQ(a->GetService("order-service").value(), SampleService());
  int64_t before = b->Version().value();
  ASSERT_TRUE(a->PutProducer(SampleProducer("new_type")).ok());
  // At once on a shared file; within a second through another node's notification.
  EXPECT_TRUE(WithinASecond([&] { return b->Version().value() == before + 1; }));
  EXPECT_TRUE(b->GetProducer("new_type").value().has_value());
}

TEST_P(ConfigStoreContractTest, RefusesASchemaNewerThanThisBuild) {
  { ASSERT_TRUE(Open()); }
  ASSERT_TRUE(backend_->RawExec("INSERT INTO schema_version (version) VALUES (99)").ok());
  Result<std::unique_ptr<ConfigStore>> store = backend_->OpenStore();
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer than this build"), std::string::npos);
}

TEST_P(ConfigStoreContractTest, SchedulesPutGetListDelete) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->GetSchedule("nightly-report").value().has_value());
  EXPECT_EQ(store->PutSchedule(SampleSchedule()).value(), PutOutcome::kCreated);
  EXPECT_EQ(store->GetSchedule("nightly-report").value(), SampleSchedule());
  Schedule every = SampleSchedule("a-every");
  every.cron = "";
  every.every = "1h30m";
  ASSERT_EQ(store->PutSchedule(every).value(), PutOutcome::kCreated);
  every.data = "[1,2]";
  every.updated_at = 3000;
  EXPECT_EQ(store->PutSchedule(every).value(), PutOutcome::kReplaced);
  std::vector<Schedule> all = store->ListSchedules().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], every);  // ordered by name
  EXPECT_EQ(all[1], SampleSchedule());
  EXPECT_TRUE(store->DeleteSchedule("a-every").ok());
  EXPECT_EQ(store->DeleteSchedule("a-every").code(), Code::kNotFound);
  EXPECT_EQ(store->ListSchedules().value().size(), 1u);
}

TEST_P(ConfigStoreContractTest, ScheduleLastTickOnlyRisesAndIsNotAConfigChange) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutSchedule(SampleSchedule()).ok());
  int64_t version = store->Version().value();
  const int64_t t0 = SampleSchedule().last_tick_ms;
  ASSERT_TRUE(store->SetScheduleLastTick("nightly-report", t0 + 60'000).ok());
  EXPECT_EQ(store->GetSchedule("nightly-report").value()->last_tick_ms, t0 + 60'000);
  ASSERT_TRUE(store->SetScheduleLastTick("nightly-report", t0).ok());  // never lowers
  EXPECT_EQ(store->GetSchedule("nightly-report").value()->last_tick_ms, t0 + 60'000);
  EXPECT_TRUE(store->SetScheduleLastTick("deleted-meanwhile", t0).ok());
  EXPECT_EQ(store->Version().value(), version);
  // Nor does a replacement that carries an older one (a node that had not seen the tick).
  Schedule changed = SampleSchedule();
  changed.data = R"({"v":2})";
  ASSERT_EQ(store->PutSchedule(changed).value(), PutOutcome::kReplaced);
  EXPECT_EQ(store->GetSchedule("nightly-report").value()->data, changed.data);
  EXPECT_EQ(store->GetSchedule("nightly-report").value()->last_tick_ms, t0 + 60'000);
}

TEST_P(ConfigStoreContractTest, SagasAndTheirInstancesAreStored) {
  auto store = Open();
  ASSERT_TRUE(store);
  SagaStore* sagas = store->sagas();
  const int64_t version = store->Version().value();
  SagaDefinition def{"order", R"({"name":"order"})", 1, 10, 10};
  EXPECT_EQ(sagas->PutSaga(def).value(), PutOutcome::kCreated);
  def.version = 2;
  EXPECT_EQ(sagas->PutSaga(def).value(), PutOutcome::kReplaced);
  EXPECT_EQ(sagas->GetSaga("order").value(), def);
  EXPECT_GT(store->Version().value(), version);
  SagaInstanceRow row{"order", "o1", "running", 0, 99, true, 10, 10, "{}", "{}"};
  ASSERT_TRUE(sagas->PutInstance(row).ok());
  row.state = "completed";
  row.has_pending = false;
  ASSERT_TRUE(sagas->PutInstance(row).ok());  // replaces
  EXPECT_EQ(sagas->GetInstance("order", "o1").value(), row);
  EXPECT_TRUE(sagas->ListActiveInstances().value().empty());
  EXPECT_EQ(sagas->FindInstances("o1").value().size(), 1u);
  EXPECT_EQ(sagas->ListInstances("order", "completed", "", 10).value().size(), 1u);
  EXPECT_TRUE(sagas->ListInstances("order", "running", "", 10).value().empty());
  EXPECT_TRUE(sagas->DeleteSaga("order").ok());
  EXPECT_EQ(sagas->DeleteSaga("order").code(), Code::kNotFound);
  EXPECT_EQ(sagas->ListSagas().value().size(), 0u);
  EXPECT_TRUE(sagas->GetInstance("order", "o1").value().has_value());  // instances stay
}

TEST_P(ConfigStoreContractTest, ConcurrentReadersAndWriters) {
  auto store = Open();
  ASSERT_TRUE(store);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string type = "t" + std::to_string(t) + "_" + std::to_string(i);
        EXPECT_TRUE(store->PutProducer(SampleProducer(type)).ok());
        EXPECT_TRUE(store->GetProducer(type).value().has_value());
        EXPECT_TRUE(store->PutConsumer(SampleConsumer(type, "c")).ok());
        EXPECT_TRUE(store->ListConsumers(type).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store->ListProducers().value().size(), 200u);
  EXPECT_EQ(store->ListConsumers(std::nullopt, "c").value().size(), 200u);
}

TEST_P(ConfigStoreContractTest, ChangesThroughOneInstanceReachTheOtherWithinASecond) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->PutProducer(SampleProducer()).ok());
  ASSERT_TRUE(a->PutConsumer(SampleConsumer()).ok());
  ASSERT_TRUE(a->PutService(SampleService()).ok());
  EXPECT_TRUE(WithinASecond([&] {
    return b->GetConsumer("order_created", "payment-service").value() == SampleConsumer() &&
           b->FindServiceByTokenHash("abc123").value() == SampleService();
  }));
  ASSERT_TRUE(a->DeleteProducer("order_created").ok());
  EXPECT_TRUE(WithinASecond([&] { return !b->GetProducer("order_created").value(); }));
}

TEST_P(ConfigStoreContractTest, TwoInstancesCreatingOneKeyAtOnceMakeOneCreateAndOneReplace) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 10; ++i) {
    const std::string type = "race_" + std::to_string(i);
    Result<PutOutcome> first = Status::Internal("not run");
    std::thread other([&] { first = a->PutProducer(SampleProducer(type)); });
    Result<PutOutcome> second = b->PutProducer(SampleProducer(type));
    other.join();
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_NE(*first, *second) << type;
  }
}

}  // namespace
}  // namespace eragon::config
