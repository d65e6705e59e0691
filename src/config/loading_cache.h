// LoadingCache<K, V>: a read-through cache in front of a slower source (the config store).
//
// - Get(key) answers from the cache while the entry is fresh; on a miss or an expired
//   entry it calls the loader. The loader answers a value, std::nullopt ("no such key",
//   cached for the shorter negative TTL) or an error (never cached; returned to the caller).
// - No stampede: concurrent Gets of one missing key make one loader call; the others wait
//   for its answer. Different keys load in parallel. The loader runs without the cache's
//   lock held, so it may block (I/O) but must not call back into the same cache.
// - Invalidate(key) / InvalidateAll() drop entries at once; a load that was running when
//   its key was invalidated still answers its waiters but is not cached, so the next Get
//   loads again and sees the change.
// - Bounded: past max_entries the oldest inserted entry is evicted (FIFO).
// - Expiry uses clock->MonoNs(), so tests advance a ManualClock instead of sleeping.
//
// Thread-safe. The loader, the clock and the options are fixed at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "eragon/clock.h"
#include "eragon/status.h"

namespace eragon::config {

template <typename K, typename V, typename Hash = std::hash<K>>
class LoadingCache {
 public:
  using Value = std::optional<V>;
  using Loader = std::function<Result<Value>(const K&)>;

  struct Options {
    int64_t ttl_ms = 1000;          // a loaded value is fresh this long; 0 = never cached
    int64_t negative_ttl_ms = 200;  // a loaded std::nullopt is fresh this long
    size_t max_entries = 10000;     // >= 1; the oldest entry goes when a new one needs room
  };

  // REQUIRES: loader callable, clock outlives the cache.
  LoadingCache(Loader loader, Clock* clock, Options options = {})
      : loader_(std::move(loader)), clock_(clock), options_(options) {
    if (options_.max_entries == 0) options_.max_entries = 1;
  }
  LoadingCache(const LoadingCache&) = delete;
  LoadingCache& operator=(const LoadingCache&) = delete;

  Result<Value> Get(const K& key) {
    std::shared_ptr<Pending> pending;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const int64_t now = clock_->MonoNs();
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        if (now < it->second.expires_at_ns) {
          ++hits_;
          return it->second.value;
        }
        Erase(it);
      }
      auto in = loading_.find(key);
      if (in != loading_.end()) {
        std::shared_future<Result<Value>> answer = in->second->answer;
        ++waits_;
        lock.unlock();
        return answer.get();
      }
      pending = std::make_shared<Pending>();
      pending->answer = pending->promise.get_future().share();
      loading_.emplace(key, pending);
      ++loads_;
    }
    Result<Value> result = CallLoader(key);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto in = loading_.find(key);
      if (in != loading_.end() && in->second == pending) loading_.erase(in);
      if (!pending->stale && result.ok()) Insert(key, result.value());
    }
    pending->promise.set_value(result);
    return result;
  }

  void Invalidate(const K& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) Erase(it);
    auto in = loading_.find(key);
    if (in != loading_.end()) {
      in->second->stale = true;
      loading_.erase(in);
    }
  }

  void InvalidateAll() {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
    order_.clear();
    for (auto& [key, pending] : loading_) pending->stale = true;
    loading_.clear();
  }

  struct Stats {
    uint64_t hits = 0;   // answered from a fresh entry
    uint64_t loads = 0;  // loader calls
    uint64_t waits = 0;  // Gets that waited for another caller's load
    size_t entries = 0;
  };
  Stats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return Stats{hits_, loads_, waits_, entries_.size()};
  }

 private:
  struct Pending {
    std::promise<Result<Value>> promise;
    std::shared_future<Result<Value>> answer;
    bool stale = false;  // invalidated while loading: answer waiters, do not cache
  };
  struct Entry {
    Value value;
    int64_t expires_at_ns;
    typename std::list<K>::iterator order;
  };
  using Map = std::unordered_map<K, Entry, Hash>;

  Result<Value> CallLoader(const K& key) {
    try {
      return loader_(key);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("cache loader threw: ") + e.what());
    } catch (...) {
      return Status::Internal("cache loader threw");
    }
  }

  void Erase(typename Map::iterator it) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }

  void Insert(const K& key, const Value& value) {
    const int64_t ttl_ms = value.has_value() ? options_.ttl_ms : options_.negative_ttl_ms;
    if (ttl_ms <= 0) return;
    auto old = entries_.find(key);
    if (old != entries_.end()) Erase(old);
    while (entries_.size() >= options_.max_entries) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    entries_.emplace(key,
                     Entry{value, clock_->MonoNs() + ttl_ms * 1'000'000, std::prev(order_.end())});
  }

  const Loader loader_;
  Clock* const clock_;
  Options options_;

  mutable std::mutex mu_;
  Map entries_;                                                    // guarded by mu_
  std::list<K> order_;                                             // insertion order; mu_
  std::unordered_map<K, std::shared_ptr<Pending>, Hash> loading_;  // guarded by mu_
  uint64_t hits_ = 0, loads_ = 0, waits_ = 0;                      // guarded by mu_
};

}  // namespace eragon::config
