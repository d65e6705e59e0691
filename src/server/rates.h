// Rates: events per second over the last minute and the last five minutes, by name (event
// type, consumer), for GET /v1/stats. Kept in memory as per-second ring buckets: adding
// is a few atomic operations after a shared-lock lookup of the name, reading costs 300
// loads per name, nothing is read from disk. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace eragon::server {

// Counts of the last kSeconds seconds, one bucket per second (of a monotonic clock the
// caller passes in, so tests step it).
class RateRing {
 public:
  static constexpr int64_t kSeconds = 300;
  void Add(int64_t now_s, uint64_t n);
  // Events per second over the `window_s` seconds ending with now_s (the current second
  // counts): their count / window_s.
  double PerSecond(int64_t now_s, int64_t window_s) const;

 private:
  // A bucket is one word: the lap (second / kSeconds) in the high 24 bits, the count of
  // that second in the low 40, so moving a bucket to a new second and counting in it
  // cannot lose an add.
  static constexpr int kCountBits = 40;
  static constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
  std::array<std::atomic<uint64_t>, kSeconds> buckets_{};
};

struct Rate {
  double per_s_1m = 0;
  double per_s_5m = 0;
};

class RateTable {
 public:
  // `now_s`: seconds of a monotonic clock (default: the steady clock).
  void Add(const std::string& name, uint64_t n, int64_t now_s = NowSeconds());
  Rate Get(const std::string& name, int64_t now_s = NowSeconds()) const;
  // Every name that ever counted.
  std::vector<std::string> Names() const;
  static int64_t NowSeconds();

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<RateRing>> rings_;
};

}  // namespace eragon::server
