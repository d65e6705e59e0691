// Backoff for the consumer's retries while eragond is unreachable: each delay is drawn
// uniformly from [ceiling/2, ceiling], the ceiling starting at `initial_ms` and doubling
// up to `max_ms`; Reset after a success. Not thread-safe (one per thread).
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace eragon::sdk {

class Backoff {
 public:
  Backoff(int64_t initial_ms, int64_t max_ms)
      : initial_ms_(std::max<int64_t>(1, initial_ms)),
        max_ms_(std::max(initial_ms_, max_ms)),
        ceiling_(initial_ms_),
        rng_(std::random_device{}()) {}

  int64_t NextMs() {
    int64_t d = std::uniform_int_distribution<int64_t>(ceiling_ / 2, ceiling_)(rng_);
    ceiling_ = std::min(max_ms_, ceiling_ * 2);
    return d;
  }
  void Reset() { ceiling_ = initial_ms_; }

 private:
  int64_t initial_ms_;
  int64_t max_ms_;
  int64_t ceiling_;
  std::mt19937_64 rng_;
};

}  // namespace eragon::sdk
