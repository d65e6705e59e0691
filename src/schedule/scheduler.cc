#include "schedule/scheduler.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/thread_name.h"
#include "schedule/tick_spec.h"

namespace eragon::schedule {

void StampForPut(config::Schedule* s, const std::optional<config::Schedule>& old, int64_t now_ms) {
  s->created_at = old ? old->created_at : now_ms;
  s->updated_at = now_ms;
  int64_t latest = 0;
  if (Result<TickSpec> spec = TickSpec::Parse(s->every, s->cron); spec.ok()) {
    latest = spec->LatestTick(now_ms).value_or(0);
  }
  s->last_tick_ms = std::max(old ? old->last_tick_ms : 0, latest);
}

Scheduler::Scheduler(config::ConfigStore* store, Clock* clock, FireFn fire)
    : store_(store), clock_(clock), fire_(std::move(fire)) {}

Scheduler::~Scheduler() { Stop(); }

TickReport Scheduler::Tick(int64_t now_ms) {
  std::lock_guard lock(tick_mu_);
  TickReport report;
  Result<std::vector<config::Schedule>> schedules = store_->ListSchedules();
  if (!schedules.ok()) {
    report.errors.push_back("listing schedules: " + schedules.status().ToString());
    return report;
  }
  std::set<std::string> names;
  for (const config::Schedule& s : *schedules) {
    names.insert(s.name);
    Result<TickSpec> spec = TickSpec::Parse(s.every, s.cron);
    if (!spec.ok()) {
      report.errors.push_back("schedule '" + s.name + "': " + spec.status().ToString());
      continue;
    }
    std::optional<int64_t> tick = spec->LatestTick(now_ms);
    auto fired = fired_.find(s.name);
    int64_t last = std::max(s.last_tick_ms, fired == fired_.end() ? 0 : fired->second);
    if (!tick || *tick <= last) continue;
    if (Status st = fire_(s, *tick); !st.ok()) {
      report.errors.push_back("schedule '" + s.name + "': not fired, retrying: " + st.ToString());
      continue;
    }
    ++report.fired;
    fired_[s.name] = *tick;
    if (Status st = store_->SetScheduleLastTick(s.name, *tick); !st.ok()) {
      report.errors.push_back("schedule '" + s.name + "': fired tick " + std::to_string(*tick) +
                              " but could not record it: " + st.ToString());
    }
  }
  // Forget deleted schedules (a schedule created again under the name starts afresh).
  std::erase_if(fired_, [&](const auto& kv) { return names.count(kv.first) == 0; });
  return report;
}

void Scheduler::Start(std::chrono::milliseconds interval) {
  thread_ = std::thread([this, interval] {
    SetThreadName("scheduler");
    Loop(interval);
  });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop(std::chrono::milliseconds interval) {
  std::set<std::string> logged;  // errors of the previous Tick, each logged once
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    TickReport report = Tick(clock_->WallMs());
    std::set<std::string> now(report.errors.begin(), report.errors.end());
    for (const std::string& e : now) {
      if (logged.count(e) == 0) fprintf(stderr, "eragond: %s\n", e.c_str());
    }
    logged = std::move(now);
    lock.lock();
    cv_.wait_for(lock, interval, [&] { return stopping_; });
  }
}

}  // namespace eragon::schedule
