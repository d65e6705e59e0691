// Many appenders and tailing readers: every record read exactly once, in order per
// partition. Also run under ThreadSanitizer.
#include <map>
#include <thread>

#include "log/log_test_util.h"

namespace eragon::log {
namespace {

using testing::LogFixture;

constexpr int kWriters = 8;
constexpr int kPerWriter = 250;
constexpr uint32_t kPartitions = 4;

std::string Encode(int writer, int seq) {
  return std::to_string(writer) + ":" + std::to_string(seq) + std::string(64, 'p');
}
std::pair<int, int> Decode(const std::string& s) {
  size_t colon = s.find(':');
  return {std::stoi(s.substr(0, colon)), std::stoi(s.substr(colon + 1))};
}

// Checks what one reader saw for one partition: per writer, seqs strictly increasing.
void CheckOrder(const std::vector<std::string>& got, std::map<int, int>* count) {
  std::map<int, int> last;
  for (const auto& s : got) {
    auto [w, seq] = Decode(s);
    auto it = last.find(w);
    if (it != last.end()) {
      EXPECT_GT(seq, it->second) << "writer " << w;
    }
    last[w] = seq;
    ++(*count)[w];
  }
}

void RunAppenders(TopicLog* t) {
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([t, w] {
      // Each writer keeps its own key so its records share one partition, in order.
      const std::string key = "entity-" + std::to_string(w);
      for (int i = 0; i < kPerWriter; i += 5) {
        std::vector<std::string> payloads;
        std::vector<AppendRecord> batch;
        for (int k = 0; k < 5; ++k) payloads.push_back(Encode(w, i + k));
        for (const auto& p : payloads) batch.push_back({key, p, 0});
        if (i % 2 == 0) {
          ASSERT_TRUE(t->Append(batch).ok());
        } else {
          std::atomic<bool> done{false};
          t->AppendAsync(batch, [&](const Status& s, std::span<const RecordPosition>) {
            EXPECT_TRUE(s.ok());
            done = true;
          });
          while (!done) std::this_thread::yield();
        }
      }
    });
  }
  for (auto& th : writers) th.join();
}

TEST(Concurrency, TailingReadersWithWaitForDataSeeEveryRecordOnceInOrder) {
  LogFixture f;
  f.options.clock = Clock::System();
  f.options.segment_bytes = 64 << 10;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("t", kPartitions);
  std::vector<std::vector<std::string>> seen(kPartitions);
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (uint32_t p = 0; p < kPartitions; ++p) {
    readers.emplace_back([&, p] {
      uint64_t next = 0;
      for (;;) {
        if (!t->WaitForData(p, next, Clock::System()->MonoNs() + 20'000'000)) {
          if (stop) return;
          continue;
        }
        auto r = t->Read(p, next, 37, 4096);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        for (auto& rec : *r) {
          ASSERT_EQ(rec.offset, next);
          seen[p].push_back(std::move(rec.payload));
          ++next;
        }
      }
    });
  }
  RunAppenders(t);
  stop = true;
  for (auto& th : readers) th.join();
  std::map<int, int> count;
  for (uint32_t p = 0; p < kPartitions; ++p) CheckOrder(seen[p], &count);
  for (int w = 0; w < kWriters; ++w) EXPECT_EQ(count[w], kPerWriter) << "writer " << w;
}

TEST(Concurrency, SubscribersAreToldOfEveryAdvance) {
  LogFixture f;
  f.options.clock = Clock::System();
  f.options.segment_bytes = 64 << 10;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("t", kPartitions);
  std::mutex mu;
  std::condition_variable cv;
  uint64_t signals = 0;
  uint64_t id = t->Subscribe([&] {
    std::lock_guard<std::mutex> l(mu);
    ++signals;
    cv.notify_all();
  });
  std::vector<std::vector<std::string>> seen(kPartitions);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    std::vector<uint64_t> next(kPartitions, 0);
    uint64_t handled = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait_for(l, std::chrono::milliseconds(20), [&] { return signals != handled; });
        handled = signals;
      }
      bool any = false;
      for (uint32_t p = 0; p < kPartitions; ++p) {
        auto r = t->Read(p, next[p], 1000, 1 << 20);
        ASSERT_TRUE(r.ok());
        for (auto& rec : *r) {
          ASSERT_EQ(rec.offset, next[p]++);
          seen[p].push_back(std::move(rec.payload));
          any = true;
        }
      }
      if (!any && stop) return;
    }
  });
  RunAppenders(t);
  stop = true;
  reader.join();
  t->Unsubscribe(id);
  std::map<int, int> count;
  for (uint32_t p = 0; p < kPartitions; ++p) CheckOrder(seen[p], &count);
  for (int w = 0; w < kWriters; ++w) EXPECT_EQ(count[w], kPerWriter);
  EXPECT_GT(signals, 0u);
}

TEST(Concurrency, GroupCommitSharesFsyncsAmongAppenders) {
  LogFixture f;
  f.options.clock = Clock::System();
  f.options.segment_bytes = 1 << 20;
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic("t", kPartitions);
  const int64_t syncs_before = f.env->SyncCount();
  RunAppenders(t);
  const int64_t syncs = f.env->SyncCount() - syncs_before;
  const int appends = kWriters * kPerWriter / 5;
  // Never more than one per append (usually far fewer), besides the file and directory
  // syncs of each partition's first segment, created by its first append. A loaded
  // machine that runs the appends one after another gets close to the bound (a run saw
  // 401 syncs for 400 appends).
  EXPECT_LE(syncs, appends + 2 * static_cast<int64_t>(kPartitions));
  f.Reopen();
  size_t total = 0;
  for (uint32_t p = 0; p < kPartitions; ++p)
    total += testing::ReadAll(f.log->FindTopic("t"), p).size();
  EXPECT_EQ(total, static_cast<size_t>(kWriters * kPerWriter));
}

TEST(Concurrency, CloseWakesWaitingReaders) {
  LogFixture f;
  f.options.clock = Clock::System();
  ASSERT_TRUE(f.Open().ok());
  TopicLog* t = f.Topic();
  std::thread waiter(
      [&] { EXPECT_FALSE(t->WaitForData(0, 0, Clock::System()->MonoNs() + 60'000'000'000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(f.log->Close().ok());
  waiter.join();
}

}  // namespace
}  // namespace eragon::log
