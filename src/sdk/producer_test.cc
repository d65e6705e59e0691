// Producer against a real eragond: sync and async publish, ids and exactly-once by id,
// per-entity order, errors that fail one event, queue full, close, file-queue replay.
#include "eragon/producer.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/uuid.h"
#include "producer_testutil.h"

namespace eragon {
namespace {

using namespace sdk::producer_testing;
using std::chrono::milliseconds;

constexpr char kType[] = "order_created";

Event MakeEvent(const std::string& entity, int64_t seq, std::string id = "") {
  Event e;
  e.id = std::move(id);
  e.event_type = kType;
  e.entity_id = entity;
  e.data = R"({"seq":)" + std::to_string(seq) + "}";
  return e;
}

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto token = server_.StartForOrders();
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    token_ = *token;
  }

  void TearDown() override {
    for (const std::string& dir : temp_dirs_) std::filesystem::remove_all(dir);
  }

  ProducerOptions Options() {
    ProducerOptions o;
    o.endpoint = server_.url();
    o.token = token_;
    return o;
  }

  // Options() with a file queue in a fresh directory, removed after the test (also when
  // it fails half-way).
  ProducerOptions FileQueueOptions() {
    char tmpl[] = "/tmp/eragon-producer-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    temp_dirs_.emplace_back(tmpl);
    ProducerOptions o = Options();
    o.queue = QueueKind::kFile;
    o.backup_dir = std::string(tmpl) + "/backup";
    return o;
  }

  std::unique_ptr<Producer> OpenProducer(const ProducerOptions& o) {
    auto p = Producer::Open(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  TestServer server_;
  std::string token_;
  std::vector<std::string> temp_dirs_;
};

TEST_F(ProducerTest, SyncPublishReturnsOnceStoredWithAUuidV7Id) {
  ProducerOptions o = Options();
  o.mode = PublishMode::kSync;
  auto p = OpenProducer(o);
  PublishFuture f = p->Publish(MakeEvent("o-1", 1));
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  Result<PublishAck> ack = f.get();
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_FALSE(ack->duplicate);
  EXPECT_TRUE(UuidV7Timestamp(ack->id).has_value()) << ack->id;
  auto got = server_.GetEvent(ack->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, 200) << got->body;
  EXPECT_NE(got->body.find(R"("data":{"seq":1})"), std::string::npos) << got->body;
  EXPECT_EQ(got->body.find(R"("occurred_at":0)"), std::string::npos) << got->body;

  // The callback form runs the callback before returning in sync mode.
  bool called = false;
  ASSERT_TRUE(p->Publish(MakeEvent("o-1", 2), [&](const Result<PublishAck>& r) {
                 EXPECT_TRUE(r.ok()) << r.status().ToString();
                 called = true;
               }).ok());
  EXPECT_TRUE(called);
  EXPECT_TRUE(p->Close().ok());
}

TEST_F(ProducerTest, AsyncStreamArrivesExactlyOnceInOrderPerEntity) {
  ProducerOptions o = Options();
  o.batch_max_events = 100;
  auto p = OpenProducer(o);
  constexpr int kEntities = 30, kEach = 100;
  std::vector<PublishFuture> futures;
  for (int i = 0; i < kEach; ++i) {
    for (int e = 0; e < kEntities; ++e) {
      futures.push_back(p->Publish(MakeEvent("order-" + std::to_string(e), i)));
    }
  }
  ASSERT_TRUE(p->Flush(std::chrono::minutes(2)).ok());
  std::vector<std::string> ids;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "after Flush";
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ids.push_back(r->id);
  }
  auto stored = server_.ListEvents(kType);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(CheckExactlyOnceInOrder(*stored, ids), "");
  EXPECT_GE(p->Stats().acked, static_cast<uint64_t>(kEntities * kEach));
  EXPECT_LT(p->Stats().requests, static_cast<uint64_t>(kEntities * kEach)) << "batched";
}

TEST_F(ProducerTest, PublishingAnIdAgainIsADuplicateNotASecondEvent) {
  auto p = OpenProducer(Options());
  auto first = p->Publish(MakeEvent("o-7", 1, "fixed-id-1")).get();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->duplicate);
  auto second = p->Publish(MakeEvent("o-7", 1, "fixed-id-1")).get();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->id, "fixed-id-1");
  auto stored = server_.ListEvents(kType);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 1u);
}

TEST_F(ProducerTest, ARejectedEventFailsAloneAndTheRestOfItsBatchIsStored) {
  ASSERT_TRUE(server_.CreateProducerService("other-service").ok());
  ASSERT_TRUE(server_.SetProducerRoute("payment_made", "other-service", "payments").ok());
  ProducerOptions o = Options();
  o.linger_ms = 60'000;  // one batch: sent by Flush
  o.lanes = 1;
  auto p = OpenProducer(o);
  auto good1 = p->Publish(MakeEvent("o-1", 1));
  Event no_route = MakeEvent("o-1", 2);
  no_route.event_type = "no_such_type";
  auto bad1 = p->Publish(no_route);
  auto good2 = p->Publish(MakeEvent("o-1", 3));
  Event not_ours = MakeEvent("o-2", 4);
  not_ours.event_type = "payment_made";
  auto bad2 = p->Publish(not_ours);
  auto good3 = p->Publish(MakeEvent("o-2", 5));
  ASSERT_TRUE(p->Flush(std::chrono::minutes(2)).ok());
  auto r1 = bad1.get();
  EXPECT_EQ(r1.status().code(), Code::kUnknownEventType) << r1.status().ToString();
  auto r2 = bad2.get();
  EXPECT_EQ(r2.status().code(), Code::kPermissionDenied) << r2.status().ToString();
  std::vector<std::string> ids;
  for (auto* f : {&good1, &good2, &good3}) {
    auto r = f->get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ids.push_back(r->id);
  }
  auto stored = server_.ListEvents(kType);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(CheckExactlyOnceInOrder(*stored, ids), "");
  EXPECT_EQ(p->Stats().failed, 2u);
  EXPECT_EQ(p->Stats().queue.records, 0u);
}

TEST_F(ProducerTest, InvalidEventsAreRejectedBeforeQueueing) {
  auto p = OpenProducer(Options());
  Event bad_type = MakeEvent("o-1", 1);
  bad_type.event_type = "Bad Type";
  Event bad_json = MakeEvent("o-1", 1);
  bad_json.data = R"({"seq":)";
  Event no_data = MakeEvent("o-1", 1);
  no_data.data = "  ";
  Event bad_id = MakeEvent("o-1", 1, "has space");
  Event bad_entity = MakeEvent("", 1);
  Event bad_trace = MakeEvent("o-1", 1);
  bad_trace.traceparent = "not-a-traceparent";
  const std::pair<Event*, Code> cases[] = {
      {&bad_type, Code::kInvalidArgument},   {&bad_json, Code::kInvalidJson},
      {&no_data, Code::kInvalidArgument},    {&bad_id, Code::kInvalidArgument},
      {&bad_entity, Code::kInvalidArgument}, {&bad_trace, Code::kInvalidArgument}};
  for (const auto& [event, code] : cases) {
    PublishFuture f = p->Publish(*event);
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_EQ(f.get().status().code(), code);
    EXPECT_EQ(p->Publish(*event, [](const Result<PublishAck>&) { ADD_FAILURE(); }).code(), code);
  }
  EXPECT_EQ(p->Stats().queue.records, 0u);
  EXPECT_EQ(p->Stats().queue.next_seq, 0u);
}

TEST_F(ProducerTest, PublishBatchIsAllOrNothingAndKeepsOrder) {
  ProducerOptions o = FileQueueOptions();
  auto p = OpenProducer(o);
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i) events.push_back(MakeEvent("o-" + std::to_string(i % 2), i));
  std::vector<Event> with_bad = events;
  with_bad[7].data = "{";
  auto rejected = p->PublishBatch(with_bad);
  ASSERT_EQ(rejected.status().code(), Code::kInvalidJson);
  EXPECT_NE(rejected.status().message().find("events[7]"), std::string::npos)
      << rejected.status().message();
  EXPECT_EQ(p->Stats().queue.next_seq, 0u) << "nothing was queued";
  auto futures = p->PublishBatch(events);
  ASSERT_TRUE(futures.ok()) << futures.status().ToString();
  ASSERT_EQ(futures->size(), 10u);
  std::vector<std::string> ids;
  for (auto& f : *futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ids.push_back(r->id);
  }
  auto stored = server_.ListEvents(kType);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(CheckExactlyOnceInOrder(*stored, ids), "");
  EXPECT_TRUE(p->Close().ok());
}

TEST_F(ProducerTest, TraceparentTravelsWithTheEvent) {
  auto p = OpenProducer(Options());
  Event e = MakeEvent("o-9", 1);
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto traced = p->Publish(e);
  auto plain = p->Publish(MakeEvent("o-9", 2));
  auto r = traced.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto got = server_.GetEvent(r->id);
  ASSERT_TRUE(got.ok());
  EXPECT_NE(got->body.find(e.traceparent), std::string::npos) << got->body;
  auto r2 = plain.get();
  ASSERT_TRUE(r2.ok());
  auto got2 = server_.GetEvent(r2->id);
  ASSERT_TRUE(got2.ok());
  EXPECT_EQ(got2->body.find("traceparent"), std::string::npos) << got2->body;
}

TEST_F(ProducerTest, WrongTokenFailsWithUnauthenticated) {
  ProducerOptions o = Options();
  o.token = "ert_" + std::string(64, '0');
  auto p = OpenProducer(o);
  auto r = p->Publish(MakeEvent("o-1", 1)).get();
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
}

TEST_F(ProducerTest, FileQueueEventsLeftAtCloseArePublishedByTheNextOpen) {
  ProducerOptions o = FileQueueOptions();
  o.endpoint = "http://127.0.0.1:" + std::to_string(FreePort());  // nothing listens there
  o.close_timeout_ms = 0;
  o.retry_backoff_initial_ms = 10;
  o.retry_backoff_max_ms = 50;
  std::vector<std::string> ids;
  {
    auto p = OpenProducer(o);
    std::vector<PublishFuture> futures;
    for (int i = 0; i < 20; ++i)
      futures.push_back(p->Publish(MakeEvent("o-" + std::to_string(i % 3), i)));
    Status closed = p->Close();
    EXPECT_EQ(closed.code(), Code::kUnavailable);
    EXPECT_NE(closed.message().find("kept in the backup"), std::string::npos) << closed.message();
    for (auto& f : futures) {
      auto r = f.get();
      EXPECT_EQ(r.status().code(), Code::kUnavailable);
    }
  }
  // The ids are in the backup; read them back from what the server stores below.
  o.endpoint = server_.url();
  std::vector<std::string> replay_failures;
  o.on_replayed_failure = [&](const std::string& id, const Status&) {
    replay_failures.push_back(id);
  };
  auto p = OpenProducer(o);
  EXPECT_EQ(p->Stats().queue.next_seq, 20u) << "the 20 events were replayed from the backup";
  ASSERT_TRUE(p->Flush(std::chrono::minutes(2)).ok());
  EXPECT_TRUE(replay_failures.empty());
  auto stored = server_.ListEvents(kType);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 20u);
  for (const auto& e : *stored) ids.push_back(e.id);
  EXPECT_EQ(CheckExactlyOnceInOrder(*stored, ids), "");
  ASSERT_TRUE(p->Close().ok());
  // Everything was acknowledged: a third open has nothing to send.
  auto again = OpenProducer(o);
  EXPECT_EQ(again->Stats().queue.records, 0u);
}

// Not server-dependent: the endpoint has no listener, so nothing is ever acknowledged.
TEST(ProducerQueueFull, BlocksThenFailsAndMemoryStaysBounded) {
  ProducerOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(FreePort());
  o.token = "ert_unused";
  o.queue_max_events = 50;
  o.queue_max_bytes = 1 << 20;
  o.queue_full_block_ms = 100;
  o.close_timeout_ms = 0;
  o.retry_backoff_initial_ms = 10;
  auto p = Producer::Open(o);
  ASSERT_TRUE(p.ok());
  std::vector<PublishFuture> futures;
  for (int i = 0; i < 50; ++i) futures.push_back((*p)->Publish(MakeEvent("o-1", i)));
  const auto start = std::chrono::steady_clock::now();
  auto full = (*p)->Publish(MakeEvent("o-1", 50)).get();
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(100)) << "blocked first";
  ASSERT_EQ(full.status().code(), Code::kResourceExhausted);
  EXPECT_NE(full.status().message().find("event queue full"), std::string::npos);
  EXPECT_EQ((*p)->Stats().queue.records, 50u);
  // The byte limit bounds memory as well.
  ProducerOptions ob = o;
  ob.queue_max_events = 1'000'000;
  ob.queue_max_bytes = 64 << 10;
  ob.queue_full_block_ms = 0;
  auto pb = Producer::Open(ob);
  ASSERT_TRUE(pb.ok());
  Event big = MakeEvent("o-2", 0);
  big.data = R"({"seq":0,"pad":")" + std::string(1000, 'x') + "\"}";
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    if ((*pb)->Publish(big, [](const Result<PublishAck>&) {}).ok()) ++accepted;
  }
  EXPECT_LE((*pb)->Stats().queue.bytes, 64u << 10);
  EXPECT_LT(accepted, 70);
  EXPECT_GT(accepted, 40);
  // Close drops the memory queue's events and says so.
  Status closed = (*p)->Close();
  EXPECT_EQ(closed.code(), Code::kUnavailable);
  EXPECT_NE(closed.message().find("dropped"), std::string::npos) << closed.message();
  for (auto& f : futures) EXPECT_EQ(f.get().status().code(), Code::kUnavailable);
  EXPECT_EQ((*p)->Publish(MakeEvent("o-1", 99)).get().status().code(), Code::kUnavailable);
}

TEST(ProducerRetries, GivesUpAfterMaxRetriesAndFlushTimesOut) {
  ProducerOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(FreePort());
  o.token = "ert_unused";
  o.max_retries = 2;
  o.retry_backoff_initial_ms = 1;
  o.retry_backoff_max_ms = 5;
  auto p = Producer::Open(o);
  ASSERT_TRUE(p.ok());
  auto r = (*p)->Publish(MakeEvent("o-1", 1)).get();
  ASSERT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("gave up after 3 attempts"), std::string::npos)
      << r.status().message();
  EXPECT_EQ((*p)->Stats().requests, 3u);

  ProducerOptions forever = o;
  forever.max_retries = -1;
  forever.close_timeout_ms = 0;
  auto q = Producer::Open(forever);
  ASSERT_TRUE(q.ok());
  auto pending = (*q)->Publish(MakeEvent("o-1", 1));
  EXPECT_EQ((*q)->Flush(milliseconds(50)).code(), Code::kUnavailable);
}

TEST(ProducerOptionsCheck, BadOptionsAreRejected) {
  ProducerOptions o;
  o.endpoint = "127.0.0.1:1";
  o.token = "t";
  EXPECT_EQ(Producer::Open(o).status().code(), Code::kInvalidArgument);
  o.endpoint = "http://127.0.0.1:1";
  o.queue = QueueKind::kFile;
  EXPECT_EQ(Producer::Open(o).status().code(), Code::kInvalidArgument);  // no backup_dir
  o.queue = QueueKind::kMemory;
  o.batch_max_events = 5000;
  EXPECT_EQ(Producer::Open(o).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace eragon
