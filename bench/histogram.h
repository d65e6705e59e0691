// LatencyHistogram: a log-linear bucketed histogram in the manner of HdrHistogram.
// Values (nanoseconds here, but any unsigned unit) below 128 are exact; above, each power
// of two is split into 64 equal buckets, so a reported value is within 1/64 (1.6 %) of
// the true one. Fixed size (~30 KiB), no allocation when recording. Not thread-safe:
// give each thread or connection its own and Merge() at the end.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace eragon::bench {

class LatencyHistogram {
 public:
  void Record(uint64_t value) {
    ++counts_[Index(value)];
    ++count_;
    sum_ += value;
    max_ = std::max(max_, value);
    min_ = std::min(min_, value);
  }

  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  uint64_t count() const { return count_; }
  uint64_t max() const { return count_ == 0 ? 0 : max_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }

  // The smallest recorded value v such that `percentile` % of values are ≤ v, reported
  // as the highest value of v's bucket (never above max()). 0 when empty.
  uint64_t ValueAtPercentile(double percentile) const {
    if (count_ == 0) return 0;
    double p = std::clamp(percentile, 0.0, 100.0);
    auto rank = static_cast<uint64_t>(p / 100.0 * static_cast<double>(count_) + 0.5);
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(HighestInBucket(i), max_);
    }
    return max_;
  }

  // Bucket layout, exposed for tests.
  static size_t Index(uint64_t v) {
    if (v < kExact) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - (kSubBits - 1);  // keeps the top kSubBits bits: [64, 127]
    uint64_t mantissa = v >> shift;
    return kExact + static_cast<size_t>(shift - 1) * kHalf + static_cast<size_t>(mantissa - kHalf);
  }
  static uint64_t HighestInBucket(size_t index) {
    if (index < kExact) return index;
    size_t shift = (index - kExact) / kHalf + 1;
    uint64_t mantissa = (index - kExact) % kHalf + kHalf;
    if (shift >= 57 && mantissa == 127) return UINT64_MAX;
    return ((mantissa + 1) << shift) - 1;
  }

 private:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kExact = 1u << kSubBits;  // 128
  static constexpr uint64_t kHalf = kExact / 2;       // 64 buckets per power of two
  static constexpr size_t kBuckets = kExact + 57 * kHalf;

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace eragon::bench
