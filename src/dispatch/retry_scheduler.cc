#include "dispatch/retry_scheduler.h"

#include <algorithm>

#include "dispatch/retry_policy.h"

namespace eragon::dispatch {

int64_t RetryScheduler::DelayMs(const config::RetryPolicy* policy, uint32_t attempts,
                                std::optional<int64_t> retry_after_ms) {
  return policy ? RetryDelayMs(*policy, attempts, retry_after_ms, rng_) : 1000;
}

bool RetryScheduler::CountFailure(const SlotKey& key, const std::string& entity) {
  streak_entities_.insert(entity);
  streak_slots_.push_back(key);
  return streak_entities_.size() >= kCircuitEntities;
}

void RetryScheduler::EndStreak() {
  streak_entities_.clear();
  streak_slots_.clear();
}

void RetryScheduler::OpenCircuit(int64_t now_ms, int64_t initial_backoff_ms,
                                 std::vector<SlotKey>* streak) {
  open_ = true;
  streak->swap(streak_slots_);
  EndStreak();
  probe_backoff_ms_ = std::max<int64_t>(1, initial_backoff_ms);
  probe_at_ = now_ms + probe_backoff_ms_;
}

void RetryScheduler::ProbeSent(uint64_t tag) {
  probe_in_flight_ = true;
  probe_tag_ = tag;
}

void RetryScheduler::Answered(uint64_t tag, bool up) {
  if (probe_in_flight_ && tag == probe_tag_) probe_in_flight_ = false;
  if (up) open_ = false;
}

void RetryScheduler::ProbeFailed(int64_t now_ms) {
  probe_backoff_ms_ = std::min(probe_backoff_ms_ * 2, kMaxProbeBackoffMs);
  probe_at_ = now_ms + probe_backoff_ms_;
}

int64_t RetryScheduler::ProbeDue(bool have_ready) const {
  return open_ && !probe_in_flight_ && have_ready ? probe_at_ : INT64_MAX;
}

void RetryScheduler::Clear() {
  timers_.Clear();
  EndStreak();
}

}  // namespace eragon::dispatch
