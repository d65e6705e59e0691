// Dispatcher push delivery against real HTTP endpoints and a manual clock: ordering,
// answer classes, retries and backoff bounds, dead letters, the circuit breaker.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "core/event_codec.h"
#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

using namespace std::chrono_literals;

// Per entity, the ids of `published` in publish order.
std::map<std::string, std::vector<std::string>> ByEntity(
    const std::vector<Rig::Published>& published) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& p : published) out[p.event.entity_id].push_back(p.event.id);
  return out;
}

// Per entity, the ids the endpoint answered 2xx, first success only, in answer order.
std::map<std::string, std::vector<std::string>> FirstSuccessByEntity(const Endpoint& ep) {
  std::map<std::string, std::vector<std::string>> out;
  std::set<std::string> seen;
  for (const Hit& h : ep.hits()) {
    if (h.status < 200 || h.status >= 300 || !seen.insert(h.id).second) continue;
    out[h.entity].push_back(h.id);
  }
  return out;
}

TEST(DispatcherPush, OrderedTopicDeliversEachEventOnceInPublishOrderPerEntityAcrossTypes) {
  Rig rig;
  for (const char* t : {"order_created", "order_paid", "order_cancelled"}) {
    rig.Producer(t, "orders", /*ordered=*/true);
  }
  Endpoint ep;
  for (const char* t : {"order_created", "order_paid", "order_cancelled"}) {
    rig.Put(rig.HttpRoute(t, "payments", ep.Url()));
  }
  const char* types[] = {"order_created", "order_paid", "order_cancelled"};
  auto published = rig.PublishMany(300, [&](size_t i) {
    return std::make_pair(std::string(types[i % 3]), "order-" + std::to_string(i % 17));
  });
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() >= 300; })) << ep.delivered();
  EXPECT_EQ(ep.count(), 300u);  // exactly once each
  EXPECT_EQ(FirstSuccessByEntity(ep), ByEntity(published));

  // Positions are committed (every 100 ms of the dispatcher's clock) up to the end.
  channel::Topic* topic = rig.logs->FindTopic("orders");
  rig.AdvanceUntil(
      [&] {
        for (uint32_t p = 0; p < topic->partitions(); ++p) {
          if (rig.logs->positions()->Get("orders", "payments", p) != topic->DurableEnd(p)) {
            return false;
          }
        }
        return true;
      },
      100, 5000);
  for (uint32_t p = 0; p < topic->partitions(); ++p) {
    EXPECT_EQ(rig.logs->positions()->Get("orders", "payments", p), topic->DurableEnd(p));
  }
  EXPECT_EQ(rig.StateOf(published[0], "payments")->state, DeliveryStateKind::kDelivered);
}

// A clean stop waits for the pushes out to be answered and records them: after the
// restart none of them is delivered again, and nothing new was sent during the stop.
TEST(DispatcherPush, CleanStopRecordsPushesInFlightSoARestartDeliversNothingTwice) {
  Rig rig;
  rig.Producer("t", "t", /*ordered=*/true);
  Endpoint ep;
  ep.SetHold(300ms);
  config::ConsumerRoute route = rig.HttpRoute("t", "c", ep.Url());
  route.max_in_flight = 3;
  rig.Put(route);
  std::vector<Rig::Published> published;
  for (int i = 0; i < 6; ++i) published.push_back(rig.Publish("t", "e" + std::to_string(i)));
  ASSERT_TRUE(WaitFor([&] { return ep.arrived() == 3; }));
  rig.Close();  // while three pushes wait for their answers
  EXPECT_EQ(ep.count(), 3u) << "no push is started once the stop began";
  rig.Open();
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 6 && rig.Idle("c", "t"); }));
  EXPECT_FALSE(WaitFor([&] { return ep.count() > 6; }, 0.3));
  for (const auto& p : published) {
    EXPECT_EQ(rig.StateOf(p, "c")->state, DeliveryStateKind::kDelivered) << p.event.id;
  }
}

// 500s: attempt n+1 comes no earlier than the recorded next attempt time, which lies within
// the full-jitter bound min(max, initial * 2^(n-1)); after max_attempts the event is dead
// with its last status, error and attempt count.
TEST(DispatcherPush, ServerErrorsAreRetriedWithinBackoffBoundsThenDeadLettered) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit&) { return Answer(500); });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {4, 1000, 3000};
  rig.Put(route);
  auto ev = rig.Publish("t", "e1");
  for (uint32_t n = 1; n < 4; ++n) {
    ASSERT_TRUE(WaitFor([&] { return ep.count() == n; })) << n;
    std::optional<DeliveryState> st;
    ASSERT_TRUE(WaitFor([&] {
      st = rig.StateOf(ev, "c");
      return st && st->state == DeliveryStateKind::kRetrying && st->attempts == n &&
             st->next_attempt_at > 0;
    }));
    const int64_t now = rig.clock.WallMs();
    const int64_t bound = std::min<int64_t>(3000, 1000LL << (n - 1));
    EXPECT_GE(st->next_attempt_at, now);
    EXPECT_LE(st->next_attempt_at, now + bound);
    EXPECT_EQ(st->last_status, 500);
    if (st->next_attempt_at > now) {
      rig.Advance(st->next_attempt_at - now - 1);
      EXPECT_FALSE(WaitFor([&] { return ep.count() > n; }, 0.05)) << "retried early";
      rig.Advance(1);
    } else {
      rig.Advance(0);
    }
  }
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 1; }));
  DeadLetter d = rig.Dead("c", "t")[0];
  EXPECT_EQ(d.event.id, ev.event.id);
  EXPECT_EQ(d.attempts, 4u);
  EXPECT_EQ(d.last_status, 500);
  EXPECT_NE(d.last_error.find("HTTP 500"), std::string::npos) << d.last_error;
  EXPECT_EQ(ep.count(), 4u);
  std::vector<int> attempts;
  for (const Hit& h : ep.hits()) attempts.push_back(h.attempt);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(rig.StateOf(ev, "c")->state, DeliveryStateKind::kDead);
}

TEST(DispatcherPush, RetryAfterIsHonoured) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit& h) {
    return h.attempt == 1 ? Answer(429, {{"Retry-After", "7"}}) : Answer(200);
  });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {3, 10, 60'000};
  rig.Put(route);
  auto ev = rig.Publish("t", "e1");
  std::optional<DeliveryState> st;
  ASSERT_TRUE(WaitFor([&] {  // the answer was processed (not just sent)
    st = rig.StateOf(ev, "c");
    return st && st->state == DeliveryStateKind::kRetrying;
  }));
  EXPECT_EQ(st->next_attempt_at, rig.clock.WallMs() + 7000);
  EXPECT_EQ(st->last_status, 429);
  for (int i = 0; i < 69; ++i) rig.Advance(100);  // +6.9 s
  EXPECT_FALSE(WaitFor([&] { return ep.count() > 1; }, 0.1)) << "retried before Retry-After";
  rig.Advance(100);
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 1; }));
  EXPECT_EQ(ep.count(), 2u);
}

TEST(DispatcherPush, ClientErrorsAndRedirectsAreDeadAfterOneAttempt) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit& h) {
    return h.entity == "bad" ? Answer(400) : Answer(302, {{"Location", "/elsewhere"}});
  });
  rig.Put(rig.HttpRoute("t", "c", ep.Url()));
  rig.Publish("t", "bad");
  rig.Publish("t", "moved");
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 2; }));
  std::map<std::string, DeadLetter> dead;
  for (DeadLetter& d : rig.Dead("c", "t")) dead[d.event.entity_id] = d;
  EXPECT_EQ(dead["bad"].attempts, 1u);
  EXPECT_EQ(dead["bad"].last_status, 400);
  EXPECT_EQ(dead["moved"].attempts, 1u);
  EXPECT_EQ(dead["moved"].last_status, 302);
  rig.Advance(60'000);
  EXPECT_FALSE(WaitFor([&] { return ep.count() > 2; }, 0.1));
}

TEST(DispatcherPush, TimeoutsAndConnectionResetsAreRetried) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit& h) {
    if (h.attempt > 1) return Answer(200);
    return Do(h.entity == "slow" ? TestAnswer::Action::kNoAnswer : TestAnswer::Action::kReset);
  });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.timeout_ms = 200;
  rig.Put(route);
  auto slow = rig.Publish("t", "slow");
  auto reset = rig.Publish("t", "reset");
  ASSERT_TRUE(WaitFor([&] {
    auto a = rig.StateOf(slow, "c"), b = rig.StateOf(reset, "c");
    return a && b && a->state == DeliveryStateKind::kRetrying &&
           b->state == DeliveryStateKind::kRetrying;
  }));
  EXPECT_NE(rig.StateOf(slow, "c")->last_error.find("timeout"), std::string::npos);
  ASSERT_TRUE(rig.AdvanceUntil([&] { return ep.delivered() == 2; }, 250, 5000));
  EXPECT_TRUE(rig.Dead("c", "t").empty());
}

// API.md "Endpoint down": far beyond max_attempts x max_backoff nothing goes dead and only
// probes are sent; when the endpoint is back everything arrives, in order per entity.
void CircuitScenario(bool refuse) {
  Rig rig;
  rig.Producer("a", "orders", true);
  rig.Producer("b", "orders", true);
  std::atomic<bool> up{false};
  Endpoint ep([&](const Hit&) { return up ? Answer(200) : Answer(503); });
  auto ra = rig.HttpRoute("a", "c", refuse ? RefusingUrl() : ep.Url());
  ra.retry = {3, 100, 1000};  // horizon: 3 attempts, at most ~2 s
  auto rb = ra;
  rb.event_type = "b";
  rig.Put(ra);
  rig.Put(rb);
  auto published = rig.PublishMany(200, [](size_t i) {
    return std::make_pair(std::string(i % 2 ? "a" : "b"), "ent-" + std::to_string(i % 25));
  });
  for (int step = 0; step < 600; ++step) {  // 600 x 500 ms = 5 minutes > 150 x horizon
    rig.Advance(500);
    std::this_thread::sleep_for(1ms);
  }
  WaitFor([] { return false; }, 0.05);
  EXPECT_TRUE(rig.Dead("c", "a").empty());
  EXPECT_TRUE(rig.Dead("c", "b").empty());
  EXPECT_TRUE(rig.StatsOf("c", "orders")->stats.circuit_open);
  if (!refuse) {
    // The first window (max_in_flight) plus one probe at a time with backoff up to 60 s.
    EXPECT_LE(ep.count(), 16u + 40u) << "probes only while the circuit is open";
  }
  up = true;
  if (refuse) {
    ra.url = rb.url = ep.Url();
    rig.Put(ra);
    rig.Put(rb);
  }
  ASSERT_TRUE(rig.AdvanceUntil([&] { return ep.delivered() >= 200; }, 1000, 120'000))
      << ep.delivered();
  EXPECT_EQ(FirstSuccessByEntity(ep), ByEntity(published));
  EXPECT_TRUE(rig.Dead("c", "a").empty());
  EXPECT_TRUE(rig.Dead("c", "b").empty());
  EXPECT_FALSE(rig.StatsOf("c", "orders")->stats.circuit_open);
}

TEST(DispatcherPush, CircuitBreakerEndpointAnswering503DeadLettersNothingAndResumesInOrder) {
  CircuitScenario(false);
}

TEST(DispatcherPush, CircuitBreakerEndpointRefusingConnectionsDeadLettersNothingAndResumes) {
  CircuitScenario(true);
}

// Random transient failures (seeded) on several types of one ordered topic: each entity's
// first successful deliveries are in publish order.
TEST(DispatcherPush, OrderingPropertyHoldsUnderRandomTransientFailures) {
  Rig rig;
  const char* types[] = {"x", "y", "z"};
  for (const char* t : types) rig.Producer(t, "mix", true);
  std::mt19937_64 rng(42);
  Endpoint ep([&](const Hit&) { return rng() % 10 < 3 ? Answer(500) : Answer(200); });
  for (const char* t : types) {
    auto r = rig.HttpRoute(t, "c", ep.Url());
    r.retry = {1000, 50, 400};
    rig.Put(r);
  }
  std::mt19937 pick(7);
  const size_t n = kSanitized ? 200 : 600;
  auto published = rig.PublishMany(n, [&](size_t) {
    return std::make_pair(std::string(types[pick() % 3]), "e" + std::to_string(pick() % 40));
  });
  ASSERT_TRUE(rig.AdvanceUntil(
      [&] { return FirstSuccessByEntity(ep).size() == 40 && rig.Idle("c", "mix"); }, 200, 600'000));
  EXPECT_EQ(FirstSuccessByEntity(ep), ByEntity(published));
  EXPECT_TRUE(rig.Dead("c", "x").empty());
}

TEST(DispatcherPush, PermanentlyFailingEntityDoesNotHoldUpOthers) {
  Rig rig;
  rig.Producer("t", "t", true);
  Endpoint ep([](const Hit& h) { return h.entity == "stuck" ? Answer(500) : Answer(200); });
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.retry = {100, 1000, 60'000};
  rig.Put(r);
  std::vector<Rig::Published> others;
  for (int i = 0; i < 200; ++i) {
    if (i % 10 == 0) rig.Publish("t", "stuck");
    others.push_back(rig.Publish("t", "ok-" + std::to_string(i % 30)));
  }
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 200; })) << ep.delivered();
  auto by = FirstSuccessByEntity(ep);
  EXPECT_EQ(by, ByEntity(others));
  size_t stuck_hits = 0;
  for (const Hit& h : ep.hits()) stuck_hits += h.entity == "stuck";
  EXPECT_GE(stuck_hits, 1u);
  EXPECT_TRUE(rig.Dead("c", "t").empty());
  EXPECT_FALSE(rig.StatsOf("c", "t")->stats.circuit_open);
}

TEST(DispatcherPush, UnorderedRespectsMaxInFlight) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep;
  ep.SetHold(20ms);
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.max_in_flight = 4;
  rig.Put(r);
  rig.PublishMany(60, [](size_t i) { return std::make_pair("t", "e" + std::to_string(i)); });
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 60; }));
  EXPECT_LE(ep.max_concurrent(), 4);
  EXPECT_GE(ep.max_concurrent(), 2);  // it is a window, not one at a time
}

TEST(DispatcherPush, UnorderedRespectsRateLimitOverManualTime) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep;
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.rate_limit_per_s = 50;
  rig.Put(r);
  rig.PublishMany(300, [](size_t i) { return std::make_pair("t", "e" + std::to_string(i)); });
  for (int step = 0; step < 20; ++step) {  // 2 s of manual time
    rig.Advance(100);
    WaitFor([&] { return false; }, 0.02);
  }
  size_t n = ep.count();
  EXPECT_GE(n, 60u);
  EXPECT_LE(n, 130u);  // 50/s over 2 s, plus at most one second of burst
}

// One consumer's endpoint hangs (never answers, long timeout): another consumer of the
// same topic still receives everything promptly.
TEST(DispatcherPush, HangingConsumerDoesNotStopAnotherConsumer) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint hang([](const Hit&) { return Do(TestAnswer::Action::kNoAnswer); });
  Endpoint fast;
  auto rh = rig.HttpRoute("t", "hang", hang.Url());
  rh.timeout_ms = 60'000;
  rh.max_in_flight = 4;
  rig.Put(rh);
  rig.Put(rig.HttpRoute("t", "fast", fast.Url()));
  const size_t n = kSanitized ? 300 : 2000;
  rig.PublishMany(n, [](size_t i) { return std::make_pair("t", "e" + std::to_string(i)); });
  ASSERT_TRUE(WaitFor([&] { return fast.delivered() == n; }, 20)) << fast.delivered();
  EXPECT_LE(hang.count(), 4u);
}

// A dead endpoint with a large backlog: the window stays bounded while the backlog waits.
TEST(DispatcherPush, DeadConsumerWithLargeBacklogKeepsWindowBounded) {
  Rig rig;
  rig.Producer("t", "t", false);
  auto r = rig.HttpRoute("t", "dead", RefusingUrl());
  rig.Put(r);
  const size_t n = kSanitized ? 10'000 : 50'000;
  channel::Topic* topic = rig.logs->FindTopic("t");
  std::vector<std::string> payloads(1000);
  for (size_t done = 0; done < n; done += 1000) {
    std::vector<channel::AppendRecord> recs;
    std::vector<std::string> entities(1000);
    for (size_t i = 0; i < 1000; ++i) {
      Event e;
      e.id = "big-" + std::to_string(done + i);
      e.event_type = "t";
      e.entity_id = entities[i] = "e" + std::to_string((done + i) % 5000);
      e.producer = "producer";
      e.data = "{}";
      payloads[i].clear();
      EncodeEventRecord(e, &payloads[i]);
      recs.push_back({entities[i], payloads[i], rig.clock.WallMs()});
    }
    ASSERT_TRUE(topic->Append(recs).ok());
  }
  size_t max_window = 0;
  for (int step = 0; step < 50; ++step) {
    rig.Advance(1000);
    WaitFor([] { return false; }, 0.01);
    max_window = std::max(max_window, rig.StatsOf("dead", "t")->stats.window);
  }
  EXPECT_LE(max_window, kMaxWindow);
  EXPECT_GE(max_window, kMaxWindow / 2);  // it did read ahead
  EXPECT_EQ(rig.StatsOf("dead", "t")->stats.lag_events, n);
  EXPECT_TRUE(rig.Dead("dead", "t").empty());
}

}  // namespace
}  // namespace eragon::dispatch::testing
