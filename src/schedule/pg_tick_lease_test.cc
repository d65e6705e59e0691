// The schedule lease on a real PostgreSQL (the ctest fixture `postgres`, a database per
// test): two contenders, exactly one holds it; the holder's session killed
// (pg_terminate_backend) or closed hands it to the other; the holder reads last_tick_ms
// from PostgreSQL, not from a snapshot; and three Schedulers on one database ("nodes",
// each with its own store and lease) fire each tick once, the next leader catching up
// the ticks missed while the lease changed hands.
#include "schedule/pg_tick_lease.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "config/postgres/pg_config_store.h"
#include "schedule/scheduler.h"
#include "testing/test_postgres.h"

namespace eragon::schedule {
namespace {

using eragon::testing::PgQueryValue;
using eragon::testing::TestDatabase;
using eragon::testing::TestPostgresUrl;

constexpr int64_t kStart = 1'699'999'980'000;  // a whole minute

// Polls `done` every 20 ms for up to `ms`.
template <typename Pred>
bool Within(int64_t ms, Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class PgTickLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestPostgresUrl().empty())
        << "no PostgreSQL: run through ctest (fixture postgres)";
    db_ = std::make_unique<TestDatabase>(TestPostgresUrl());
    ASSERT_TRUE(db_->ok()) << db_->error();
    Result<std::unique_ptr<config::ConfigStore>> store = config::OpenPgConfigStore(db_->url());
    ASSERT_TRUE(store.ok()) << store.status().ToString();  // migrated: the schedules table
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
  }

  std::unique_ptr<PgTickLease> NewLease() { return std::make_unique<PgTickLease>(db_->url(), 0); }
  // Whether `lease` holds now (false on an error).
  static bool Holds(PgTickLease& lease) {
    Result<bool> held = lease.Hold();
    return held.ok() && *held;
  }
  void PutSchedule(config::ConfigStore* store, const std::string& name, int64_t now_ms) {
    config::Schedule s;
    s.name = name;
    s.event_type = "t";
    s.entity_id = "e";
    s.data = "{}";
    s.every = "1s";
    StampForPut(&s, std::nullopt, now_ms);
    ASSERT_TRUE(store->PutSchedule(s).ok());
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<config::ConfigStore> store_;
};

TEST_F(PgTickLeaseTest, OfTwoContendersExactlyOneHoldsTheLease) {
  auto a = NewLease();
  auto b = NewLease();
  ASSERT_TRUE(Holds(*a));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Holds(*a));
    Result<bool> other = b->Hold();
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    EXPECT_FALSE(*other);
  }
  EXPECT_EQ(b->SharedLastTick("s").status().code(), Code::kUnavailable);
}

TEST_F(PgTickLeaseTest, TheHoldersSessionKilledHandsTheLeaseToTheOther) {
  auto a = NewLease();
  auto b = NewLease();
  ASSERT_TRUE(Holds(*a));
  ASSERT_FALSE(Holds(*b));
  ASSERT_EQ(PgQueryValue(db_->url(),
                         "SELECT pg_terminate_backend(" + std::to_string(a->backend_pid()) + ")")
                .value(),
            "t");
  const auto killed = std::chrono::steady_clock::now();
  EXPECT_TRUE(Within(2000, [&] { return Holds(*b); }));
  std::cout << "the other contender held the lease "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - killed)
                   .count()
            << " ms after the holder's session was killed\n";
  // The old holder finds out at its next read under the lease, and does not get it back.
  EXPECT_EQ(a->SharedLastTick("s").status().code(), Code::kUnavailable);
  EXPECT_FALSE(Holds(*a));
  EXPECT_TRUE(Holds(*b));
}

TEST_F(PgTickLeaseTest, TheHoldersConnectionClosedHandsTheLeaseToTheOther) {
  auto a = NewLease();
  auto b = NewLease();
  ASSERT_TRUE(Holds(*a));
  ASSERT_FALSE(Holds(*b));
  a.reset();
  EXPECT_TRUE(Within(2000, [&] { return Holds(*b); }));
}

TEST_F(PgTickLeaseTest, TheHolderReadsLastTickFromPostgresNotFromASnapshot) {
  PutSchedule(store_.get(), "s", kStart + 500);
  auto a = NewLease();
  ASSERT_TRUE(Holds(*a));
  EXPECT_EQ(a->SharedLastTick("s").value(), kStart);
  ASSERT_TRUE(
      PgQueryValue(db_->url(), "UPDATE schedules SET last_tick_ms = 42 WHERE name = 's'").ok());
  EXPECT_EQ(a->SharedLastTick("s").value(), 42);
  EXPECT_EQ(a->SharedLastTick("gone").status().code(), Code::kNotFound);
  EXPECT_TRUE(Holds(*a));  // a missing schedule does not cost the lease
}

TEST_F(PgTickLeaseTest, AnUnreachableServerIsUnavailableAndPausesTheScheduler) {
  PgTickLease lease("postgresql://eragon:pw@127.0.0.1:1/eragon", 0);
  Result<bool> held = lease.Hold();
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.status().code(), Code::kUnavailable);
  ManualClock clock(kStart + 500);
  PutSchedule(store_.get(), "s", kStart - 5000);
  int fired = 0;
  Scheduler scheduler(store_.get(), &clock,
                      [&](const config::Schedule&, int64_t) {
                        ++fired;
                        return Status::Ok();
                      },
                      {&lease, 10'000});
  TickReport report = scheduler.Tick(kStart + 500);
  EXPECT_EQ(fired, 0);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find("schedules paused"), std::string::npos) << report.errors[0];
}

// One "node": its own store (snapshot), lease and Scheduler on the shared database.
struct Node {
  std::unique_ptr<config::ConfigStore> store;
  std::unique_ptr<PgTickLease> lease;
  std::unique_ptr<Scheduler> scheduler;
};

TEST_F(PgTickLeaseTest, ThreeNodesFireEachTickOnceAndTheNextLeaderCatchesUp) {
  ManualClock clock(kStart + 500);
  std::map<int64_t, std::vector<int>> fired;  // tick -> the nodes that fired it
  std::vector<Node> nodes(3);
  for (int n = 0; n < 3; ++n) {
    nodes[n].store = config::OpenPgConfigStore(db_->url()).value();
    nodes[n].lease = NewLease();
    nodes[n].scheduler = std::make_unique<Scheduler>(
        nodes[n].store.get(), &clock,
        [&fired, n](const config::Schedule&, int64_t tick) {
          fired[tick].push_back(n);
          return Status::Ok();
        },
        SchedulerOptions{nodes[n].lease.get(), 10'000});
  }
  PutSchedule(store_.get(), "s", kStart + 500);
  for (Node& node : nodes) {
    ASSERT_TRUE(Within(2000, [&] { return node.store->GetSchedule("s").value().has_value(); }));
  }
  auto run = [&](int64_t until) {  // every node ticks every 200 ms of the manual clock
    for (int64_t t = clock.WallMs(); t <= until; t += 200) {
      clock.SetWallMs(t);
      for (Node& node : nodes) node.scheduler->Tick(t);
    }
  };
  run(kStart + 10'500);
  int leader = -1;
  for (int n = 0; n < 3; ++n) {
    if (nodes[n].lease->backend_pid() != 0 && Holds(*nodes[n].lease)) leader = n;
  }
  ASSERT_GE(leader, 0);
  // The leader dies between two ticks; the lease changes hands 3 s (of the manual clock)
  // later; meanwhile nobody ticks.
  ASSERT_TRUE(PgQueryValue(db_->url(), "SELECT pg_terminate_backend(" +
                                           std::to_string(nodes[leader].lease->backend_pid()) + ")")
                  .ok());
  nodes[leader].scheduler.reset();
  nodes[leader].lease.reset();
  nodes.erase(nodes.begin() + leader);
  clock.SetWallMs(kStart + 13'700);
  ASSERT_TRUE(Within(2000, [&] { return Holds(*nodes[0].lease) || Holds(*nodes[1].lease); }));
  run(kStart + 20'500);

  std::vector<int64_t> ticks;
  for (const auto& [tick, by] : fired) {
    ticks.push_back(tick);
    EXPECT_EQ(by.size(), 1u) << "tick " << tick << " fired " << by.size() << " times";
  }
  std::vector<int64_t> want;
  for (int64_t t = kStart + 1000; t <= kStart + 20'000; t += 1000) want.push_back(t);
  EXPECT_EQ(ticks, want) << "every tick of the 20 s once, none lost in the takeover";
  EXPECT_EQ(PgQueryValue(db_->url(), "SELECT last_tick_ms FROM schedules WHERE name = 's'").value(),
            std::to_string(kStart + 20'000));
}

}  // namespace
}  // namespace eragon::schedule
