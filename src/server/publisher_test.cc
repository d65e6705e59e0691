// The publisher's disk check: a writer that fills the headroom above the watermark faster
// than the server's once-a-second check is refused (507) by the publish path's own check,
// well before the disk is full. The log lives on an in-memory file system whose free space
// shrinks with every byte written; nobody else calls RefreshDiskSpace.
#include "server/publisher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "channel/embedded.h"
#include "config/sqlite_config_store.h"
#include "core/mem_env.h"
#include "eragon/clock.h"
#include "index/id_index.h"
#include "server/route_cache.h"

namespace eragon::server {
namespace {

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(*r);
}

class PublisherDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> n{0};
    dir_ = (std::filesystem::temp_directory_path() /
            ("publisher_test." + std::to_string(::getpid()) + "." + std::to_string(n++)))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    env_ = NewMemEnv();
    store_ = Must(config::OpenSqliteConfigStore(":memory:"));
    config::ProducerRoute route;
    route.event_type = "filled";
    route.producer = "p";
    route.topic = "filled";
    route.partitions = 1;
    ASSERT_TRUE(store_->PutProducer(route).ok());
    channel::EmbeddedOptions lo;
    lo.env = env_.get();
    lo.fsync.policy = channel::FsyncPolicy::kNever;
    lo.segment_bytes = 64 << 10;
    logs_ = Must(channel::OpenEmbeddedChannel("/log", lo));
    ids_ = Must(index::IdIndex::Open(dir_ + "/index", logs_.get()));
    routes_ = std::make_unique<RouteCache>(store_.get(), Clock::System(), 500);
  }

  void TearDown() override {
    publisher_.reset();
    if (ids_) (void)ids_->Close();
    if (logs_) (void)logs_->Close();
    std::filesystem::remove_all(dir_);
  }

  // Free bytes of the in-memory disk now.
  uint64_t FreeBytes() { return Must(env_->GetDiskSpace("/log")).free_bytes; }

  // Publishes one event of about 1 KiB; returns the status of the answer.
  Status PublishOne(int n) {
    Event e;
    e.event_type = "filled";
    e.entity_id = "e" + std::to_string(n % 7);
    e.id = "id-" + std::to_string(n);
    e.data = "\"" + std::string(1000, 'x') + "\"";
    std::vector<Event> events;
    events.push_back(std::move(e));
    std::promise<Status> answer;
    publisher_->Publish({"admin", true, false, false}, std::move(events), "",
                        [&](Result<PublishReply> r) { answer.set_value(r.status()); });
    return answer.get_future().get();
  }

  std::string dir_;
  std::unique_ptr<MemEnv> env_;
  std::unique_ptr<config::ConfigStore> store_;
  std::unique_ptr<channel::Channel> logs_;
  std::unique_ptr<index::IdIndex> ids_;
  std::unique_ptr<RouteCache> routes_;
  std::unique_ptr<Publisher> publisher_;
};

TEST_F(PublisherDiskTest, AFastWriterIsRefusedWithinAMebibyteOfTheWatermark) {
  const uint64_t start_free = FreeBytes();
  PublisherOptions po;
  po.min_free_bytes = start_free - (4 << 20);  // 4 MiB of headroom
  po.max_used_fraction = 1.0;
  publisher_ = std::make_unique<Publisher>(routes_.get(), logs_.get(), ids_.get(), Clock::System(),
                                           nullptr, po);
  int accepted = 0;
  Status refused;
  for (int n = 0; n < 20000 && refused.ok(); ++n) {
    Status st = PublishOne(n);
    if (st.ok()) {
      ++accepted;
    } else {
      refused = st;
    }
  }
  ASSERT_EQ(refused.code(), Code::kStorageFull) << refused.ToString();
  const uint64_t written = start_free - FreeBytes();
  // Refused once past the headroom, at most one check interval (plus a segment) later.
  EXPECT_GE(written, 4u << 20);
  EXPECT_LE(written, (4u << 20) + Publisher::kRefreshEveryBytes + (128u << 10))
      << accepted << " events accepted";
  // Still refused: the check holds.
  EXPECT_EQ(PublishOne(99999).code(), Code::kStorageFull);
}

}  // namespace
}  // namespace eragon::server
