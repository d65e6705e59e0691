// Scheduler: fires each schedule's ticks (API.md "Schedules").
//
// On every Tick(now_ms) it reads the schedules from the config store and, for each,
// computes the latest tick at or before now. When that tick is later than the schedule's
// last fired tick, it fires ONLY that tick (ticks missed meanwhile, e.g. while no server
// ran, coalesce into it) and, once the fire callback succeeded, records it with
// ConfigStore::SetScheduleLastTick. A failed fire is retried on the next Tick.
//
// Exactly once: the fire callback publishes with the deterministic id
// ScheduleEventId(install secret, name, tick) (unpredictable without the secret, the same
// on every start) and treats the publish dedup's "duplicate" as success, so a
// tick fired by another node, or fired before a crash that lost the last_tick_ms update,
// is not stored twice. The store's last_tick_ms only saves work.
//
// Cluster mode (SchedulerOptions::lease): only the node holding the lease fires; before
// each fire it reads the schedule's last fired tick from the shared store under the lease
// (its own snapshot may be stale after a change of leader), and with catch_up_ms it fires
// the ticks missed within that window (e.g. while the lease changed hands) late, in order.
//
// Thread-safe: Tick calls are serialised. Start/Stop run Tick on a thread of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config_store.h"
#include "eragon/clock.h"
#include "eragon/status.h"
#include "schedule/tick_lease.h"
#include "schedule/tick_spec.h"

namespace eragon::schedule {

// Publishes `schedule`'s event for `tick_ms`. Ok when the event is stored (or was
// already: a duplicate); any error means "not fired, try again later".
using FireFn = std::function<Status(const config::Schedule& schedule, int64_t tick_ms)>;

struct TickReport {
  int fired = 0;
  // One line per schedule that could not fire (or not be read) in this Tick.
  std::vector<std::string> errors;
};

// Sets what a PUT stores besides the body: created_at (kept from `old`), updated_at = now,
// and last_tick_ms = the latest tick at or before now (never lower than old's), so a new
// or changed schedule fires from its next tick on, never for ticks before the PUT.
// REQUIRES: `s` passed ParseSchedule.
void StampForPut(config::Schedule* s, const std::optional<config::Schedule>& old, int64_t now_ms);

struct SchedulerOptions {
  // Cluster mode: fire only while holding this lease (borrowed; outlives the Scheduler).
  // Null: a single node, which always fires.
  TickLease* lease = nullptr;
  // Ticks that fell due at most this long before now and were not fired are fired late,
  // oldest first; older ones coalesce into the latest. 0: only the latest tick fires.
  int64_t catch_up_ms = 0;
};

class Scheduler {
 public:
  // `store` and `clock` are borrowed and must outlive the Scheduler; `clock` is used only
  // by the thread that Start runs.
  Scheduler(config::ConfigStore* store, Clock* clock, FireFn fire, SchedulerOptions options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Fires every due tick once, as described above. Never throws; errors are reported.
  TickReport Tick(int64_t now_ms);

  // Calls Tick(clock->WallMs()) every `interval` on a new thread, logging errors to stderr
  // (each distinct message once until it changes). Stop() wakes and joins it; a Tick in
  // progress finishes first. Start at most once.
  void Start(std::chrono::milliseconds interval);
  void Stop();

 private:
  void Loop(std::chrono::milliseconds interval);
  // Fires `s`'s due ticks. False when the lease was lost (nothing more fires this Tick).
  bool FireDue(const config::Schedule& s, int64_t now_ms, TickReport* report);
  // The next tick to fire after `last`, up to `latest`, as catch_up_ms allows.
  int64_t NextToFire(const TickSpec& spec, int64_t last, int64_t latest, int64_t now_ms) const;

  config::ConfigStore* store_;
  Clock* clock_;
  FireFn fire_;
  const SchedulerOptions options_;

  std::mutex tick_mu_;  // serialises Tick
  // Ticks fired by this process, in case recording one in the store failed. Guarded by
  // tick_mu_.
  std::map<std::string, int64_t> fired_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace eragon::schedule
