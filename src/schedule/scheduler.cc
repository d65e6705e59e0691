#include "schedule/scheduler.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/thread_name.h"

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

Scheduler::Scheduler(config::ConfigStore* store, Clock* clock, FireFn fire,
                     SchedulerOptions options)
    : store_(store), clock_(clock), fire_(std::move(fire)), options_(options) {}

Scheduler::~Scheduler() { Stop(); }

TickReport Scheduler::Tick(int64_t now_ms) {
  std::lock_guard lock(tick_mu_);
  TickReport report;
  if (options_.lease != nullptr) {
    Result<bool> held = options_.lease->Hold();
    if (!held.ok()) {
      report.errors.push_back("schedules paused: " + held.status().ToString());
      return report;
    }
    if (!*held) return report;  // another node fires
  }
  Result<std::vector<config::Schedule>> schedules = store_->ListSchedules();
  if (!schedules.ok()) {
    report.errors.push_back("listing schedules: " + schedules.status().ToString());
    return report;
  }
  std::set<std::string> names;
  for (const config::Schedule& s : *schedules) names.insert(s.name);
  // Forget deleted schedules (a schedule created again under the name starts afresh).
  std::erase_if(fired_, [&](const auto& kv) { return names.count(kv.first) == 0; });
  for (const config::Schedule& s : *schedules) {
    if (!FireDue(s, now_ms, &report)) break;
  }
  return report;
}

int64_t Scheduler::NextToFire(const TickSpec& spec, int64_t last, int64_t latest,
                              int64_t now_ms) const {
  if (options_.catch_up_ms <= 0) return latest;
  std::optional<int64_t> next = spec.NextTick(std::max(last, now_ms - options_.catch_up_ms - 1));
  return next && *next < latest ? *next : latest;
}

bool Scheduler::FireDue(const config::Schedule& s, int64_t now_ms, TickReport* report) {
  Result<TickSpec> spec = TickSpec::Parse(s.every, s.cron);
  if (!spec.ok()) {
    report->errors.push_back("schedule '" + s.name + "': " + spec.status().ToString());
    return true;
  }
  const std::optional<int64_t> latest = spec->LatestTick(now_ms);
  int64_t& fired = fired_[s.name];
  int64_t last = std::max(s.last_tick_ms, fired);
  while (latest && *latest > last) {
    const int64_t tick = NextToFire(*spec, last, *latest, now_ms);
    if (options_.lease != nullptr) {
      // The shared store's view, under the lease: another leader may have fired since.
      Result<int64_t> shared = options_.lease->SharedLastTick(s.name);
      if (shared.status().code() == Code::kNotFound) return true;  // deleted meanwhile
      if (!shared.ok()) {
        report->errors.push_back("schedules paused: " + shared.status().ToString());
        return false;
      }
      if (*shared >= tick) {
        last = fired = std::max(fired, *shared);
        continue;
      }
    }
    if (Status st = fire_(s, tick); !st.ok()) {
      report->errors.push_back("schedule '" + s.name + "': not fired, retrying: " + st.ToString());
      return true;
    }
    ++report->fired;
    last = fired = tick;
    if (Status st = store_->SetScheduleLastTick(s.name, tick); !st.ok()) {
      report->errors.push_back("schedule '" + s.name + "': fired tick " + std::to_string(tick) +
                               " but could not record it: " + st.ToString());
    }
  }
  return true;
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
