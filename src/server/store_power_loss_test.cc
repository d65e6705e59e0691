// A power loss under all of eragond's stores at once (issue 16): the log (on MemEnv), the
// id index and the delivery store (RocksDB over testing/fault_injection_fs.h) and the
// config store (SQLite over testing/fault_injection_vfs.h) lose whatever was not synced
// in the same instant. After a restart every acknowledged event (a publish's 202 comes
// after its log fsync), every acknowledged ack (a pull ack's 200 comes after the delivery
// store's Sync) and every route change answered ok must be there.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "channel/embedded.h"
#include "config/sqlite_config_store.h"
#include "core/event_codec.h"
#include "core/mem_env.h"
#include "dispatch/rocks_delivery_store.h"
#include "index/id_index.h"
#include "testing/fault_injection_fs.h"
#include "testing/fault_injection_vfs.h"

namespace eragon {
namespace {

constexpr int kEvents = 300;
constexpr int kRoutes = 10;

class StorePowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eragon-power-loss-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    OpenAll();
  }
  void TearDown() override {
    CloseAll();
    std::filesystem::remove_all(dir_);
  }
  void OpenAll() {
    fs_ = std::make_shared<testing::FaultInjectionFs>();
    env_ = testing::NewFaultInjectionEnv(fs_);
    channel::EmbeddedOptions opts;  // fsync always, as eragond's default
    opts.env = log_env_.get();
    opts.segment_bytes = 1 << 20;
    auto logs = channel::OpenEmbeddedChannel("/data/log", opts);
    ASSERT_TRUE(logs.ok()) << logs.status().ToString();
    logs_ = std::move(logs).value();
    auto topic = logs_->OpenTopic("orders", {.partitions = 4});
    ASSERT_TRUE(topic.ok()) << topic.status().ToString();
    topic_ = *topic;
    auto ids = index::IdIndex::Open(dir_ + "/index", logs_.get(), env_.get());
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    ids_ = std::move(ids).value();
    auto deliveries = dispatch::RocksDeliveryStore::Open(dir_ + "/dispatch", nullptr, env_.get());
    ASSERT_TRUE(deliveries.ok()) << deliveries.status().ToString();
    deliveries_ = std::move(deliveries).value();
    auto config = config::OpenSqliteConfigStore(dir_ + "/config.db", vfs_.name());
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = std::move(config).value();
  }
  void CloseAll() {
    config_.reset();
    if (deliveries_) deliveries_->Close().ok();
    deliveries_.reset();
    if (ids_) ids_->Close().ok();
    ids_.reset();
    if (logs_) logs_->Close().ok();
    logs_.reset();
  }
  // Every store's machine stops in the same instant; what each was writing while closing
  // never lands; then each loses what it had not synced.
  void PowerLossOfAllStores() {
    const Status off = Status::IOError("power off");
    log_env_->SetWriteError(off);
    log_env_->SetSyncError(off);
    fs_->PowerOff();
    vfs_.PowerOff();
    CloseAll();
    log_env_->DropUnsyncedData();
    log_env_->SetWriteError(Status::Ok());
    log_env_->SetSyncError(Status::Ok());
    rocks_files_reverted_ = fs_->DropUnsyncedData();
    vfs_.DropUnsyncedData();
  }

  Event MakeEvent(int i) {
    Event e;
    e.id = "evt-" + std::to_string(i);
    e.event_type = "order_created";
    e.entity_id = "order-" + std::to_string(i % 17);
    e.producer = "order-service";
    e.occurred_at = 1000 + i;
    e.data = "{\"n\":" + std::to_string(i) + "}";
    return e;
  }
  // The publish path: claim, append (acknowledged once the append returns: fsynced),
  // commit. Returns where the event is.
  index::Location Publish(const Event& e) {
    EXPECT_EQ(ids_->Claim(e.id, index::FingerprintOf(e), e.producer), index::ClaimOutcome::kNew);
    std::string rec;
    EncodeEventRecord(e, &rec);
    channel::AppendRecord r{e.entity_id, rec, e.occurred_at};
    auto pos = topic_->Append(std::span(&r, 1));
    EXPECT_TRUE(pos.ok()) << pos.status().ToString();
    if (!pos.ok()) return {};
    index::Location loc{"orders", (*pos)[0].partition, (*pos)[0].offset};
    ids_->Commit(e.id, e.producer, e.event_type, loc);
    return loc;
  }
  Status Ack(const index::Location& loc) {
    dispatch::DeliveryBatch b;
    dispatch::DeliveryState st;
    st.state = dispatch::DeliveryStateKind::kDelivered;
    b.PutState("billing", loc.topic, loc.partition, loc.offset, st);
    return deliveries_->Write(b, /*sync=*/false);
  }
  static config::ConsumerRoute Route(int i, int version) {
    config::ConsumerRoute r;
    r.event_type = "type_" + std::to_string(i);
    r.consumer = "billing";
    r.url = "http://127.0.0.1:9000/v" + std::to_string(version);
    r.timeout_ms = 1000 + version;
    r.max_in_flight = static_cast<uint32_t>(version);
    r.created_at = 1;
    r.updated_at = version;
    return r;
  }

  std::string dir_;
  std::unique_ptr<MemEnv> log_env_ = NewMemEnv();
  std::shared_ptr<testing::FaultInjectionFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  testing::FaultInjectionVfs vfs_{"eragon-power-loss-" + std::to_string(::getpid())};
  std::unique_ptr<channel::Channel> logs_;
  channel::Topic* topic_ = nullptr;
  std::unique_ptr<index::IdIndex> ids_;
  std::unique_ptr<dispatch::RocksDeliveryStore> deliveries_;
  std::unique_ptr<config::ConfigStore> config_;
  int rocks_files_reverted_ = 0;
};

TEST_F(StorePowerLossTest, EveryAcknowledgedEventAckAndRouteChangeSurvivesAPowerLossOfAllStores) {
  std::vector<index::Location> locations;
  for (int i = 0; i < kEvents; ++i) {
    locations.push_back(Publish(MakeEvent(i)));
    if (i % 50 == 0) {  // route changes interleaved with the traffic
      for (int r = 0; r < kRoutes; ++r) ASSERT_TRUE(config_->PutConsumer(Route(r, i + 1)).ok());
    }
  }
  // Acks of the first two thirds, answered after the delivery store's Sync.
  const int acked = kEvents * 2 / 3;
  for (int i = 0; i < acked; ++i) ASSERT_TRUE(Ack(locations[i]).ok());
  ASSERT_TRUE(deliveries_->Sync().ok());
  // Acks written but never synced (their 200 not yet sent): may be lost.
  for (int i = acked; i < kEvents; ++i) ASSERT_TRUE(Ack(locations[i]).ok());
  // A publish whose append failed: never acknowledged, must not hold its id afterwards.
  Event lost = MakeEvent(kEvents);
  ASSERT_EQ(ids_->Claim(lost.id, index::FingerprintOf(lost), lost.producer),
            index::ClaimOutcome::kNew);
  ids_->Abort(lost.id, lost.producer);

  PowerLossOfAllStores();
  OpenAll();

  for (int i = 0; i < kEvents; ++i) {
    const Event e = MakeEvent(i);
    std::optional<index::Location> at = *ids_->Find(e.id, e.producer);
    ASSERT_TRUE(at.has_value()) << e.id;
    EXPECT_EQ(*at, locations[i]) << e.id;
    EXPECT_EQ(ids_->Claim(e.id, index::FingerprintOf(e), e.producer),
              index::ClaimOutcome::kDuplicate);
    auto records = topic_->Read(at->partition, at->offset, 1, 1 << 20);
    ASSERT_TRUE(records.ok() && records->size() == 1) << e.id;
    auto stored = DecodeEventRecord((*records)[0].payload);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->id, e.id);
    EXPECT_EQ(stored->data, e.data);
  }
  for (int i = 0; i < acked; ++i) {
    EXPECT_TRUE(
        deliveries_->GetState("billing", "orders", locations[i].partition, locations[i].offset)
            .has_value())
        << "ack of event " << i << " lost";
  }
  for (int r = 0; r < kRoutes; ++r) {
    auto route = config_->GetConsumer("type_" + std::to_string(r), "billing");
    ASSERT_TRUE(route.ok() && route->has_value()) << r;
    EXPECT_EQ(**route, Route(r, (kEvents - 1) / 50 * 50 + 1)) << r;
  }
  // The power loss really dropped data (else this test could not fail): the unsynced acks.
  EXPECT_GT(rocks_files_reverted_, 0);
  EXPECT_FALSE(
      deliveries_
          ->GetState("billing", "orders", locations.back().partition, locations.back().offset)
          .has_value());
  EXPECT_FALSE(ids_->Find(lost.id, lost.producer)->has_value());
  EXPECT_EQ(ids_->Claim(lost.id, index::FingerprintOf(lost), lost.producer),
            index::ClaimOutcome::kNew);
  ids_->Abort(lost.id, lost.producer);
}

}  // namespace
}  // namespace eragon
