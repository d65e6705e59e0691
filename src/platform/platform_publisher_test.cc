#include "platform/platform_publisher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

#include "platform/platform_routes.h"

namespace eragon::platform {
namespace {

PlatformEvent Dead(const std::string& consumer, const std::string& key) {
  return PlatformEvent{std::string(kDeadLettered), consumer, R"({"event_id":"e1"})", key, 0};
}

// A publish function that records what it stored, failing the first `fail` calls.
struct Sink {
  std::mutex mu;
  std::vector<Event> stored;
  int fail = 0;
  Status Publish(std::vector<Event> events) {
    std::lock_guard lk(mu);
    if (fail > 0) {
      --fail;
      return Status::Unavailable("backpressure");
    }
    for (Event& e : events) stored.push_back(std::move(e));
    return Status::Ok();
  }
};

TEST(PlatformEventId, IsStablePerKeyAndSecretAndDiffersOtherwise) {
  const std::string a = PlatformEventId("secret-1", kDeadLettered, "c/t/1");
  EXPECT_EQ(a, PlatformEventId("secret-1", kDeadLettered, "c/t/1"));
  EXPECT_NE(a, PlatformEventId("secret-2", kDeadLettered, "c/t/1"));
  EXPECT_NE(a, PlatformEventId("secret-1", kDeadLettered, "c/t/2"));
  EXPECT_NE(a, PlatformEventId("secret-1", kCircuitOpened, "c/t/1"));
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '8');  // UUIDv8
}

TEST(PlatformPublisher, StoresQueuedEventsAsProducerEragonWithDerivedIds) {
  Sink sink;
  PlatformPublisher p("s", [&](std::vector<Event> e) { return sink.Publish(std::move(e)); });
  p.Start();
  p.Publish(Dead("billing", "k1"));
  p.Publish(Dead("billing", "k2"));
  ASSERT_TRUE(p.WaitIdle(5000));
  std::lock_guard lk(sink.mu);
  ASSERT_EQ(sink.stored.size(), 2u);
  EXPECT_EQ(sink.stored[0].id, PlatformEventId("s", kDeadLettered, "k1"));
  EXPECT_EQ(sink.stored[0].producer, "eragon");
  EXPECT_EQ(sink.stored[0].entity_id, "billing");
  EXPECT_EQ(sink.stored[1].id, PlatformEventId("s", kDeadLettered, "k2"));
  EXPECT_EQ(p.published(), 2u);
}

TEST(PlatformPublisher, RetriesAFailedPublishKeepingOrder) {
  Sink sink;
  sink.fail = 2;
  PlatformPublisherOptions o;
  o.retry_ms = 10;
  PlatformPublisher p(
      "s", [&](std::vector<Event> e) { return sink.Publish(std::move(e)); }, o);
  p.Start();
  for (int i = 0; i < 5; ++i) p.Publish(Dead("c", "k" + std::to_string(i)));
  ASSERT_TRUE(p.WaitIdle(5000));
  std::lock_guard lk(sink.mu);
  ASSERT_EQ(sink.stored.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(sink.stored[i].id, PlatformEventId("s", kDeadLettered, "k" + std::to_string(i)));
  }
}

TEST(PlatformPublisher, PublishDoesNotWaitForABlockedPublishAndDropsPastTheBound) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  PlatformPublisherOptions o;
  o.max_queued = 3;
  o.max_batch = 1;
  PlatformPublisher p(
      "s",
      [&](std::vector<Event>) {
        ++calls;
        released.wait();
        return Status::Ok();
      },
      o);
  p.Start();
  p.Publish(Dead("c", "first"));  // taken by the thread, which blocks
  while (calls.load() == 0) std::this_thread::yield();
  for (int i = 0; i < 5; ++i) p.Publish(Dead("c", std::to_string(i)));  // 3 fit
  EXPECT_EQ(p.dropped(), 2u);
  release.set_value();
  ASSERT_TRUE(p.WaitIdle(5000));
  EXPECT_EQ(p.published(), 4u);
}

TEST(PlatformPublisher, AConflictingIdDoesNotHoldBackTheRestOfItsBatch) {
  std::vector<std::string> stored;
  PlatformPublisher p("s", [&](std::vector<Event> events) {
    const std::string bad = PlatformEventId("s", kDeadLettered, "bad");
    for (const Event& e : events) {
      if (e.id == bad) return Status::Conflict("id holds other content");
    }
    for (const Event& e : events) stored.push_back(e.id);
    return Status::Ok();
  });
  p.Publish(Dead("c", "a"));
  p.Publish(Dead("c", "bad"));
  p.Publish(Dead("c", "b"));
  p.Start();
  ASSERT_TRUE(p.WaitIdle(5000));
  EXPECT_EQ(stored.size(), 2u);
  EXPECT_EQ(p.published(), 3u);
}

TEST(PlatformRoutes, EveryPlatformTypeIsRoutedToTopicEragonPlatform) {
  for (std::string_view t : kEventTypes) {
    EXPECT_TRUE(IsPlatformEventType(t));
    config::ProducerRoute r = PlatformProducerRoute(t, 1);
    EXPECT_EQ(r.producer, "eragon");
    EXPECT_EQ(r.topic, "eragon.platform");
  }
  EXPECT_FALSE(IsPlatformEventType("eragon.other"));
  EXPECT_FALSE(IsPlatformEventType("order_created"));
}

}  // namespace
}  // namespace eragon::platform
