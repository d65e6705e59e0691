// How the dispatcher judges a push answer and how long it waits before the next attempt
// (API.md "HTTP push", "Retries"). Pure functions: no I/O, no clock, thread-safe; the RNG
// is a parameter so tests are deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <random>

#include "config/config_store.h"

namespace eragon::dispatch {

// API.md "HTTP push": 2xx delivered; 429, 5xx and 0 (no answer: timeout, connection
// failure) retried; 3xx, other 4xx and anything else not retried (dead).
enum class AnswerClass { kDelivered, kRetryable, kDead };
AnswerClass ClassifyAnswer(int status);

// How long to wait after failed attempt number `attempt` (1 = the first) before the next:
// full jitter, uniform(0, min(max_backoff_ms, initial_backoff_ms * 2^(attempt-1))) drawn
// from `rng`; with a Retry-After, max(that, retry_after_ms). Never above max_backoff_ms,
// never negative. With a `schedule_ms`: its delay number `attempt` (the last one for
// later attempts), without jitter, raised to the Retry-After (itself capped at
// max_backoff_ms); the schedule's own delays are not capped.
int64_t RetryDelayMs(const config::RetryPolicy& policy, uint32_t attempt,
                     std::optional<int64_t> retry_after_ms, std::mt19937_64& rng);

}  // namespace eragon::dispatch
