// What the dispatcher tells its DeliveryObserver for platform events and auto-disable
// (worker_health.cc): dead letters, circuit changes, and a route failing for
// disable_after_ms asked to be disabled once, from the start of its failing streak.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "dispatch/dispatch_test_rig.h"

namespace eragon::dispatch::testing {
namespace {

using namespace std::chrono_literals;

// Records the observer's platform calls (they arrive on dispatcher threads).
struct Heard {
  std::mutex mu;
  std::vector<std::string> dead;  // event ids
  std::vector<bool> circuit;      // true = opened
  struct Disable {
    std::string event_type, consumer, reason;
    int64_t since = 0;
  };
  std::vector<Disable> disables;

  void Install(Rig& rig) {
    rig.observer.dead_lettered = [this](const std::string&, const DeadLetter& d) {
      std::lock_guard lk(mu);
      dead.push_back(d.event.id);
    };
    rig.observer.circuit = [this](const std::string&, const std::string&, bool open, int64_t,
                                  const std::string&) {
      std::lock_guard lk(mu);
      circuit.push_back(open);
    };
    rig.observer.disable = [this](const std::string& type, const std::string& consumer,
                                  const std::string& reason, int64_t since) {
      std::lock_guard lk(mu);
      disables.push_back({type, consumer, reason, since});
    };
    rig.Close();  // the rig's constructor opened it: reopen with the observer
    rig.Open();
  }
  size_t Disables() {
    std::lock_guard lk(mu);
    return disables.size();
  }
};

TEST(DispatcherHealth, RouteFailingForDisableAfterMsAsksOnceWithTheStreaksStart) {
  Rig rig;
  Heard heard;
  heard.Install(rig);
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit&) { return Answer(500); });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {1000, 1, 1, {}};
  route.retry.schedule_ms.assign(999, 1000);
  route.disable_after_ms = 5000;
  rig.Put(route);
  const int64_t first = rig.clock.WallMs();
  rig.Publish("t", "e1");
  ASSERT_TRUE(WaitFor([&] { return ep.count() == 1; }));
  // The worker records the first failure (state retrying) before the clock moves on: the
  // endpoint's answer may still be on its way (slow under TSan).
  ASSERT_TRUE(WaitFor([&] {
    for (uint32_t p = 0; p < 64; ++p) {
      if (rig.store->GetState("c", "t", p, 0)) return true;
    }
    return false;
  }));
  ASSERT_TRUE(rig.AdvanceUntil([&] { return heard.Disables() == 1; }, 1000, 10'000));
  EXPECT_GE(rig.clock.WallMs() - first, 5000);
  rig.AdvanceUntil([] { return false; }, 1000, 5000);  // more failures: not asked again
  std::lock_guard lk(heard.mu);
  ASSERT_EQ(heard.disables.size(), 1u);
  EXPECT_EQ(heard.disables[0].event_type, "t");
  EXPECT_EQ(heard.disables[0].consumer, "c");
  EXPECT_EQ(heard.disables[0].since, first);
  EXPECT_NE(heard.disables[0].reason.find("HTTP 500"), std::string::npos)
      << heard.disables[0].reason;
}

// "Every attempt has failed": one event failing forever does not disable a route whose
// other events keep succeeding; once they stop, the streak runs from the last success.
TEST(DispatcherHealth, ASuccessEndsTheFailingStreak) {
  Rig rig;
  Heard heard;
  heard.Install(rig);
  rig.Producer("t", "t", false);
  Endpoint ep([](const Hit& h) { return h.entity == "bad" ? Answer(500) : Answer(200); });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {1000, 1, 1, {}};
  route.retry.schedule_ms.assign(999, 500);
  route.disable_after_ms = 3000;
  rig.Put(route);
  rig.Publish("t", "bad");
  for (int i = 0; i < 10; ++i) {  // 10 s of failures of "bad", a success every second
    rig.Publish("t", "good");
    ASSERT_TRUE(WaitFor([&] { return ep.delivered() == static_cast<size_t>(i + 1); }));
    rig.Advance(500);
    WaitFor([] { return false; }, 0.02);
    rig.Advance(500);
    WaitFor([] { return false; }, 0.02);
  }
  EXPECT_EQ(heard.Disables(), 0u);
  ASSERT_TRUE(rig.AdvanceUntil([&] { return heard.Disables() == 1; }, 500, 10'000));
}

TEST(DispatcherHealth, DeadLettersAndCircuitChangesAreReportedOnce) {
  Rig rig;
  Heard heard;
  heard.Install(rig);
  rig.Producer("t", "t", false);
  std::atomic<bool> up{false};
  Endpoint ep([&](const Hit& h) {
    if (h.entity == "poison") return Answer(422);
    return up ? Answer(200) : Answer(503);
  });
  auto route = rig.HttpRoute("t", "c", ep.Url());
  route.retry = {50, 100, 1000};
  rig.Put(route);
  rig.PublishMany(10, [](size_t i) { return std::make_pair("t", "e" + std::to_string(i)); });
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lk(heard.mu);
    return !heard.circuit.empty();
  }));
  up = true;
  rig.Publish("t", "poison", "poison-1");
  ASSERT_TRUE(rig.AdvanceUntil([&] { return ep.delivered() == 10; }, 1000, 120'000));
  ASSERT_TRUE(WaitFor([&] { return rig.Dead("c", "t").size() == 1; }));
  std::lock_guard lk(heard.mu);
  EXPECT_EQ(heard.circuit, (std::vector<bool>{true, false}));
  EXPECT_EQ(heard.dead, (std::vector<std::string>{"poison-1"}));
}

}  // namespace
}  // namespace eragon::dispatch::testing
