// Clock: wall time for timestamps, monotonic time for timeouts and intervals.
// Components take a Clock* so tests can use ManualClock and advance time instead of
// sleeping. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace eragon {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (may jump when the system clock is set).
  virtual int64_t WallMs() = 0;
  // Nanoseconds on a clock that never goes back; only differences are meaningful.
  virtual int64_t MonoNs() = 0;
  int64_t MonoMs() { return MonoNs() / 1'000'000; }

  // The process-wide real clock. Never null; lives for the whole process.
  static Clock* System();
};

// A clock that moves only when told to. Starts at the given wall time and at mono 0.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_ms = 1'700'000'000'000) : wall_ms_(wall_ms) {}
  int64_t WallMs() override { return wall_ms_.load(); }
  int64_t MonoNs() override { return mono_ns_.load(); }
  // Moves both clocks forward.
  void AdvanceMs(int64_t ms) {
    wall_ms_ += ms;
    mono_ns_ += ms * 1'000'000;
  }
  void SetWallMs(int64_t ms) { wall_ms_ = ms; }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> mono_ns_{0};
};

}  // namespace eragon
