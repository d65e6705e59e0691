#include "schedule/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "config/sqlite_config_store.h"
#include "schedule/tick_spec.h"

namespace eragon::schedule {
namespace {

constexpr int64_t kStart = 1'699'999'980'000;  // a whole minute

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = config::OpenSqliteConfigStore(":memory:").value();
    scheduler_ = std::make_unique<Scheduler>(store_.get(), &clock_,
                                             [this](const config::Schedule& s, int64_t tick) {
                                               if (fail_)
                                                 return Status::Unavailable("publish failed");
                                               fired_.emplace_back(s.name, tick);
                                               return Status::Ok();
                                             });
  }

  // Creates a schedule as the API does, at the clock's current time.
  void Put(const std::string& name, const std::string& every, const std::string& cron = "") {
    config::Schedule s;
    s.name = name;
    s.event_type = "t";
    s.entity_id = "e";
    s.data = "{}";
    s.every = every;
    s.cron = cron;
    std::optional<config::Schedule> old = store_->GetSchedule(name).value();
    StampForPut(&s, old, clock_.WallMs());
    ASSERT_TRUE(store_->PutSchedule(s).ok());
  }

  int Tick() {
    TickReport r = scheduler_->Tick(clock_.WallMs());
    return r.fired;
  }

  ManualClock clock_{kStart + 500};
  std::unique_ptr<config::ConfigStore> store_;
  std::unique_ptr<Scheduler> scheduler_;
  std::vector<std::pair<std::string, int64_t>> fired_;
  bool fail_ = false;
};

TEST_F(SchedulerTest, FiresOnTimeExactlyOncePerTick) {
  Put("s", "1m");
  EXPECT_EQ(Tick(), 0);      // created mid-period: the current tick is in the past
  clock_.AdvanceMs(59'000);  // kStart + 59.5 s
  EXPECT_EQ(Tick(), 0);
  clock_.AdvanceMs(499);  // kStart + 59.999 s
  EXPECT_EQ(Tick(), 0);
  clock_.AdvanceMs(1);  // exactly the tick
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(Tick(), 0);
  clock_.AdvanceMs(200);
  EXPECT_EQ(Tick(), 0);
  ASSERT_EQ(fired_.size(), 1u);
  EXPECT_EQ(fired_[0], std::make_pair(std::string("s"), kStart + 60'000));
  EXPECT_EQ(store_->GetSchedule("s").value()->last_tick_ms, kStart + 60'000);
  clock_.AdvanceMs(60'000);
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(fired_.back().second, kStart + 120'000);
}

TEST_F(SchedulerTest, CronFiresOnTime) {
  Put("c", "", "*/5 * * * *");
  const int64_t next =
      schedule::TickSpec::Parse("", "*/5 * * * *").value().NextTick(clock_.WallMs()).value();
  clock_.SetWallMs(next - 1);
  EXPECT_EQ(Tick(), 0);
  clock_.SetWallMs(next);
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(fired_.back().second, next);
}

TEST_F(SchedulerTest, NewScheduleDoesNotFireForPastTicks) {
  clock_.SetWallMs(kStart + 30'000);
  Put("s", "1s");
  EXPECT_EQ(Tick(), 0);
  EXPECT_TRUE(fired_.empty());
  clock_.AdvanceMs(1'000);
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(fired_.back().second, kStart + 31'000);
}

TEST_F(SchedulerTest, MissedTicksCoalesceIntoTheLatest) {
  Put("s", "1s");
  clock_.AdvanceMs(3'600'000);  // an hour without a Tick (e.g. the server was down)
  EXPECT_EQ(Tick(), 1);
  ASSERT_EQ(fired_.size(), 1u);
  EXPECT_EQ(fired_[0].second, kStart + 3'600'000);
  EXPECT_EQ(Tick(), 0);
}

TEST_F(SchedulerTest, AFailedPublishIsRetriedOnTheNextTick) {
  Put("s", "1s");
  clock_.AdvanceMs(1'000);
  fail_ = true;
  TickReport r = scheduler_->Tick(clock_.WallMs());
  EXPECT_EQ(r.fired, 0);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("publish failed"), std::string::npos);
  EXPECT_EQ(store_->GetSchedule("s").value()->last_tick_ms, kStart);
  fail_ = false;
  clock_.AdvanceMs(200);
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(fired_.back().second, kStart + 1'000);
}

TEST_F(SchedulerTest, ExactlyOnceAcrossARestart) {
  Put("s", "1s");
  clock_.AdvanceMs(1'000);
  EXPECT_EQ(Tick(), 1);
  // A new Scheduler on the same store (a restarted server) does not fire the tick again.
  scheduler_ = std::make_unique<Scheduler>(store_.get(), &clock_,
                                           [this](const config::Schedule& s, int64_t tick) {
                                             fired_.emplace_back(s.name, tick);
                                             return Status::Ok();
                                           });
  EXPECT_EQ(Tick(), 0);
  clock_.AdvanceMs(5'000);  // down for five ticks: one event at the next start
  EXPECT_EQ(Tick(), 1);
  ASSERT_EQ(fired_.size(), 2u);
  EXPECT_EQ(fired_[1].second, kStart + 6'000);
}

TEST_F(SchedulerTest, ReplacingAScheduleFiresFromItsNextTickOn) {
  Put("s", "1d");
  clock_.AdvanceMs(3'600'000);
  Put("s", "1m");  // the latest 1m tick is now in the past: it does not fire
  EXPECT_EQ(Tick(), 0);
  clock_.AdvanceMs(60'000);
  EXPECT_EQ(Tick(), 1);
}

TEST_F(SchedulerTest, SchedulesAreIndependent) {
  Put("a", "1s");
  Put("b", "2s");
  clock_.AdvanceMs(2'000);
  EXPECT_EQ(Tick(), 2);
  clock_.AdvanceMs(1'000);
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(fired_.back().first, "a");
  ASSERT_TRUE(store_->DeleteSchedule("a").ok());
  clock_.AdvanceMs(1'000);
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(fired_.back().first, "b");
}

TEST_F(SchedulerTest, ThreadTicksWithTheClockAndStops) {
  Put("s", "1s");
  clock_.AdvanceMs(1'000);
  std::atomic<int> fires{0};
  Scheduler threaded(store_.get(), &clock_, [&](const config::Schedule&, int64_t) {
    ++fires;
    return Status::Ok();
  });
  threaded.Start(std::chrono::milliseconds(5));
  for (int i = 0; i < 2000 && fires.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  threaded.Stop();
  EXPECT_EQ(fires.load(), 1);
}

// catch_up_ms (a cluster's): missed ticks within the window fire late, oldest first, and
// older ones coalesce; a failed one is retried before the later ones.
TEST_F(SchedulerTest, MissedTicksWithinTheCatchUpWindowFireLateInOrder) {
  Put("s", "1s");  // last_tick_ms = kStart
  std::vector<int64_t> ticks;
  Scheduler catching_up(store_.get(), &clock_,
                        [&](const config::Schedule&, int64_t tick) {
                          if (fail_) return Status::Unavailable("publish failed");
                          ticks.push_back(tick);
                          return Status::Ok();
                        },
                        {nullptr, 3'000});
  clock_.SetWallMs(kStart + 10'500);
  EXPECT_EQ(catching_up.Tick(clock_.WallMs()).fired, 3);
  EXPECT_EQ(ticks, (std::vector<int64_t>{kStart + 8'000, kStart + 9'000, kStart + 10'000}));
  fail_ = true;
  clock_.SetWallMs(kStart + 12'100);
  EXPECT_EQ(catching_up.Tick(clock_.WallMs()).fired, 0);
  fail_ = false;
  EXPECT_EQ(catching_up.Tick(clock_.WallMs()).fired, 2);
  EXPECT_EQ(ticks.back(), kStart + 12'000);
  EXPECT_EQ(ticks[ticks.size() - 2], kStart + 11'000);
  EXPECT_EQ(store_->GetSchedule("s").value()->last_tick_ms, kStart + 12'000);
}

}  // namespace
}  // namespace eragon::schedule
