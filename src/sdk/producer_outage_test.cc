// eragond down for 10 seconds under async publishing, then back at the same address:
// nothing is lost, nothing is stored twice, and each entity's events keep their order.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "eragon/producer.h"
#include "producer_testutil.h"

namespace eragon {
namespace {

using namespace sdk::producer_testing;
using std::chrono::milliseconds;

void RunOutage(QueueKind kind) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  TestServer server(port);
  auto token = server.StartForOrders();
  ASSERT_TRUE(token.ok()) << token.status().ToString();

  char tmpl[] = "/tmp/eragon-producer-outage-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ProducerOptions o;
  o.endpoint = server.url();
  o.token = *token;
  o.queue = kind;
  o.backup_dir = std::string(tmpl) + "/backup";
  o.backup_fsync = BackupFsync::kInterval;
  o.retry_backoff_initial_ms = 50;
  o.retry_backoff_max_ms = 1000;
  o.connect_timeout_ms = 1000;
  o.request_timeout_ms = 5000;
  auto producer = Producer::Open(o);
  ASSERT_TRUE(producer.ok()) << producer.status().ToString();

  std::mutex mu;
  std::vector<std::string> ids;
  std::vector<std::string> errors;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> published{0};
  std::thread publisher([&] {
    constexpr int kEntities = 20;
    for (int64_t seq = 0; !stop.load(); ++seq) {
      Event e;
      e.event_type = "order_created";
      e.entity_id = "order-" + std::to_string(seq % kEntities);
      e.data = R"({"seq":)" + std::to_string(seq) + "}";
      Status s = (*producer)->Publish(std::move(e), [&](const Result<PublishAck>& r) {
        std::lock_guard lock(mu);
        if (r.ok()) {
          ids.push_back(r->id);
        } else {
          errors.push_back(r.status().ToString());
        }
      });
      if (!s.ok()) {
        std::lock_guard lock(mu);
        errors.push_back("enqueue: " + s.ToString());
      }
      ++published;
      std::this_thread::sleep_for(milliseconds(2));  // ~500 events/s, bounded in count
    }
  });

  // Up, then down for 10 seconds while publishing goes on, then back.
  ASSERT_TRUE(WaitUntil([&] { return published.load() >= 200; }));
  server.Kill();
  const int64_t at_kill = published.load();
  std::this_thread::sleep_for(std::chrono::seconds(10));
  EXPECT_GT(published.load(), at_kill) << "publishing went on while the server was down";
  EXPECT_GT((*producer)->Stats().retries, 0u);
  ASSERT_TRUE(server.Start().ok()) << server.process().Logs();
  ASSERT_EQ(server.url(), o.endpoint);
  const int64_t at_restart = published.load();
  ASSERT_TRUE(WaitUntil([&] { return published.load() >= at_restart + 200; }));
  stop = true;
  publisher.join();
  ASSERT_TRUE((*producer)->Flush(std::chrono::minutes(2)).ok());

  std::lock_guard lock(mu);
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << errors.front();
  EXPECT_EQ(static_cast<int64_t>(ids.size()), published.load());
  auto stored = server.ListEvents("order_created");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(CheckExactlyOnceInOrder(*stored, ids), "");
  EXPECT_TRUE((*producer)->Close().ok());
  std::filesystem::remove_all(tmpl);
}

TEST(ProducerOutage, ServerDownTenSecondsLosesNothingAndKeepsOrderMemoryQueue) {
  RunOutage(QueueKind::kMemory);
}

TEST(ProducerOutage, ServerDownTenSecondsLosesNothingAndKeepsOrderFileQueue) {
  RunOutage(QueueKind::kFile);
}

}  // namespace
}  // namespace eragon
