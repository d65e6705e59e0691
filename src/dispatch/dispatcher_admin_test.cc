// Dispatcher state over time: dead letters and redrive, replay, seek, dedup, restarts, and
// routing changes at run time.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

using namespace std::chrono_literals;

size_t CountOf(const Endpoint& ep, const std::string& id) {
  size_t n = 0;
  for (const std::string& d : ep.Delivered()) n += d == id;
  return n;
}

TEST(DispatcherAdmin, RedriveDeliversDeadLettersAgainIgnoringDedupAndRemovesThem) {
  Rig rig;
  rig.Producer("t", "t", true);
  std::atomic<bool> broken{true};
  Endpoint ep([&](const Hit& h) { return broken && h.id != "later" ? Answer(400) : Answer(200); });
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.dedup = config::DedupMode::kEntityEvent;
  rig.Put(r);
  auto first = rig.Publish("t", "e1", "first");
  rig.Publish("t", "e2", "other");
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 2; }));
  rig.Publish("t", "e1", "later");  // claims (e1, t)
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 1; }));
  broken = false;
  auto n = rig.dispatcher->Redrive("t", "c", {first.event.id});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  ASSERT_TRUE(WaitFor([&] { return CountOf(ep, "first") == 1; }));
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 1; }));
  EXPECT_EQ(rig.Dead("c", "t")[0].event.id, "other");
  n = rig.dispatcher->Redrive("t", "c", {});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  ASSERT_TRUE(WaitFor([&] { return CountOf(ep, "other") == 1; }));
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").empty(); }));
}

// Issue 16: `redrive {}` loaded every dead letter into memory (1.8 M -> 2.4 GB). Now the
// dispatcher marks them page by page and the worker holds at most kMaxRedrivesInMemory
// at a time, loading more as those are delivered; every one is still delivered once.
TEST(DispatcherAdmin, RedriveOfManyDeadLettersHoldsABoundedPageInMemory) {
  Rig rig;
  rig.Producer("t", "t", false);
  std::atomic<int> status{400};
  Endpoint ep([&](const Hit&) { return Answer(status.load()); });
  rig.Put(rig.HttpRoute("t", "c", ep.Url()));
  constexpr size_t kDead = 1500;
  rig.PublishMany(
      kDead, [](size_t i) { return std::make_pair(std::string("t"), "e" + std::to_string(i)); });
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == kDead; }, 60));
  status = 200;
  ep.SetHold(20ms);
  auto n = rig.dispatcher->Redrive("t", "c", {});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kDead);
  size_t most = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (auto st = rig.StatsOf("c", "t")) most = std::max(most, st->stats.redrives);
        return ep.delivered() >= kDead;
      },
      60));
  EXPECT_GT(most, 0u);
  EXPECT_LE(most, ConsumerWorker::kMaxRedrivesInMemory);
  std::vector<std::string> delivered = ep.Delivered();
  EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()).size(), kDead);
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").empty(); }));
  EXPECT_TRUE(rig.store->ListRedrives("c", "t").empty()) << "every mark is removed";
}

TEST(DispatcherAdmin, ReplayFromATimeRedeliversHonouringDedupUnlessIgnored) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint plain, deduped;
  rig.Put(rig.HttpRoute("t", "plain", plain.Url()));
  auto r = rig.HttpRoute("t", "deduped", deduped.Url());
  r.dedup = config::DedupMode::kEventId;
  rig.Put(r);
  for (int i = 0; i < 3; ++i) rig.Publish("t", "old" + std::to_string(i));
  rig.Advance(10'000);
  const int64_t from = rig.clock.WallMs();
  for (int i = 0; i < 4; ++i) rig.Publish("t", "new" + std::to_string(i));
  ASSERT_TRUE(WaitFor([&] { return plain.delivered() == 7 && deduped.delivered() == 7; }));
  // The workers have recorded every answer (claimed the keys): a replay drops answers
  // still on their way back, and their events go out again (at-least-once).
  ASSERT_TRUE(WaitFor([&] { return rig.Idle("plain", "t") && rig.Idle("deduped", "t"); }));
  ASSERT_TRUE(rig.dispatcher->Replay("t", "plain", from, false).ok());
  ASSERT_TRUE(WaitFor([&] { return plain.delivered() == 11; }));
  ASSERT_TRUE(rig.dispatcher->Replay("t", "deduped", from, false).ok());
  ASSERT_TRUE(WaitFor([&] { return rig.Idle("deduped", "t"); }));
  EXPECT_EQ(deduped.delivered(), 7u);  // dedup honoured
  ASSERT_TRUE(rig.dispatcher->Replay("t", "deduped", from, true).ok());
  ASSERT_TRUE(WaitFor([&] { return deduped.delivered() == 11; }));
  EXPECT_TRUE(WaitFor([&] { return rig.Idle("deduped", "t"); }));
  EXPECT_EQ(plain.delivered(), 11u);
  std::set<std::string> replayed;
  for (const Hit& h : plain.hits()) replayed.insert(h.entity);
  EXPECT_EQ(replayed.size(), 7u);
}

TEST(DispatcherAdmin, SeekLatestSkipsTheBacklog) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep;
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.enabled = false;
  rig.Put(r);
  for (int i = 0; i < 20; ++i) rig.Publish("t", "e" + std::to_string(i));
  ASSERT_TRUE(WaitFor([&] { return rig.StatsOf("c", "t")->stats.window == 20; }));
  ASSERT_TRUE(rig.dispatcher->Seek("t", "c", -1).ok());
  r.enabled = true;
  rig.Put(r);
  auto after = rig.Publish("t", "after");
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 1; }));
  EXPECT_EQ(ep.Delivered()[0], after.event.id);
  EXPECT_TRUE(WaitFor([&] { return rig.Idle("c", "t"); }));
}

// entity_event: the same (entity, type) published three times with different ids reaches
// the consumer once — also when the copies are read together, and across a restart.
void EntityEventDedup(bool ordered) {
  Rig rig;
  rig.Producer("t", "t", ordered);
  Endpoint ep;
  ep.SetHold(5ms);
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.dedup = config::DedupMode::kEntityEvent;
  rig.Put(r);
  for (int i = 0; i < 3; ++i) rig.Publish("t", "order-1");
  rig.Publish("t", "order-2");
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() >= 2 && rig.Idle("c", "t"); }));
  EXPECT_EQ(ep.delivered(), 2u);
  rig.Restart();
  rig.Publish("t", "order-1");
  rig.Publish("t", "order-3");
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() >= 3 && rig.Idle("c", "t"); }));
  EXPECT_EQ(ep.delivered(), 3u);
  std::set<std::string> entities;
  for (const Hit& h : ep.hits()) entities.insert(h.entity);
  EXPECT_EQ(entities, (std::set<std::string>{"order-1", "order-2", "order-3"}));
}

TEST(DispatcherAdmin, EntityEventDedupDeliversOnceOnOrderedTopicAcrossRestart) {
  EntityEventDedup(true);
}

// Regression: the dedup key was checked only when an event was read, so copies read
// before the first one's 2xx were all delivered.
TEST(DispatcherAdmin, EntityEventDedupDeliversOnceOnUnorderedTopicAcrossRestart) {
  EntityEventDedup(false);
}

TEST(DispatcherAdmin, EventIdDedupDeliversEachIdOnce) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep;
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.dedup = config::DedupMode::kEventId;
  rig.Put(r);
  rig.Publish("t", "a", "same-id");
  rig.Publish("t", "b", "same-id");
  rig.Publish("t", "a", "other-id");
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() >= 2 && rig.Idle("c", "t"); }));
  EXPECT_EQ(ep.delivered(), 2u);
  EXPECT_EQ(CountOf(ep, "same-id"), 1u);
}

// Attempts, next attempt times and dead letters survive closing and reopening everything.
TEST(DispatcherAdmin, RestartInTheMiddleOfRetriesKeepsAttemptsTimesAndDeadLetters) {
  Rig rig;
  rig.Producer("t", "t", false);
  // Retry-After makes every retry exactly 5 s after the failure.
  Endpoint ep([](const Hit& h) {
    return h.entity == "bad" ? Answer(400) : Answer(503, {{"Retry-After", "5"}});
  });
  auto r = rig.HttpRoute("t", "c", ep.Url());
  r.retry = {5, 1000, 60'000};
  rig.Put(r);
  std::vector<Rig::Published> evs = {rig.Publish("t", "a"), rig.Publish("t", "b"),
                                     rig.Publish("t", "c")};
  rig.Publish("t", "bad");
  auto attempts_are = [&](uint32_t n) {
    for (const auto& e : evs) {
      auto st = rig.StateOf(e, "c");
      if (!st || st->state != DeliveryStateKind::kRetrying || st->attempts != n) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitFor([&] { return attempts_are(1); }));
  rig.Advance(5000);
  ASSERT_TRUE(WaitFor([&] { return attempts_are(2); }));
  // "bad" may be published after the others were first sent: its 400 can land later.
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 1u; }));
  std::vector<DeliveryState> before;
  for (const auto& e : evs) before.push_back(*rig.StateOf(e, "c"));
  const size_t hits = ep.count();

  rig.Restart();
  rig.SyncRoutes("t", "c");
  ASSERT_TRUE(WaitFor([&] { return attempts_are(2); }));
  int64_t earliest = INT64_MAX;
  for (size_t i = 0; i < evs.size(); ++i) {
    DeliveryState st = *rig.StateOf(evs[i], "c");
    EXPECT_EQ(st.next_attempt_at, before[i].next_attempt_at);
    EXPECT_EQ(st.last_status, 503);
    earliest = std::min(earliest, st.next_attempt_at);
  }
  EXPECT_EQ(rig.Dead("c", "t").size(), 1u);
  EXPECT_EQ(rig.Dead("c", "t")[0].event.entity_id, "bad");
  if (earliest > rig.clock.WallMs()) {
    EXPECT_FALSE(WaitFor([&] { return ep.count() > hits; }, 0.1)) << "retried early";
  }
  ASSERT_TRUE(rig.AdvanceUntil([&] { return rig.Dead("c", "t").size() == 4; }, 1000, 600'000));
  for (const DeadLetter& d : rig.Dead("c", "t")) {
    EXPECT_EQ(d.attempts, d.event.entity_id == "bad" ? 1u : 5u) << d.event.entity_id;
  }
  EXPECT_EQ(ep.count(), 1u + 3u * 5u);
}

// ---- routing changes at run time ----

TEST(DispatcherRouting, ConsumerAddedAtRunTimeStartsLatestOrEarliest) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint latest, earliest;
  for (int i = 0; i < 5; ++i) rig.Publish("t", "before" + std::to_string(i));
  rig.clock.AdvanceMs(1);
  auto rl = rig.HttpRoute("t", "latest", latest.Url());
  rl.start = config::StartAt::kLatest;
  rl.created_at = rig.clock.WallMs();  // as the server sets it
  rig.Put(rl);
  rig.Put(rig.HttpRoute("t", "earliest", earliest.Url()));
  for (int i = 0; i < 3; ++i) rig.Publish("t", "after" + std::to_string(i));
  ASSERT_TRUE(WaitFor([&] { return earliest.delivered() == 8 && latest.delivered() >= 3; }));
  EXPECT_TRUE(WaitFor([&] { return rig.Idle("latest", "t"); }));
  EXPECT_EQ(latest.delivered(), 3u);
}

// `latest` means "published since the route was created", not "since the dispatcher
// noticed the route": events published between the route's 201 and the dispatcher
// picking it up are delivered. (The https integration test lost its event to this race
// under TSan.)
TEST(DispatcherRouting, LatestStartsAtTheRouteCreationNotWhenTheDispatcherSeesIt) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep;
  rig.Publish("t", "before");
  rig.clock.AdvanceMs(1);
  auto route = rig.HttpRoute("t", "late", ep.Url());
  route.start = config::StartAt::kLatest;
  route.created_at = rig.clock.WallMs();
  ASSERT_TRUE(rig.config->PutConsumer(route).ok());  // the dispatcher is not told yet
  std::string a1 = rig.Publish("t", "after1").event.id;
  std::string a2 = rig.Publish("t", "after2").event.id;
  rig.dispatcher->RoutesChanged();
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 2; }));
  EXPECT_TRUE(WaitFor([&] { return rig.Idle("late", "t"); }));
  EXPECT_EQ(ep.delivered(), 2u);
  std::vector<std::string> got = ep.Delivered();  // an unordered topic: any order
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{a1, a2}));
}

TEST(DispatcherRouting, RemovedRouteStops) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint ep;
  rig.Put(rig.HttpRoute("t", "c", ep.Url()));
  rig.Publish("t", "e1");
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 1; }));
  ASSERT_TRUE(rig.config->DeleteConsumer("t", "c").ok());
  ASSERT_TRUE(rig.dispatcher->RouteRemoved("t", "c").ok());
  EXPECT_FALSE(rig.StatsOf("c", "t").has_value());
  EXPECT_FALSE(rig.logs->positions()->Get("t", "c", 0).has_value());
  rig.Publish("t", "e2");
  rig.Advance(1000);
  EXPECT_FALSE(WaitFor([&] { return ep.count() > 1; }, 0.2));
}

TEST(DispatcherRouting, DisabledRoutePausesAndHoldsThePosition) {
  Rig rig;
  rig.Producer("t", "t", false, 1);
  Endpoint ep;
  auto r = rig.HttpRoute("t", "c", ep.Url());
  rig.Put(r);
  r.enabled = false;
  rig.Put(r);
  for (int i = 0; i < 5; ++i) rig.Publish("t", "e" + std::to_string(i));
  rig.Advance(1000);
  EXPECT_FALSE(WaitFor([&] { return ep.count() > 0; }, 0.2));
  EXPECT_EQ(rig.logs->positions()->Get("t", "c", 0), 0u);
  r.enabled = true;
  rig.Put(r);
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 5; }));
}

// Regression: an event of a disabled route at the head of the ready queue stopped every
// other route of the worker (same consumer, same topic).
TEST(DispatcherRouting, DisabledRouteDoesNotBlockTheConsumersOtherTypes) {
  Rig rig;
  rig.Producer("a", "o", false);
  rig.Producer("b", "o", false);
  Endpoint ep;
  auto ra = rig.HttpRoute("a", "c", ep.Url());
  ra.enabled = false;
  rig.Put(ra);
  rig.Put(rig.HttpRoute("b", "c", ep.Url()));
  for (int i = 0; i < 10; ++i) {
    rig.Publish("a", "e" + std::to_string(i));
    rig.Publish("b", "e" + std::to_string(i));
  }
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 10; }));
  for (const Hit& h : ep.hits()) EXPECT_EQ(h.type, "b");
  ra.enabled = true;
  rig.Put(ra);
  ASSERT_TRUE(WaitFor([&] { return ep.delivered() == 20; }));
}

TEST(DispatcherRouting, ChangedUrlAppliesToTheNextAttempt) {
  Rig rig;
  rig.Producer("t", "t", false);
  Endpoint old_ep([](const Hit&) { return Answer(500); });
  Endpoint new_ep;
  auto r = rig.HttpRoute("t", "c", old_ep.Url());
  rig.Put(r);
  rig.Publish("t", "e1");
  ASSERT_TRUE(WaitFor([&] { return old_ep.count() == 1; }));
  r.url = new_ep.Url();
  rig.Put(r);
  ASSERT_TRUE(rig.AdvanceUntil([&] { return new_ep.delivered() == 1; }, 250, 10'000));
  EXPECT_EQ(new_ep.hits()[0].attempt, 2);
  EXPECT_EQ(old_ep.count(), 1u);
}

}  // namespace
}  // namespace eragon::dispatch::testing

namespace eragon::dispatch::testing {
namespace {

// GET /v1/cluster's `partitions`: every enabled consumer route this node delivers counts
// its topic's partitions; a disabled route and a type kafka route do not.
TEST(DispatcherAdmin, DeliveringPartitionsCountsEnabledRoutesTopicPartitions) {
  Rig rig;
  rig.Producer("a", "ta", true, 4);
  rig.Producer("b", "tb", false, 3);
  EXPECT_EQ(rig.dispatcher->DeliveringPartitions(), 0u);
  rig.Put(rig.PullRoute("a", "c1"));
  rig.Put(rig.PullRoute("b", "c1"));
  rig.Put(rig.PullRoute("a", "c2"));
  EXPECT_EQ(rig.dispatcher->DeliveringPartitions(), 4u + 3u + 4u);
  config::ConsumerRoute off = rig.PullRoute("b", "c3");
  off.enabled = false;
  ASSERT_TRUE(rig.config->PutConsumer(off).ok());
  EXPECT_EQ(rig.dispatcher->DeliveringPartitions(), 11u);
}

}  // namespace
}  // namespace eragon::dispatch::testing
