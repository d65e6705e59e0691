#include "server/rates.h"

#include <chrono>
#include <mutex>

namespace eragon::server {

void RateRing::Add(int64_t now_s, uint64_t n) {
  std::atomic<uint64_t>& b = buckets_[static_cast<size_t>(now_s % kSeconds)];
  const uint64_t lap = static_cast<uint64_t>(now_s / kSeconds) & ((uint64_t{1} << 24) - 1);
  uint64_t cur = b.load(std::memory_order_relaxed);
  for (;;) {
    if ((cur >> kCountBits) == lap) {
      b.fetch_add(n, std::memory_order_relaxed);
      return;
    }
    if (b.compare_exchange_weak(cur, lap << kCountBits | (n & kCountMask),
                                std::memory_order_relaxed)) {
      return;
    }
  }
}

double RateRing::PerSecond(int64_t now_s, int64_t window_s) const {
  if (window_s <= 0) return 0;
  const int64_t lap_base = now_s / kSeconds;
  uint64_t sum = 0;
  for (int64_t i = 0; i < kSeconds; ++i) {
    const uint64_t v = buckets_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
    // The bucket's second: its lap is this one's or the one before (masked to 24 bits).
    const int64_t lap = static_cast<int64_t>(v >> kCountBits);
    const int64_t second = ((lap_base & ~int64_t{0xffffff}) | lap) * kSeconds + i;
    if (second > now_s - window_s && second <= now_s) sum += v & kCountMask;
  }
  return static_cast<double>(sum) / static_cast<double>(window_s);
}

void RateTable::Add(const std::string& name, uint64_t n, int64_t now_s) {
  {
    std::shared_lock lock(mu_);
    auto it = rings_.find(name);
    if (it != rings_.end()) {
      it->second->Add(now_s, n);
      return;
    }
  }
  std::unique_lock lock(mu_);
  std::unique_ptr<RateRing>& ring = rings_[name];
  if (!ring) ring = std::make_unique<RateRing>();
  ring->Add(now_s, n);
}

Rate RateTable::Get(const std::string& name, int64_t now_s) const {
  std::shared_lock lock(mu_);
  auto it = rings_.find(name);
  if (it == rings_.end()) return {};
  return {it->second->PerSecond(now_s, 60), it->second->PerSecond(now_s, 300)};
}

std::vector<std::string> RateTable::Names() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(rings_.size());
  for (const auto& [name, ring] : rings_) out.push_back(name);
  return out;
}

int64_t RateTable::NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace eragon::server
