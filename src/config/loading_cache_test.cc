#include "config/loading_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <string>
#include <thread>
#include <vector>

namespace eragon::config {
namespace {

using Cache = LoadingCache<std::string, int>;

Cache::Options Opts(int64_t ttl, int64_t negative_ttl, size_t max_entries = 100) {
  Cache::Options o;
  o.ttl_ms = ttl;
  o.negative_ttl_ms = negative_ttl;
  o.max_entries = max_entries;
  return o;
}

// A source whose answers the test controls; counts loads per key.
struct Source {
  std::mutex mu;
  std::map<std::string, int> values;
  std::map<std::string, int> loads;
  Status error;
  Result<std::optional<int>> Load(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    ++loads[key];
    if (!error.ok()) return error;
    auto it = values.find(key);
    if (it == values.end()) return std::optional<int>();
    return std::optional<int>(it->second);
  }
  int LoadsOf(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    return loads[key];
  }
};

TEST(LoadingCache, LoadsOnMissThenAnswersFromCache) {
  ManualClock clock;
  Source src;
  src.values["a"] = 1;
  Cache cache([&](const std::string& k) { return src.Load(k); }, &clock, Opts(1000, 100));
  EXPECT_EQ(cache.Get("a").value(), std::optional<int>(1));
  src.values["a"] = 2;  // not seen while the entry is fresh
  EXPECT_EQ(cache.Get("a").value(), std::optional<int>(1));
  EXPECT_EQ(src.LoadsOf("a"), 1);
  EXPECT_EQ(cache.stats().hits, 1u);
}

TEST(LoadingCache, ExpiresAfterTtl) {
  ManualClock clock;
  Source src;
  src.values["a"] = 1;
  Cache cache([&](const std::string& k) { return src.Load(k); }, &clock, Opts(1000, 100));
  ASSERT_TRUE(cache.Get("a").ok());
  src.values["a"] = 2;
  clock.AdvanceMs(999);
  EXPECT_EQ(cache.Get("a").value(), std::optional<int>(1));
  clock.AdvanceMs(1);
  EXPECT_EQ(cache.Get("a").value(), std::optional<int>(2));
  EXPECT_EQ(src.LoadsOf("a"), 2);
}

TEST(LoadingCache, NegativeAnswersAreCachedForTheShorterTtl) {
  ManualClock clock;
  Source src;
  Cache cache([&](const std::string& k) { return src.Load(k); }, &clock, Opts(1000, 100));
  EXPECT_EQ(cache.Get("missing").value(), std::nullopt);
  src.values["missing"] = 7;
  clock.AdvanceMs(99);
  EXPECT_EQ(cache.Get("missing").value(), std::nullopt);
  EXPECT_EQ(src.LoadsOf("missing"), 1);
  clock.AdvanceMs(1);
  EXPECT_EQ(cache.Get("missing").value(), std::optional<int>(7));
  EXPECT_EQ(src.LoadsOf("missing"), 2);
}

TEST(LoadingCache, ErrorsAreReturnedAndNeverCached) {
  ManualClock clock;
  Source src;
  src.values["a"] = 1;
  src.error = Status::Unavailable("database is locked");
  Cache cache([&](const std::string& k) { return src.Load(k); }, &clock, Opts(1000, 100));
  EXPECT_EQ(cache.Get("a").status().code(), Code::kUnavailable);
  src.error = Status::Ok();
  EXPECT_EQ(cache.Get("a").value(), std::optional<int>(1));
  EXPECT_EQ(src.LoadsOf("a"), 2);
}

TEST(LoadingCache, InvalidateDropsOneKeyInvalidateAllDropsEverything) {
  ManualClock clock;
  Source src;
  src.values = {{"a", 1}, {"b", 2}};
  Cache cache([&](const std::string& k) { return src.Load(k); }, &clock, Opts(60'000, 60'000));
  ASSERT_TRUE(cache.Get("a").ok());
  ASSERT_TRUE(cache.Get("b").ok());
  src.values = {{"a", 10}, {"b", 20}};
  cache.Invalidate("a");
  EXPECT_EQ(cache.Get("a").value(), std::optional<int>(10));
  EXPECT_EQ(cache.Get("b").value(), std::optional<int>(2));
  cache.InvalidateAll();
  EXPECT_EQ(cache.Get("b").value(), std::optional<int>(20));
  EXPECT_EQ(cache.stats().entries, 1u);  // only "b" was loaded again
}

TEST(LoadingCache, ZeroTtlNeverCaches) {
  ManualClock clock;
  Source src;
  src.values["a"] = 1;
  Cache cache([&](const std::string& k) { return src.Load(k); }, &clock, Opts(0, 0));
  ASSERT_TRUE(cache.Get("a").ok());
  ASSERT_TRUE(cache.Get("a").ok());
  EXPECT_EQ(src.LoadsOf("a"), 2);
}

TEST(LoadingCache, BoundedSizeEvictsTheOldestEntry) {
  ManualClock clock;
  Source src;
  for (int i = 0; i < 10; ++i) src.values["k" + std::to_string(i)] = i;
  Cache cache([&](const std::string& k) { return src.Load(k); }, &clock, Opts(60'000, 60'000, 3));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cache.Get("k" + std::to_string(i)).ok());
  EXPECT_EQ(cache.stats().entries, 3u);
  ASSERT_TRUE(cache.Get("k4").ok());  // still cached
  ASSERT_TRUE(cache.Get("k2").ok());  // still cached
  EXPECT_EQ(src.LoadsOf("k4"), 1);
  EXPECT_EQ(src.LoadsOf("k2"), 1);
  ASSERT_TRUE(cache.Get("k0").ok());  // evicted earlier: loads again
  EXPECT_EQ(src.LoadsOf("k0"), 2);
  EXPECT_EQ(cache.stats().entries, 3u);
}

// A loader that blocks until released, so tests can line up concurrent callers.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> entered{0};
  void Wait() {
    ++entered;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

void SpinUntil(const std::function<bool()>& done) {
  while (!done()) std::this_thread::yield();
}

TEST(LoadingCache, ConcurrentMissesOnOneKeyMakeOneLoad) {
  ManualClock clock;
  Gate gate;
  std::atomic<int> loads{0};
  Cache cache(
      [&](const std::string&) -> Result<std::optional<int>> {
        ++loads;
        gate.Wait();
        return std::optional<int>(42);
      },
      &clock, Opts(1000, 100));
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      Result<std::optional<int>> r = cache.Get("hot");
      if (r.ok() && *r == std::optional<int>(42)) ++right;
    });
  }
  SpinUntil([&] { return gate.entered == 1 && cache.stats().waits == kThreads - 1; });
  gate.Open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(right, kThreads);
}

TEST(LoadingCache, DifferentKeysLoadInParallel) {
  ManualClock clock;
  Gate gate;
  Cache cache(
      [&](const std::string& k) -> Result<std::optional<int>> {
        if (k == "slow") gate.Wait();
        return std::optional<int>(1);
      },
      &clock, Opts(1000, 100));
  std::thread slow([&] { ASSERT_TRUE(cache.Get("slow").ok()); });
  SpinUntil([&] { return gate.entered == 1; });
  EXPECT_TRUE(cache.Get("fast").ok());  // not blocked behind "slow"
  gate.Open();
  slow.join();
}

TEST(LoadingCache, ALoadInvalidatedWhileRunningIsNotCached) {
  ManualClock clock;
  Gate gate;
  std::atomic<int> version{1};
  std::atomic<int> loads{0};
  Cache cache(
      [&](const std::string&) -> Result<std::optional<int>> {
        int v = version;
        if (++loads == 1) gate.Wait();
        return std::optional<int>(v);
      },
      &clock, Opts(60'000, 60'000));
  std::thread first([&] { EXPECT_EQ(cache.Get("k").value(), std::optional<int>(1)); });
  SpinUntil([&] { return gate.entered == 1; });
  version = 2;            // the source changes...
  cache.Invalidate("k");  // ...and says so while the old load is still running
  gate.Open();
  first.join();
  EXPECT_EQ(cache.Get("k").value(), std::optional<int>(2));
  EXPECT_EQ(loads, 2);
}

TEST(LoadingCache, LoaderExceptionsBecomeErrors) {
  ManualClock clock;
  Cache cache(
      [&](const std::string&) -> Result<std::optional<int>> { throw std::runtime_error("boom"); },
      &clock, Opts(1000, 100));
  EXPECT_EQ(cache.Get("k").status().code(), Code::kInternal);
}

}  // namespace
}  // namespace eragon::config
