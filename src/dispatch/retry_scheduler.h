// RetryScheduler: when a ConsumerWorker's failed pushes go again, and its circuit breaker.
//
// Owns: the retry timers (slot, tag) by due time; the retry delays (retry_policy.h: full
// jitter from its own RNG, Retry-After); the circuit: the streak of retryable failures on
// different entities with no success in between, whether the circuit is open, and its
// one probe (in flight or not, its tag, when the next may go, its backoff).
//
// Invariants:
//  - kCircuitEntities different entities failing in a row open the circuit; OpenCircuit
//    hands the streak's slots to the caller (who refunds their attempts) and starts the
//    probe backoff at the route's initial_backoff_ms; each failed probe doubles it, up to
//    kMaxProbeBackoffMs.
//  - At most one probe is in flight; it is known by its tag, not its slot (the slot may be
//    gone after a replay: its answer must still free the probe).
//  - Any 2xx closes the circuit; a success or a non-retryable answer ends the streak.
//
// A plain object: no lock, no I/O; time is passed in. The worker calls it under its mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "config/config_store.h"
#include "dispatch/deadline_queue.h"
#include "dispatch/delivery_window.h"

namespace eragon::dispatch {

inline constexpr size_t kCircuitEntities = 5;
inline constexpr int64_t kMaxProbeBackoffMs = 60'000;

class RetryScheduler {
 public:
  explicit RetryScheduler(uint64_t seed) : rng_(seed) {}

  // ---- timers
  // How long after failed attempt `attempts` the next may go: RetryDelayMs with this
  // scheduler's RNG, or 1 s without a policy (the route is gone).
  int64_t DelayMs(const config::RetryPolicy* policy, uint32_t attempts,
                  std::optional<int64_t> retry_after_ms);
  void Wait(const SlotKey& key, uint64_t tag, int64_t due_ms) { timers_.Add(due_ms, key, tag); }
  bool PopDue(int64_t now_ms, SlotKey* key, uint64_t* tag) {
    return timers_.PopDue(now_ms, key, tag);
  }
  int64_t NextTimer() const { return timers_.Next(); }

  // ---- circuit
  bool circuit_open() const { return open_; }
  // A counted attempt of `key` (entity `entity`) failed retryably while the circuit was
  // closed. True when this failure opens the circuit (call OpenCircuit).
  bool CountFailure(const SlotKey& key, const std::string& entity);
  // A success or a non-retryable answer: the endpoint is up, the streak ends.
  void EndStreak();
  // Opens the circuit at now_ms; *streak receives the slots whose attempts the caller
  // refunds. The first probe may go after initial_backoff_ms (at least 1 ms).
  void OpenCircuit(int64_t now_ms, int64_t initial_backoff_ms, std::vector<SlotKey>* streak);
  void CloseCircuit() { open_ = false; }

  // ---- probe (only while open)
  bool MayProbe(int64_t now_ms) const { return !probe_in_flight_ && now_ms >= probe_at_; }
  void ProbeSent(uint64_t tag);
  void ProbeNotSent() { probe_in_flight_ = false; }  // it could not be built: dead at once
  // Every push answer: frees the probe when `tag` is its tag; a 2xx (`up`) closes the
  // circuit.
  void Answered(uint64_t tag, bool up);
  // The probe got a retryable answer: the next waits twice as long (up to 60 s).
  void ProbeFailed(int64_t now_ms);
  // When the worker wants to be pumped for the next probe: only with an event to probe
  // with (`have_ready`), else INT64_MAX (a due probe with an empty queue would have the
  // loop pump without pause).
  int64_t ProbeDue(bool have_ready) const;

  // Replay or seek: timers and the streak go; the circuit and its probe stay.
  void Clear();

 private:
  DeadlineQueue timers_;
  std::mt19937_64 rng_;
  bool open_ = false;
  bool probe_in_flight_ = false;
  uint64_t probe_tag_ = 0;
  int64_t probe_at_ = 0;
  int64_t probe_backoff_ms_ = 0;
  std::set<std::string> streak_entities_;
  std::vector<SlotKey> streak_slots_;
};

}  // namespace eragon::dispatch
