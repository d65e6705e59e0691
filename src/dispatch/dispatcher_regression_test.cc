// Named regression tests for dispatcher bugs that need a precise interleaving (a push in
// flight while an admin operation or a route change happens).
#include <gtest/gtest.h>

#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

using namespace std::chrono_literals;

// Event "x" of topic "t" went dead for consumer "c" (a 400), was redriven, and the
// redrive's first push got `redrive_status` (retryable): it waits for its retry.
struct RedriveWaiting {
  Rig rig;
  std::atomic<int> status{400};
  Endpoint ep{[this](const Hit&) { return Answer(status.load()); }};
  Rig::Published ev;

  void Start(int redrive_status) {
    rig.Producer("t", "t", false);
    auto r = rig.HttpRoute("t", "c", ep.Url());
    // A fixed delay: the default backoff's full jitter may draw 0 ms, and then the retry
    // goes out at once on the manual clock (the endpoint saw 3 pushes, not 2: 1 run in
    // ~250 under TSan and load).
    r.retry = {5, 1000, 1000, {1000}};
    rig.Put(r);
    ev = rig.Publish("t", "x");
    ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 1; }));
    status = redrive_status;
    ASSERT_EQ(*rig.dispatcher->Redrive("t", "c", {}), 1u);
    ASSERT_TRUE(WaitFor([&] { return ep.count() == 2; }));  // the redrive failed: it waits
  }
};

// Regression: the circuit's probe was recognized by its slot; a replay while the probe was
// in flight replaced the slot, the answer was ignored and probe_in_flight_ stayed set, so
// the circuit stayed open with no probe ever again.
TEST(DispatcherRegression, ProbeAnsweredAfterReplayDoesNotLeaveTheCircuitOpenForever) {
  Rig rig;
  rig.Producer("t", "t", false);
  std::atomic<bool> up{false};
  Endpoint ep([&](const Hit&) { return up ? Answer(200) : Answer(503); });
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.retry = {3, 100, 1000};
  rig.Put(r);
  for (int i = 0; i < 10; ++i) rig.Publish("t", "e" + std::to_string(i));
  ASSERT_TRUE(WaitFor([&] { return rig.StatsOf("c", "t")->stats.circuit_open; }));
  ASSERT_TRUE(WaitFor([&] { return ep.count() == ep.arrived(); }));  // nothing in flight
  ep.SetHold(300ms);
  const size_t before = ep.arrived();
  rig.Advance(1000);  // the probe goes out and is held by the endpoint
  ASSERT_TRUE(WaitFor([&] { return ep.arrived() > before; }));
  ASSERT_TRUE(rig.dispatcher->Replay("t", "c", 0, false).ok());
  ASSERT_TRUE(WaitFor([&] { return ep.count() == ep.arrived(); }));  // the 503 came back
  ep.SetHold(0ms);
  up = true;
  ASSERT_TRUE(rig.AdvanceUntil([&] { return ep.delivered() >= 10; }, 1000, 180'000))
      << "circuit stuck open";
  EXPECT_TRUE(rig.Dead("c", "t").empty());
}

// Regression: replay and seek cleared every queue and timer, including those of redriven
// dead letters, which then waited forever.
TEST(DispatcherRegression, RedrivenDeadLetterWaitingForRetrySurvivesReplay) {
  RedriveWaiting w;
  ASSERT_NO_FATAL_FAILURE(w.Start(500));
  w.rig.Advance(0);
  WaitFor([] { return false; }, 0.05);
  ASSERT_TRUE(w.rig.dispatcher->Replay("t", "c", w.rig.clock.WallMs() + 1, false).ok());
  w.status = 200;
  ASSERT_TRUE(w.rig.AdvanceUntil([&] { return w.ep.delivered() == 1; }, 200, 10'000));
  EXPECT_EQ(w.ep.Delivered()[0], w.ev.event.id);
  EXPECT_TRUE(WaitFor([&] { return w.rig.Dead("c", "t").empty(); }));
}

// Regression: an answer that arrived after its route was removed (while the consumer's
// other route on the topic kept the worker alive) wrote a dead letter for the removed
// route, after RouteRemoved had already cleared them.
TEST(DispatcherRegression, AnswerAfterRouteRemovalWritesNoDeadLetter) {
  Rig rig;
  rig.Producer("a", "o", false);
  rig.Producer("b", "o", false);
  Endpoint ep([](const Hit&) { return Answer(500); });
  auto ra = rig.HttpRoute("a", "c", ep.Url());
  ra.retry = {1, 1000, 1000};  // the first failure would be dead
  rig.Put(ra);
  rig.Put(rig.HttpRoute("b", "c", ep.Url()));
  ep.SetHold(300ms);
  rig.Publish("a", "x");
  ASSERT_TRUE(WaitFor([&] { return ep.arrived() == 1; }));
  ASSERT_TRUE(rig.config->DeleteConsumer("a", "c").ok());
  ASSERT_TRUE(rig.dispatcher->RouteRemoved("a", "c").ok());
  ASSERT_TRUE(WaitFor([&] { return ep.count() == 1; }));
  EXPECT_FALSE(WaitFor([&] { return !rig.Dead("c", "a").empty(); }, 0.3));
  EXPECT_TRUE(WaitFor([&] { return rig.Idle("c", "o"); }));
}

// Regression: a redrive request lived only in memory; a restart before the redriven
// delivery succeeded forgot it (the dead letter stayed, nothing was delivered).
TEST(DispatcherRegression, RedriveInProgressGoesOnAfterARestart) {
  RedriveWaiting w;
  ASSERT_NO_FATAL_FAILURE(w.Start(503));
  w.rig.Restart();
  w.rig.SyncRoutes("t", "c");
  w.status = 200;
  ASSERT_TRUE(w.rig.AdvanceUntil([&] { return w.ep.delivered() == 1; }, 500, 30'000))
      << "the redrive was forgotten by the restart";
  EXPECT_EQ(w.ep.Delivered()[0], w.ev.event.id);
  EXPECT_TRUE(WaitFor([&] { return w.rig.Dead("c", "t").empty(); }));
  EXPECT_TRUE(w.rig.store->ListRedrives("c", "t").empty());
}

// Regression: when the circuit opened, the refunded attempts were changed in memory only;
// the store kept the counts of the failed attempts, and a restart brought them back.
TEST(DispatcherRegression, AttemptsRefundedWhenTheCircuitOpensArePersisted) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit&) { return Answer(503); });
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.retry = {10, 60'000, 60'000};  // no retry within the test: only the first attempts
  r.max_in_flight = 1;             // one after another: the circuit opens at the 5th
  rig.Put(r);
  std::vector<Rig::Published> evs;
  for (int i = 0; i < 8; ++i) evs.push_back(rig.Publish("t", "e" + std::to_string(i)));
  ASSERT_TRUE(WaitFor([&] { return rig.StatsOf("c", "t")->stats.circuit_open; }));
  ASSERT_TRUE(WaitFor([&] { return ep.count() == ep.arrived(); }));
  rig.dispatcher->Stop();  // writes what is pending, as a shutdown does
  size_t stored = 0;
  for (const auto& e : evs) {
    std::optional<DeliveryState> st = rig.store->GetState("c", "t", e.partition, e.offset);
    if (!st) continue;
    ++stored;
    EXPECT_EQ(st->attempts, 0u) << e.event.entity_id << " kept a refunded attempt";
  }
  EXPECT_GE(stored, 4u) << "the retries scheduled before the circuit opened are stored";
}

// Regression: while a consumer's push circuit was open, its pull route's events on the
// same topic waited behind the probe in the shared queue until the next probe time.
TEST(DispatcherRegression, PullRouteKeepsFlowingWhileThePushCircuitOnItsTopicIsOpen) {
  Rig rig;
  rig.Producer("a", "orders", false);
  rig.Producer("b", "orders", false);
  Endpoint ep([](const Hit&) { return Answer(503); });
  auto push = rig.HttpRoute("a", "c", ep.Url());
  push.retry = {10, 60'000, 60'000};
  rig.Put(push);
  rig.Put(rig.PullRoute("b", "c"));
  for (int i = 0; i < 8; ++i) rig.Publish("a", "e" + std::to_string(i));
  ASSERT_TRUE(WaitFor([&] { return rig.StatsOf("c", "orders")->stats.circuit_open; }));
  for (int i = 0; i < 3; ++i) rig.Publish("b", "p" + std::to_string(i));
  std::vector<PulledMessage> got = rig.FetchN("c", 3);  // manual time stands still
  EXPECT_EQ(got.size(), 3u) << "pull events waited for the push circuit's probe";
  EXPECT_TRUE(rig.StatsOf("c", "orders")->stats.circuit_open);
}

}  // namespace
}  // namespace eragon::dispatch::testing
