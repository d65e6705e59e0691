#include "dispatch/retry_policy.h"

#include <algorithm>

namespace eragon::dispatch {

AnswerClass ClassifyAnswer(int status) {
  if (status >= 200 && status <= 299) return AnswerClass::kDelivered;
  if (status == 0 || status == 429 || (status >= 500 && status <= 599)) {
    return AnswerClass::kRetryable;
  }
  return AnswerClass::kDead;
}

int64_t RetryDelayMs(const config::RetryPolicy& policy, uint32_t attempt,
                     std::optional<int64_t> retry_after_ms, std::mt19937_64& rng) {
  const int64_t max_ms = std::max<int64_t>(0, policy.max_backoff_ms);
  if (!policy.schedule_ms.empty()) {  // explicit delays: no jitter, the last one repeats
    const size_t i = std::min<size_t>(attempt > 0 ? attempt - 1 : 0, policy.schedule_ms.size() - 1);
    int64_t delay = std::max<int64_t>(0, policy.schedule_ms[i]);
    if (retry_after_ms) delay = std::max(delay, std::min(*retry_after_ms, max_ms));
    return delay;
  }
  const int64_t initial = std::clamp<int64_t>(policy.initial_backoff_ms, 0, max_ms);
  const uint32_t shift = attempt > 0 ? attempt - 1 : 0;
  // initial * 2^shift, saturating at max_ms without overflowing.
  int64_t ceiling = max_ms;
  if (shift < 62 && initial <= (max_ms >> shift)) ceiling = initial << shift;
  int64_t delay = std::uniform_int_distribution<int64_t>(0, ceiling)(rng);
  if (retry_after_ms) delay = std::max(delay, std::min(*retry_after_ms, max_ms));
  return std::min(delay, max_ms);
}

}  // namespace eragon::dispatch
