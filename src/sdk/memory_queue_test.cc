// The in-memory EventQueue: order, capacity (block then fail), Done bookkeeping, Close.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "eragon/event_queue.h"

namespace eragon {
namespace {

using std::chrono::milliseconds;

std::vector<QueuedRecord> TakeAll(EventQueue& q) {
  std::vector<QueuedRecord> out;
  EXPECT_TRUE(q.Take(1'000'000, milliseconds(0), &out).ok());
  return out;
}

std::vector<uint64_t> Seqs(const std::vector<QueuedRecord>& rs) {
  std::vector<uint64_t> s;
  for (const auto& r : rs) s.push_back(r.seq);
  return s;
}

TEST(MemoryQueue, TakesInEnqueueOrderAndFreesOnDone) {
  auto q = NewMemoryQueue({.max_records = 100, .max_bytes = 1 << 20});
  for (int i = 0; i < 10; ++i) {
    auto seq = q->Enqueue("r" + std::to_string(i), nullptr, milliseconds(0));
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    EXPECT_EQ(*seq, static_cast<uint64_t>(i));
  }
  std::vector<QueuedRecord> part;
  ASSERT_TRUE(q->Take(3, milliseconds(0), &part).ok());
  ASSERT_EQ(part.size(), 3u);
  EXPECT_EQ(part[0].payload, "r0");
  auto rest = TakeAll(*q);
  ASSERT_EQ(rest.size(), 7u);
  EXPECT_EQ(rest.front().payload, "r3");
  EXPECT_EQ(rest.back().payload, "r9");
  EXPECT_EQ(q->Stats().records, 10u);
  EXPECT_EQ(q->Stats().oldest_seq, 0u);

  // Done in any order; the oldest unfinished seq moves only past finished ones.
  ASSERT_TRUE(q->Done(Seqs(rest)).ok());
  EXPECT_EQ(q->Stats().records, 3u);
  EXPECT_EQ(q->Stats().oldest_seq, 0u);
  ASSERT_TRUE(q->Done(Seqs(part)).ok());
  EXPECT_EQ(q->Stats().records, 0u);
  EXPECT_EQ(q->Stats().bytes, 0u);
  EXPECT_EQ(q->Stats().oldest_seq, 10u);
}

TEST(MemoryQueue, DoneOfUnknownOrRepeatedSeqIsRejectedAndFreesNothing) {
  auto q = NewMemoryQueue({.max_records = 2, .max_bytes = 1 << 20});
  ASSERT_TRUE(q->Enqueue("a", nullptr, milliseconds(0)).ok());
  ASSERT_TRUE(q->Enqueue("b", nullptr, milliseconds(0)).ok());
  const uint64_t not_taken = 0;
  EXPECT_EQ(q->Done({&not_taken, 1}).code(), Code::kInvalidArgument);
  EXPECT_EQ(q->Stats().records, 2u);
  auto taken = TakeAll(*q);
  ASSERT_TRUE(q->Done({&taken[0].seq, 1}).ok());
  EXPECT_EQ(q->Done({&taken[0].seq, 1}).code(), Code::kInvalidArgument);
  EXPECT_EQ(q->Stats().records, 1u);
}

TEST(MemoryQueue, FullQueueBlocksThenFailsWithAClearError) {
  auto q = NewMemoryQueue({.max_records = 3, .max_bytes = 1 << 20});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q->Enqueue("x", nullptr, milliseconds(0)).ok());
  auto at_once = q->Enqueue("x", nullptr, milliseconds(0));
  EXPECT_EQ(at_once.status().code(), Code::kResourceExhausted);
  auto blocked = q->Enqueue("x", nullptr, milliseconds(50));
  ASSERT_EQ(blocked.status().code(), Code::kResourceExhausted);
  EXPECT_NE(blocked.status().message().find("event queue full"), std::string::npos)
      << blocked.status().message();
  EXPECT_NE(blocked.status().message().find("50 ms"), std::string::npos);
  EXPECT_EQ(q->Stats().records, 3u);  // failed enqueues left nothing behind
}

TEST(MemoryQueue, ByteLimitBoundsTheQueueButAnEmptyQueueTakesAnyRecord) {
  auto q = NewMemoryQueue({.max_records = 1000, .max_bytes = 100});
  ASSERT_TRUE(q->Enqueue(std::string(60, 'a'), nullptr, milliseconds(0)).ok());
  EXPECT_EQ(q->Enqueue(std::string(60, 'b'), nullptr, milliseconds(0)).status().code(),
            Code::kResourceExhausted);
  EXPECT_LE(q->Stats().bytes, 100u);
  auto t = TakeAll(*q);
  ASSERT_TRUE(q->Done({&t[0].seq, 1}).ok());
  EXPECT_TRUE(q->Enqueue(std::string(500, 'c'), nullptr, milliseconds(0)).ok());
}

TEST(MemoryQueue, BatchGetsConsecutiveSeqsAndNeedsRoomForAllOfIt) {
  auto q = NewMemoryQueue({.max_records = 5, .max_bytes = 1 << 20});
  ASSERT_TRUE(q->Enqueue("a", nullptr, milliseconds(0)).ok());
  std::vector<QueuedRecord> batch(3);
  for (int i = 0; i < 3; ++i) batch[i].payload = "b" + std::to_string(i);
  auto first = q->EnqueueBatch(batch, milliseconds(0));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 1u);
  // Two slots left: a batch of three does not fit and leaves nothing behind.
  EXPECT_EQ(q->EnqueueBatch(batch, milliseconds(10)).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(q->Stats().records, 4u);
  EXPECT_EQ(q->EnqueueBatch({}, milliseconds(0)).status().code(), Code::kInvalidArgument);
  auto all = TakeAll(*q);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3].payload, "b2");
  EXPECT_EQ(all[3].seq, 3u);
}

TEST(MemoryQueue, BlockedEnqueueProceedsWhenSpaceIsFreed) {
  auto q = NewMemoryQueue({.max_records = 1, .max_bytes = 1 << 20});
  ASSERT_TRUE(q->Enqueue("first", nullptr, milliseconds(0)).ok());
  std::atomic<int> code{-1};
  std::thread t([&] {
    auto r = q->Enqueue("second", nullptr, milliseconds(60'000));
    code = static_cast<int>(r.status().code());
  });
  auto taken = TakeAll(*q);
  ASSERT_EQ(taken.size(), 1u);
  ASSERT_TRUE(q->Done({&taken[0].seq, 1}).ok());
  t.join();
  EXPECT_EQ(code.load(), static_cast<int>(Code::kOk));
  auto second = TakeAll(*q);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].payload, "second");
}

TEST(MemoryQueue, CloseWakesBlockedCallersAndRefusesNewRecords) {
  auto q = NewMemoryQueue({.max_records = 1, .max_bytes = 1 << 20});
  ASSERT_TRUE(q->Enqueue("a", nullptr, milliseconds(0)).ok());
  std::atomic<int> code{-1};
  std::thread t([&] {
    code = static_cast<int>(q->Enqueue("b", nullptr, milliseconds(600'000)).status().code());
  });
  std::thread taker([&] {
    std::vector<QueuedRecord> out;
    (void)q->Take(10, milliseconds(0), &out);
    out.clear();
    (void)q->Take(10, milliseconds(600'000), &out);  // returns on Close
  });
  q->Close();
  taker.join();
  t.join();
  EXPECT_EQ(code.load(), static_cast<int>(Code::kUnavailable));
  EXPECT_EQ(q->Enqueue("c", nullptr, milliseconds(0)).status().code(), Code::kUnavailable);
}

TEST(MemoryQueue, ManyProducersOneDrainerLoseAndRepeatNothing) {
  auto q = NewMemoryQueue({.max_records = 1000, .max_bytes = 1 << 20});
  constexpr int kThreads = 8, kPerThread = 5000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r =
            q->Enqueue(std::to_string(t) + ":" + std::to_string(i), nullptr, milliseconds(600'000));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  std::vector<int> next(kThreads, 0);
  int got = 0;
  uint64_t last_seq = 0;
  while (got < kThreads * kPerThread) {
    std::vector<QueuedRecord> out;
    ASSERT_TRUE(q->Take(256, milliseconds(100), &out).ok());
    for (const auto& r : out) {
      if (got > 0) {
        EXPECT_GT(r.seq, last_seq);
      }
      last_seq = r.seq;
      const size_t colon = r.payload.find(':');
      const int t = std::stoi(r.payload.substr(0, colon));
      EXPECT_EQ(std::stoi(r.payload.substr(colon + 1)), next[t]++) << "per-thread order";
      ++got;
    }
    ASSERT_TRUE(q->Done(Seqs(out)).ok());
    EXPECT_LE(q->Stats().records, 1000u);
  }
  for (auto& p : producers) p.join();
  EXPECT_EQ(q->Stats().records, 0u);
}

}  // namespace
}  // namespace eragon
