// Dispatcher pull delivery (API.md "Pull"): fetch, durable ack, nack with delay, ack
// timeout, one unacked message per entity on ordered topics, long-poll.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> AckIds(const std::vector<PulledMessage>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs) out.push_back(m.ack_id);
  return out;
}

TEST(DispatcherPull, FetchReturnsMessagesAndAckRemovesThem) {
  Rig rig;
  rig.Producer("t", "t", false);
  rig.Put(rig.PullRoute("t", "p"));
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.insert(rig.Publish("t", "e" + std::to_string(i)).event.id);
  std::vector<PulledMessage> got = rig.FetchN("p", 5);
  ASSERT_EQ(got.size(), 5u);
  std::set<std::string> seen;
  for (const auto& m : got) {
    seen.insert(m.event->id);
    EXPECT_EQ(m.attempt, 1u);
  }
  EXPECT_EQ(seen, ids);
  auto acked = rig.dispatcher->Ack("p", AckIds(got));
  ASSERT_TRUE(acked.ok());
  EXPECT_EQ(*acked, 5u);
  EXPECT_TRUE(rig.Idle("p", "t"));
  // Stale (already acked) and unknown ids are not counted.
  auto again = rig.dispatcher->Ack("p", {got[0].ack_id, "garbage", "0.999.1.t", "1.2.3.nope"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
  // Acked messages never come back, not even after the ack timeout.
  rig.Advance(60'000);
  EXPECT_TRUE(rig.FetchNow("p").empty());
}

TEST(DispatcherPull, NackWithDelayRedeliversAfterTheDelay) {
  Rig rig;
  rig.Producer("t", "t", false);
  rig.Put(rig.PullRoute("t", "p"));
  rig.Publish("t", "e1");
  auto got = rig.FetchN("p", 1);
  ASSERT_EQ(got.size(), 1u);
  auto n = rig.dispatcher->Nack("p", AckIds(got), 5000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  rig.Advance(4999);
  EXPECT_FALSE(WaitFor([&] { return !rig.FetchNow("p").empty(); }, 0.1));
  rig.Advance(1);
  auto again = rig.FetchN("p", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event->id, got[0].event->id);
  EXPECT_EQ(again[0].attempt, 2u);
  EXPECT_EQ(*rig.dispatcher->Ack("p", {got[0].ack_id}), 0u);  // the old delivery's id is stale
  EXPECT_EQ(*rig.dispatcher->Ack("p", AckIds(again)), 1u);
}

TEST(DispatcherPull, AckTimeoutRedeliversAndCountsTowardsMaxAttemptsThenDead) {
  Rig rig;
  rig.Producer("t", "t", false);
  rig.Put(rig.PullRoute("t", "p"));  // max_attempts 3
  auto ev = rig.Publish("t", "e1");
  for (uint32_t attempt = 1; attempt <= 3; ++attempt) {
    auto got = rig.FetchN("p", 1, /*ack_timeout_ms=*/1000);
    ASSERT_EQ(got.size(), 1u) << attempt;
    EXPECT_EQ(got[0].attempt, attempt);
    rig.Advance(999);
    EXPECT_TRUE(rig.FetchNow("p").empty());
    rig.Advance(1);
  }
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("p", "t").size() == 1; }));
  DeadLetter d = rig.Dead("p", "t")[0];
  EXPECT_EQ(d.attempts, 3u);
  EXPECT_NE(d.last_error.find("ack timeout"), std::string::npos) << d.last_error;
  EXPECT_TRUE(rig.FetchNow("p").empty());
}

TEST(DispatcherPull, OrderedTopicHasAtMostOneUnackedMessagePerEntity) {
  Rig rig;
  rig.Producer("a", "o", true);
  rig.Producer("b", "o", true);
  rig.Put(rig.PullRoute("a", "p"));
  rig.Put(rig.PullRoute("b", "p"));
  auto x1 = rig.Publish("a", "x");
  auto x2 = rig.Publish("b", "x");
  auto x3 = rig.Publish("a", "x");
  auto y1 = rig.Publish("b", "y");
  auto got = rig.FetchN("p", 2);
  std::set<std::string> ids;
  for (const auto& m : got) ids.insert(m.event->id);
  EXPECT_EQ(ids, (std::set<std::string>{x1.event.id, y1.event.id}));
  EXPECT_FALSE(WaitFor([&] { return !rig.FetchNow("p").empty(); }, 0.1));
  for (const auto& next : {x2, x3}) {
    for (const auto& m : got) {
      if (m.event->entity_id == "x") {
        ASSERT_EQ(*rig.dispatcher->Ack("p", {m.ack_id}), 1u);
      }
    }
    got = rig.FetchN("p", 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].event->id, next.event.id);
  }
}

// A long-polled fetch of up to 10 messages by consumer "p" (ack timeout 30 s); its answer
// arrives through the future.
std::future<std::vector<PulledMessage>> LongPoll(Rig& rig, int64_t wait_ms) {
  auto p = std::make_shared<std::promise<std::vector<PulledMessage>>>();
  auto f = p->get_future();
  rig.dispatcher->Fetch("p", 10, wait_ms, 30'000,
                        [p](std::vector<PulledMessage> m) { p->set_value(std::move(m)); });
  return f;
}

TEST(DispatcherPull, LongPollFetchReturnsAsSoonAsAnEventArrives) {
  Rig rig;
  rig.Producer("t", "t", false);
  rig.Put(rig.PullRoute("t", "p"));
  auto f = LongPoll(rig, /*wait_ms=*/60'000);
  EXPECT_EQ(f.wait_for(50ms), std::future_status::timeout);
  auto ev = rig.Publish("t", "e1");
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);  // the manual clock never moved
  auto got = f.get();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event->id, ev.event.id);
}

TEST(DispatcherPull, LongPollFetchEndsEmptyAtItsDeadline) {
  Rig rig;
  rig.Producer("t", "t", false);
  rig.Put(rig.PullRoute("t", "p"));
  auto f = LongPoll(rig, /*wait_ms=*/1000);
  rig.Advance(1000);
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(f.get().empty());
}

// Regression: a nack's delay and attempt count were kept in memory only; after a restart
// the message came back at once with its attempts forgotten.
TEST(DispatcherPull, NackDelayAndAttemptsSurviveRestart) {
  Rig rig;
  rig.Producer("t", "t", false);
  rig.Put(rig.PullRoute("t", "p"));
  rig.Publish("t", "e1");
  auto got = rig.FetchN("p", 1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(*rig.dispatcher->Nack("p", AckIds(got), 60'000), 1u);
  rig.Restart();
  rig.SyncRoutes("t", "p");
  EXPECT_FALSE(WaitFor([&] { return !rig.FetchNow("p").empty(); }, 0.2)) << "nack delay lost";
  rig.Advance(60'000);
  auto again = rig.FetchN("p", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2u);
}

// Regression: a fetch that met a message of a disabled pull route dropped it from the
// pull queue for good; re-enabling the route never delivered it.
TEST(DispatcherPull, DisabledPullRouteHoldsMessagesAndReenablingDeliversThem) {
  Rig rig;
  rig.Producer("t", "t", false);
  auto route = rig.PullRoute("t", "p");
  rig.Put(route);
  auto ev = rig.Publish("t", "e1");
  auto got = rig.FetchN("p", 1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(*rig.dispatcher->Nack("p", AckIds(got), 0), 1u);  // back in the pull queue
  route.enabled = false;
  rig.Put(route);
  EXPECT_TRUE(rig.FetchNow("p").empty());
  route.enabled = true;
  rig.Put(route);
  auto again = rig.FetchN("p", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event->id, ev.event.id);
}

// Copies of one (entity, type) read together: the second waits for the first, and once
// the first is acked (durably claimed) the second is skipped, never fetched.
TEST(DispatcherPull, EntityEventDedupCopyWaitsForTheAckAndIsSkipped) {
  Rig rig;
  rig.Producer("t", "t", false);
  auto r = rig.PullRoute("t", "p");
  r.dedup = config::DedupMode::kEntityEvent;
  rig.Put(r);
  auto first = rig.Publish("t", "order-1");
  rig.Publish("t", "order-1");
  auto got = rig.FetchN("p", 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event->id, first.event.id);
  EXPECT_FALSE(WaitFor([&] { return !rig.FetchNow("p").empty(); }, 0.1));
  ASSERT_EQ(*rig.dispatcher->Ack("p", AckIds(got)), 1u);
  ASSERT_TRUE(WaitFor([&] { return rig.Idle("p", "t"); }));
  EXPECT_TRUE(rig.FetchNow("p").empty());
}

// Four fetchers acking while the worker reads a backlog several windows long (the loop
// reads the log without the worker's lock, fetches and acks go on meanwhile): every event
// is fetched exactly once (manual time stands still, so no lease expires) and every ack
// counts.
TEST(DispatcherPull, ConcurrentFetchersAndAcksGetEachEventOnceWhileTheBacklogIsRead) {
  Rig rig;
  rig.Producer("t", "t", false);
  const size_t n = kSanitized ? 3000 : 12'000;  // the window is 4096
  auto published = rig.PublishMany(
      n, [](size_t i) { return std::make_pair(std::string("t"), "e" + std::to_string(i % 97)); });
  ASSERT_EQ(published.size(), n);
  rig.Put(rig.PullRoute("t", "p"));
  std::mutex mu;
  std::map<std::string, int> seen;
  std::atomic<size_t> acked{0};
  std::atomic<bool> bad_ack{false};
  auto fetcher = [&] {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (acked.load() < n && !bad_ack && std::chrono::steady_clock::now() < deadline) {
      std::vector<PulledMessage> got = rig.FetchNow("p", 100, 600'000);
      if (got.empty()) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      {
        std::lock_guard lock(mu);
        for (const auto& m : got) ++seen[m.event->id];
      }
      auto a = rig.dispatcher->Ack("p", AckIds(got));
      if (!a.ok() || *a != got.size()) bad_ack = true;
      if (a.ok()) acked += *a;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(fetcher);
  for (auto& t : threads) t.join();
  EXPECT_FALSE(bad_ack);
  EXPECT_EQ(acked.load(), n);
  ASSERT_EQ(seen.size(), n);
  for (const auto& p : published) EXPECT_EQ(seen[p.event.id], 1) << p.event.id;
  EXPECT_TRUE(WaitFor([&] { return rig.Idle("p", "t"); }));
}

}  // namespace
}  // namespace eragon::dispatch::testing
