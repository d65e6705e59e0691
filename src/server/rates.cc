#include "server/rates.h"

#include <chrono>
#include <mutex>

namespace eragon::server {

// A bucket whose second is stale is reset by the first adder of the new second (the
// compare-exchange picks one); an add racing the reset may be lost, a rate is an estimate.
void RateRing::Add(int64_t now_s, uint64_t n) {
  Bucket& b = buckets_[static_cast<size_t>(now_s % kSeconds)];
  int64_t seen = b.second.load(std::memory_order_acquire);
  if (seen != now_s && b.second.compare_exchange_strong(seen, now_s, std::memory_order_acq_rel)) {
    b.count.store(0, std::memory_order_release);
  }
  b.count.fetch_add(n, std::memory_order_relaxed);
}

double RateRing::PerSecond(int64_t now_s, int64_t window_s) const {
  if (window_s <= 0) return 0;
  uint64_t sum = 0;
  for (const Bucket& b : buckets_) {
    const int64_t s = b.second.load(std::memory_order_acquire);
    if (s > now_s - window_s && s <= now_s) sum += b.count.load(std::memory_order_relaxed);
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
