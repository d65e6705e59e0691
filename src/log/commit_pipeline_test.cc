// The commit pipeline: completions on the completion thread keep append order, a lone
// blocking Append commits on its own thread, and on_commit reports every group commit.
// Also run under ThreadSanitizer.
#include <map>
#include <mutex>
#include <thread>

#include "log/format.h"
#include "log/log_test_util.h"

namespace eragon::log {
namespace {

using testing::LogFixture;

// Groups larger than the inline limit complete on the completion thread; per partition
// the callbacks must still see offsets in increasing order (the id index relies on it),
// one callback at a time, while blocking appenders run alongside.
TEST(CommitPipeline, CallbacksRunOneAtATimeInAppendOrder) {
  LogFixture f;
  f.options.clock = Clock::System();
  f.options.segment_bytes = 256 << 10;
  ASSERT_TRUE(f.Open().ok());
  constexpr uint32_t kPartitions = 4;
  TopicLog* t = f.Topic("t", kPartitions);
  constexpr int kAsyncThreads = 4, kBlockingThreads = 4, kPerThread = 300;
  std::mutex mu;
  std::vector<std::vector<uint64_t>> seen(kPartitions);  // offsets in callback order
  std::atomic<int> in_callback{0};
  std::atomic<int> done{0};
  std::atomic<bool> overlapped{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < kAsyncThreads; ++w) {
    threads.emplace_back([&, w] {
      const std::string key = "async-" + std::to_string(w);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string payload = testing::Payload(i, 50);
        AppendRecord r{key, payload, 0};
        t->AppendAsync(std::span(&r, 1), [&](const Status& s, std::span<const RecordPosition> p) {
          if (in_callback.fetch_add(1) != 0) overlapped = true;
          EXPECT_TRUE(s.ok()) << s.ToString();
          if (s.ok()) {
            std::lock_guard<std::mutex> l(mu);
            seen[p[0].partition].push_back(p[0].offset);
          }
          in_callback.fetch_sub(1);
          done.fetch_add(1);
        });
      }
    });
  }
  for (int w = 0; w < kBlockingThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = testing::AppendOne(t, testing::Payload(i, 50), "blocking-" + std::to_string(w));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(r->size(), 1u);
      }
    });
  }
  for (auto& th : threads) th.join();
  while (done.load() < kAsyncThreads * kPerThread) std::this_thread::yield();
  EXPECT_FALSE(overlapped.load());
  std::lock_guard<std::mutex> l(mu);
  for (uint32_t p = 0; p < kPartitions; ++p) {
    for (size_t i = 1; i < seen[p].size(); ++i) {
      ASSERT_LT(seen[p][i - 1], seen[p][i]) << "partition " << p << " callback " << i;
    }
  }
  size_t total = 0;
  for (uint32_t p = 0; p < kPartitions; ++p) total += testing::ReadAll(t, p).size();
  EXPECT_EQ(total, static_cast<size_t>((kAsyncThreads + kBlockingThreads) * kPerThread));
}

TEST(CommitPipeline, LoneBlockingAppendCommitsOnItsOwnThread) {
  LogFixture f;
  std::atomic<std::thread::id> committer{};
  f.options.on_commit = [&](double, double, uint64_t, size_t) {
    committer = std::this_thread::get_id();
  };
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  std::thread::id notified{};
  uint64_t id = 0;
  // Unsubscribing from inside the function must not wait for its own round, whichever
  // thread runs it.
  id = t->Subscribe([&] {
    notified = std::this_thread::get_id();
    t->Unsubscribe(id);
  });
  ASSERT_TRUE(testing::AppendOne(t, "first").ok());  // also creates the first segment
  ASSERT_TRUE(testing::AppendOne(t, "second").ok());
  EXPECT_EQ(committer.load(), std::this_thread::get_id());
  EXPECT_EQ(notified, std::this_thread::get_id());
  EXPECT_EQ(testing::ReadAll(t, 0), (std::vector<std::string>{"first", "second"}));
}

TEST(CommitPipeline, OnCommitReportsEveryGroupCommit) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kNever}) {
    LogFixture f;
    f.options.fsync.policy = policy;
    std::mutex mu;
    size_t records = 0, commits = 0, synced = 0;
    uint64_t bytes = 0;
    f.options.on_commit = [&](double write_s, double fsync_s, uint64_t b, size_t n) {
      std::lock_guard<std::mutex> l(mu);
      EXPECT_GE(write_s, 0);
      if (b == 0) return;  // a sync on its own (sealing a segment, close)
      ++commits;
      records += n;
      bytes += b;
      if (fsync_s >= 0) ++synced;
    };
    ASSERT_TRUE(f.Open().ok());
    TopicLog* t = f.Topic();
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w) {
      threads.emplace_back([t] {
        for (int i = 0; i < 50; ++i) ASSERT_TRUE(testing::AppendOne(t, "payload").ok());
      });
    }
    for (auto& th : threads) th.join();
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(records, 200u);
    EXPECT_EQ(bytes, 200u * (kRecordHeaderSize + 7));
    EXPECT_GE(commits, 1u);
    EXPECT_LE(commits, 200u);
    EXPECT_EQ(synced, policy == FsyncPolicy::kAlways ? commits : 0u);
  }
}

}  // namespace
}  // namespace eragon::log
