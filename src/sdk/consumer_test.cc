// The pull consumer against a real eragond: redelivery after a failed handler (error or
// exception), per-entity order at concurrency 16 across types of an ordered topic,
// graceful stop, and riding out an eragond that is unreachable for a while.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/json.h"
#include "eragon/consumer.h"
#include "sdk/consumer_event.h"
#include "sdk/consumer_scheduler.h"
#include "sdk/consumer_testutil.h"

namespace eragon {
namespace {

using sdk::testing::SdkServer;
using sdk::testing::WaitFor;

constexpr char kRoute[] =
    R"({"type":"pull","start":"earliest","retry":{"max_attempts":100,"initial_backoff_ms":10,"max_backoff_ms":100}})";

std::string EventJson(const std::string& type, const std::string& entity, int seq) {
  return R"({"event_type":")" + type + R"(","entity_id":")" + entity + R"(","data":{"seq":)" +
         std::to_string(seq) + "}}";
}

int64_t SeqOf(const Delivery& d) {
  simdjson::dom::parser parser;
  auto doc = ParseJson(d.event.data, parser);
  int64_t seq = -1;
  if (!doc.ok() || (*doc)["seq"].get_int64().get(seq) != simdjson::SUCCESS) return -1;
  return seq;
}

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    for (const char* t : {"order_created", "order_paid", "order_shipped"}) {
      ASSERT_TRUE(server_.SetProducer(t, "orders", /*ordered=*/true));
      ASSERT_TRUE(server_.SetConsumer(t, "sdk-consumer", kRoute));
    }
    token_ = server_.CreateService("sdk-consumer", R"(["consumer"])");
    ASSERT_FALSE(token_.empty());
  }

  ConsumerOptions Options(int concurrency) {
    ConsumerOptions o;
    o.endpoint = server_.url();
    o.token = token_;
    o.consumer = "sdk-consumer";
    o.concurrency = concurrency;
    o.wait_ms = 200;
    o.nack_delay_ms = 10;
    o.retry_initial_backoff_ms = 10;
    o.retry_max_backoff_ms = 200;
    return o;
  }

  SdkServer server_;
  std::string token_;
};

TEST_F(ConsumerTest, RejectsBadOptionsBeforeStarting) {
  ConsumerOptions o = Options(1);
  o.consumer = "Not A Name";
  Consumer c(o);
  c.OnAny([](const Delivery&) { return Status::Ok(); });
  EXPECT_EQ(c.Start().code(), Code::kInvalidArgument);

  Consumer no_handlers(Options(1));
  Status st = no_handlers.Start();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("handler"), std::string::npos) << st.ToString();

  ConsumerOptions big = Options(1);
  big.max_messages = 1001;
  Consumer too_many(big);
  too_many.OnAny([](const Delivery&) { return Status::Ok(); });
  EXPECT_NE(too_many.Start().message().find("max_messages"), std::string::npos);
}

TEST_F(ConsumerTest, FailedHandlerLeadsToRedeliveryThenAck) {
  std::mutex mu;
  std::map<std::string, std::vector<uint32_t>> attempts;  // event id -> attempts seen
  Consumer c(Options(2));
  // First delivery of each event fails: by error for order_created, by exception for
  // order_paid; the redelivery succeeds.
  c.On("order_created", [&](const Delivery& d) {
    std::lock_guard lock(mu);
    attempts[d.event.id].push_back(d.attempt);
    return d.attempt == 1 ? Status::Unavailable("not yet") : Status::Ok();
  });
  c.On("order_paid", [&](const Delivery& d) -> Status {
    {
      std::lock_guard lock(mu);
      attempts[d.event.id].push_back(d.attempt);
    }
    if (d.attempt == 1) throw std::runtime_error("boom");
    return Status::Ok();
  });
  ASSERT_TRUE(c.Start().ok());
  std::vector<std::string> ids = server_.Publish(
      R"({"events":[)" + EventJson("order_created", "o-1", 1) + "," +
      EventJson("order_paid", "o-1", 2) + "," + EventJson("order_created", "o-2", 1) + "]}");
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_TRUE(WaitFor([&] {
    for (const std::string& id : ids) {
      if (server_.DeliveryState(id, "sdk-consumer") != "delivered") return false;
    }
    return true;
  }));
  c.Stop();
  std::lock_guard lock(mu);
  for (const std::string& id : ids) {
    EXPECT_EQ(attempts[id], (std::vector<uint32_t>{1, 2})) << id;
  }
  ConsumerStats s = c.stats();
  EXPECT_EQ(s.succeeded, 3u);
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.acked, 3u);
  EXPECT_EQ(s.nacked, 3u);
}

TEST_F(ConsumerTest, UnknownTypeWithoutDefaultHandlerIsNackedNotDropped) {
  std::atomic<int> handled{0};
  Consumer c(Options(1));
  c.On("order_created", [&](const Delivery&) {
    ++handled;
    return Status::Ok();
  });
  std::vector<std::string> ids = server_.Publish(EventJson("order_paid", "o-9", 1));
  ASSERT_EQ(ids.size(), 1u);
  ASSERT_TRUE(c.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return c.stats().nacked >= 2; }));
  c.Stop();
  EXPECT_EQ(handled.load(), 0);
  EXPECT_EQ(c.stats().acked, 0u);
  EXPECT_NE(server_.DeliveryState(ids[0], "sdk-consumer"), "delivered");
}

// Many entities, three event types in one ordered topic, 16 handler threads, and
// handlers that fail now and then: every entity's events succeed exactly in publish
// order, and never two of one entity at the same time.
TEST_F(ConsumerTest, KeepsEntityOrderAtConcurrency16) {
  constexpr int kEntities = 40;
  constexpr int kPerEntity = 15;
  const char* types[] = {"order_created", "order_paid", "order_shipped"};

  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> done;  // entity -> seqs that succeeded
  std::set<std::string> running;
  std::atomic<int> overlaps{0}, failures{0}, max_running{0};
  std::atomic<int> now_running{0};
  Consumer c(Options(16));
  c.OnAny([&](const Delivery& d) {
    const std::string& entity = d.event.entity_id;
    {
      std::lock_guard lock(mu);
      if (!running.insert(entity).second) ++overlaps;
    }
    int r = ++now_running;
    int m = max_running.load();
    while (r > m && !max_running.compare_exchange_weak(m, r)) {
    }
    // Spread the handlers out in time so they interleave.
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::hash<std::string>{}(d.event.id) % 2000));
    const int64_t seq = SeqOf(d);
    // A deterministic 1 in 7 of first attempts fail.
    const bool fail = d.attempt == 1 && std::hash<std::string>{}(d.event.id) % 7 == 0;
    --now_running;
    std::lock_guard lock(mu);
    running.erase(entity);
    if (fail) {
      ++failures;
      return Status::Unavailable("failing on purpose");
    }
    done[entity].push_back(seq);
    return Status::Ok();
  });
  ASSERT_TRUE(c.Start().ok());

  // Publish while consuming: batches that mix entities and types.
  std::mt19937 rng(42);
  std::vector<int> next(kEntities, 1);
  int published = 0;
  while (published < kEntities * kPerEntity) {
    std::string body = R"({"events":[)";
    for (int i = 0; i < 50 && published < kEntities * kPerEntity;) {
      int e = static_cast<int>(rng() % kEntities);
      if (next[e] > kPerEntity) continue;
      if (i > 0) body += ",";
      body += EventJson(types[rng() % 3], "order-" + std::to_string(e), next[e]++);
      ++i;
      ++published;
    }
    body += "]}";
    ASSERT_FALSE(server_.Publish(body).empty());
  }

  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        size_t n = 0;
        for (const auto& [e, seqs] : done) n += seqs.size();
        return n >= static_cast<size_t>(kEntities * kPerEntity);
      },
      std::chrono::seconds(120)));
  c.Stop();

  std::lock_guard lock(mu);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GT(failures.load(), 0);
  ASSERT_EQ(done.size(), static_cast<size_t>(kEntities));
  std::vector<int64_t> want;
  for (int i = 1; i <= kPerEntity; ++i) want.push_back(i);
  for (const auto& [entity, seqs] : done) EXPECT_EQ(seqs, want) << entity;
  printf("handlers running at once: up to %d of 16; first-attempt failures: %d\n",
         max_running.load(), failures.load());
}

// Stop() lets running handlers finish and acks them; what was fetched but not started
// goes back to eragond at once, and a second consumer gets exactly the rest.
TEST_F(ConsumerTest, GracefulStopAcksRunningHandlersAndReturnsTheRest) {
  constexpr int kEvents = 40;
  std::string body = R"({"events":[)";
  for (int i = 0; i < kEvents; ++i) {
    body += (i ? "," : "") + EventJson("order_created", "stop-" + std::to_string(i), 1);
  }
  ASSERT_EQ(server_.Publish(body + "]}").size(), static_cast<size_t>(kEvents));

  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int started = 0;
  std::set<std::string> first;
  ConsumerOptions o = Options(4);
  o.max_messages = 20;
  Consumer c1(o);
  c1.OnAny([&](const Delivery& d) {
    std::unique_lock lock(mu);
    ++started;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    first.insert(d.event.id);
    return Status::Ok();
  });
  ASSERT_TRUE(c1.Start().ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return started == 4; }));
  }
  std::atomic<bool> stop_returned{false};
  std::thread stopper([&] {
    c1.Stop();
    stop_returned = true;
  });
  // Stop must wait for the four blocked handlers: it may not return before they are let go.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(stop_returned.load());
    release = true;
    cv.notify_all();
  }
  stopper.join();
  // Usually exactly the four blocked ones ran; a slow stopper thread may let a few more in
  // before the scheduler closes. Either way: every handled event was acked before Stop
  // returned, every other fetched one was handed back.
  ConsumerStats s1 = c1.stats();
  EXPECT_GE(first.size(), 4u);
  EXPECT_EQ(s1.succeeded, first.size());
  EXPECT_EQ(s1.acked, first.size());
  EXPECT_EQ(s1.nacked, s1.fetched - first.size());
  for (const std::string& id : first) {
    EXPECT_EQ(server_.DeliveryState(id, "sdk-consumer"), "delivered");
  }

  std::set<std::string> second;
  Consumer c2(Options(4));
  c2.OnAny([&](const Delivery& d) {
    std::lock_guard lock(mu);
    second.insert(d.event.id);
    return Status::Ok();
  });
  ASSERT_TRUE(c2.Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return first.size() + second.size() >= static_cast<size_t>(kEvents);
  }));
  c2.Stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(first.size() + second.size(), static_cast<size_t>(kEvents));
  for (const std::string& id : first) EXPECT_EQ(second.count(id), 0u) << id;
}

// eragond goes away (SIGTERM) while the consumer runs and comes back on the same
// address: the consumer reconnects by itself and handles what was published meanwhile
// and afterwards.
TEST(ConsumerReconnectTest, RidesOutAnUnreachableServer) {
  const uint16_t port = sdk::testing::FreePort();
  ASSERT_NE(port, 0);
  SdkServer server({"--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(server.SetProducer("order_created", "orders", true));
  ASSERT_TRUE(server.SetConsumer("order_created", "sdk-consumer", kRoute));
  const std::string token = server.CreateService("sdk-consumer", R"(["consumer"])");
  std::mutex mu;
  std::set<std::string> seen;
  ConsumerOptions o;
  o.endpoint = server.url();
  o.token = token;
  o.consumer = "sdk-consumer";
  o.wait_ms = 100;
  o.retry_initial_backoff_ms = 10;
  o.retry_max_backoff_ms = 100;
  Consumer c(o);
  c.OnAny([&](const Delivery& d) {
    std::lock_guard lock(mu);
    seen.insert(d.event.entity_id);
    return Status::Ok();
  });
  ASSERT_TRUE(c.Start().ok());
  ASSERT_FALSE(server.Publish(EventJson("order_created", "before", 1)).empty());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return seen.count("before") == 1;
  }));

  ASSERT_TRUE(WaitFor([&] { return c.stats().acked == 1; }));
  ASSERT_TRUE(server.process().Stop().ok());
  ASSERT_TRUE(WaitFor([&] { return c.stats().fetch_errors >= 3; }));
  ASSERT_TRUE(server.process().Start().ok());
  ASSERT_EQ(server.url(), o.endpoint);
  ASSERT_FALSE(server.Publish(EventJson("order_created", "after", 1)).empty());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return seen.count("after") == 1;
  }));
  c.Stop();
  EXPECT_EQ(c.stats().acked, 2u);
}

}  // namespace
}  // namespace eragon

namespace eragon::sdk {
namespace {

EntityScheduler::Item ItemOf(const std::string& entity, int seq) {
  EntityScheduler::Item item;
  item.ack_id = entity + "#" + std::to_string(seq);
  item.delivery.event.entity_id = entity;
  item.delivery.event.data = std::to_string(seq);
  return item;
}

// Several events of one entity in one fetch (as an unordered topic may hand out): 8
// threads still run each entity's events one at a time and in the order added.
TEST(EntitySchedulerTest, OneEntityAtATimeInOrder) {
  EntityScheduler s;
  std::vector<EntityScheduler::Item> items;
  for (int seq = 0; seq < 200; ++seq) {
    for (int e = 0; e < 5; ++e) items.push_back(ItemOf("e" + std::to_string(e), seq));
  }
  s.Add(std::move(items));
  std::mutex mu;
  std::map<std::string, std::vector<int>> order;
  std::set<std::string> running;
  std::atomic<int> overlaps{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (auto item = s.Take()) {
        const std::string entity = item->delivery.event.entity_id;
        {
          std::lock_guard lock(mu);
          if (!running.insert(entity).second) ++overlaps;
          order[entity].push_back(std::stoi(item->delivery.event.data));
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          running.erase(entity);
        }
        s.Done(entity);
      }
    });
  }
  ASSERT_TRUE(testing::WaitFor([&] { return s.outstanding() == 0; }));
  s.Close();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(overlaps.load(), 0);
  ASSERT_EQ(order.size(), 5u);
  for (const auto& [entity, seqs] : order) {
    ASSERT_EQ(seqs.size(), 200u) << entity;
    for (int i = 0; i < 200; ++i) ASSERT_EQ(seqs[i], i) << entity;
  }
}

TEST(EntitySchedulerTest, CloseStopsTakingAndReturnsTheUnstarted) {
  EntityScheduler s;
  s.Add({ItemOf("a", 1), ItemOf("a", 2), ItemOf("b", 1)});
  EXPECT_EQ(s.WaitForRoom(10), 7u);
  std::optional<EntityScheduler::Item> first = s.Take();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->ack_id, "a#1");
  std::optional<EntityScheduler::Item> second = s.Take();  // "a" is running: "b" is next
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->ack_id, "b#1");
  s.Close();
  EXPECT_FALSE(s.Take().has_value());
  EXPECT_EQ(s.WaitForRoom(10), 0u);
  std::vector<EntityScheduler::Item> rest = s.TakeUnstarted();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].ack_id, "a#2");
  s.Done("a");
  s.Done("b");
  EXPECT_EQ(s.outstanding(), 0u);
}

TEST(FetchAnswerTest, ParsesMessagesAndFlagsBrokenEvents) {
  Result<std::vector<PulledMessage>> msgs = ParseFetchAnswer(
      R"({"messages":[{"ack_id":"k1","attempt":2,"event":{"id":"e1","event_type":"t","entity_id":"x","producer":"p","occurred_at":5,"data":{"a": [1, 2]}}},)"
      R"({"ack_id":"k2","attempt":1,"event":{"id":"e2","event_type":"BAD TYPE","entity_id":"x","data":1}}]})");
  ASSERT_TRUE(msgs.ok()) << msgs.status().ToString();
  ASSERT_EQ(msgs->size(), 2u);
  const PulledMessage& m = (*msgs)[0];
  EXPECT_TRUE(m.status.ok());
  EXPECT_EQ(m.ack_id, "k1");
  EXPECT_EQ(m.delivery.attempt, 2u);
  EXPECT_EQ(m.delivery.event.id, "e1");
  EXPECT_EQ(m.delivery.event.producer, "p");
  EXPECT_EQ(m.delivery.event.occurred_at, 5);
  EXPECT_EQ(m.delivery.event.data, R"({"a": [1, 2]})");
  EXPECT_EQ((*msgs)[1].ack_id, "k2");
  EXPECT_EQ((*msgs)[1].status.code(), Code::kInvalidArgument);

  EXPECT_FALSE(ParseFetchAnswer("{}").ok());
  EXPECT_FALSE(ParseFetchAnswer("not json").ok());
  EXPECT_FALSE(ParseFetchAnswer(R"({"messages":[{"attempt":1}]})").ok());
}

}  // namespace
}  // namespace eragon::sdk
