// Cluster mode's work split (API.md "Running a cluster"): three eragond nodes on one
// PostgreSQL config store and one Kafka broker (the ctest fixtures `postgres` and
// `kafka_broker`). Each (consumer, partition) is delivered by one node at a time: every
// event is pushed once in steady state, the nodes share the partitions, a node killed
// with kill -9 while 8 clients publish through all the nodes has its partitions taken
// over within 15 s with nothing lost at a push and a pull consumer, per-entity order held
// and `entity_event` dedup holding (the dedup keys are shared; other events may
// come twice: at-least-once), a clean restart (SIGTERM, then the node joins again) hands
// partitions over and back pushing nothing twice, a pull client fetching (and acking)
// through every node in turn gets each event once, and one fetching through a single
// node gets every node's partitions and may ack or nack through any node.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/murmur2.h"
#include "test_util.h"
#include "testing/test_http_server.h"
#include "testing/test_postgres.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;
using SteadyClock = std::chrono::steady_clock;

constexpr uint32_t kPartitions = 8;

// What the consumer's endpoint received: per event id how often, per entity the sequence
// numbers in arrival order, per partition when its last push arrived.
struct Received {
  std::mutex mu;
  std::map<std::string, int> count;
  std::map<std::string, std::vector<int>> seqs;
  std::map<uint32_t, std::vector<std::pair<SteadyClock::time_point, int>>> at;  // partition
  std::atomic<int> total{0};

  TestAnswer Record(const TestRequest& r) {
    Json body(r.body);
    Add(r.Header("Eragon-Event-Id").value_or(""), r.Header("Eragon-Entity-Id").value_or(""),
        static_cast<int>(body.Int({"data", "seq"}).value_or(-1)));
    return TestAnswer{};
  }
  void Add(const std::string& id, const std::string& entity, int seq) {
    std::lock_guard lock(mu);
    ++count[id];
    seqs[entity].push_back(seq);
    at[Murmur2Partition(entity, kPartitions)].emplace_back(SteadyClock::now(), seq);
    ++total;
  }
  int Distinct() {
    std::lock_guard lock(mu);
    return static_cast<int>(count.size());
  }
  int Duplicates() {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& [id, c] : count) n += c - 1;
    return n;
  }
  // Per entity, each event is first delivered only after every earlier one of its entity
  // (a redelivery after a takeover may repeat earlier ones: at-least-once).
  void ExpectEntityOrder() {
    std::lock_guard lock(mu);
    for (const auto& [entity, list] : seqs) {
      std::set<int> seen;
      int highest = -1;
      for (int s : list) {
        if (seen.insert(s).second) {
          EXPECT_GT(s, highest) << "entity " << entity << " got " << s << " after " << highest;
          highest = std::max(highest, s);
        }
      }
    }
  }
};

// A consumer's endpoint that records the pushes, or answers `refusal` while `refusing`.
struct SwitchableEndpoint {
  explicit SwitchableEndpoint(int refusal_status) : refusal(refusal_status) {}
  Received got;
  std::atomic<bool> refusing{false};
  const int refusal;
  TestHttpServer server{[this](const TestRequest& r) {
    if (!refusing) return got.Record(r);
    TestAnswer answer;
    answer.status = refusal;
    return answer;
  }};
};

class ClusterTest : public ServerTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestPostgresUrl().empty())
        << "no PostgreSQL: run through ctest (fixture postgres)";
    ASSERT_FALSE(KafkaBootstrap().empty()) << "no broker: run through ctest (fixture kafka_broker)";
    db_ = std::make_unique<TestDatabase>(TestPostgresUrl());
    ASSERT_TRUE(db_->ok()) << db_->error();
    prefix_ = NewTopicPrefix("c");
    ServerTest::SetUp();  // node 0
    if (HasFatalFailure()) return;
    for (int i = 1; i < 3; ++i) {
      // The nodes share the admin service: each gets a copy of node 0's token, so the
      // test's admin calls work on every node.
      std::string dir = server_->data_dir() + "-node-" + std::to_string(i);
      std::filesystem::create_directories(dir);
      std::filesystem::copy_file(server_->data_dir() + "/admin.token", dir + "/admin.token");
      ::chmod((dir + "/admin.token").c_str(), 0600);
      auto node = std::make_unique<ServerProcess>(server_->binary(), ExtraArgs());
      node->UseDataDir(dir);
      Status st = node->Start();
      ASSERT_TRUE(st.ok()) << st.ToString();
      others_.push_back(std::move(node));
      dirs_.push_back(dir);
    }
    // Entities covering every partition three times, each entity's sequence from 0.
    std::map<uint32_t, int> per_partition;
    for (int i = 0; entities_.size() < 3 * kPartitions; ++i) {
      std::string e = "order-" + std::to_string(i);
      if (per_partition[Murmur2Partition(e, kPartitions)]++ < 3) entities_.push_back(e);
    }
  }
  void TearDown() override {
    if (HasFailure()) {
      for (auto& n : others_) std::cerr << "node " << n->url() << ":\n" << n->Logs();
    }
    others_.clear();
    ServerTest::TearDown();
    server_.reset();
    for (const std::string& d : dirs_) std::filesystem::remove_all(d);
    db_.reset();
  }
  std::vector<std::string> ExtraArgs() override { return ClusterArgs(db_->url(), prefix_); }

  ServerProcess* Node(int i) { return i == 0 ? server_.get() : others_[i - 1].get(); }

  // The node's eragon_delivering_partitions (-1 when it does not answer).
  int Delivering(int i) {
    if (!Node(i)->running()) return -1;
    HttpClient c(Node(i)->url());
    Result<HttpReply> r = c.Request("GET", "/metrics", "", {});
    if (!r.ok() || r->status != 200) return -1;
    const std::string key = "\neragon_delivering_partitions ";
    size_t at = r->body.find(key);
    return at == std::string::npos ? -1 : std::atoi(r->body.c_str() + at + key.size());
  }
  // Whether the running nodes deliver all partitions between them, each some.
  bool Shared() {
    int sum = 0;
    for (int i = 0; i < 3; ++i) {
      if (!Node(i)->running()) continue;
      int n = Delivering(i);
      if (n <= 0) return false;
      sum += n;
    }
    return sum == static_cast<int>(kPartitions) * routes_;
  }

  // A push consumer on an ordered 8-partition Kafka topic.
  void Routes(const std::string& url) {
    CreateService("order-service", {"producer"});
    SetProducer("order_created", "order-service",
                R"("channel":"kafka","ordered":true,"topic":"orders","partitions":8)");
    ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/payment-service",
                    R"({"type":"http","url":")" + url + R"(","start":"earliest"})")
                  .status,
              201);
  }

  // The push route to `endpoint`, then `events` events published through the nodes in
  // turn and pushed.
  void PushedOnce(SwitchableEndpoint& endpoint, int events) {
    Routes(endpoint.server.Url());
    ASSERT_TRUE(WaitFor([&] { return Shared(); }, std::chrono::seconds(60)));
    for (int n = 0; n < events; ++n) ASSERT_NE(Publish(n % 3, n), "") << n;
    ASSERT_TRUE(
        WaitFor([&] { return endpoint.got.Distinct() >= events; }, std::chrono::seconds(60)));
  }

  // A pull consumer `worker` on an ordered 8-partition Kafka topic, its token in *token,
  // once the nodes share the partitions.
  void PullRoute(std::string* token) {
    CreateService("order-service", {"producer"});
    SetProducer("order_created", "order-service",
                R"("channel":"kafka","ordered":true,"topic":"orders","partitions":8)");
    ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/worker",
                    R"({"type":"pull","start":"earliest"})")
                  .status,
              201);
    *token = CreateService("worker", {"consumer"});
    ASSERT_TRUE(WaitFor([&] { return Shared(); }, std::chrono::seconds(60)));
  }

  // Publishes event number `n` (entity n % entities, seq n / entities) through node `i`;
  // returns its id, or "" when the node did not answer 202.
  std::string Publish(int i, int n) { return PublishTo(Node(i)->url(), n); }
  std::string PublishTo(const std::string& url, int n) {
    const std::string& entity = entities_[n % entities_.size()];
    const int seq = n / static_cast<int>(entities_.size());
    HttpClient c(url);
    Result<HttpReply> r =
        c.Request("POST", "/v1/events",
                  EventJson("order_created", entity, R"({"seq":)" + std::to_string(seq) + "}",
                            prefix_ + "ev-" + std::to_string(n)),
                  {{"Authorization", "Bearer " + server_->admin_token()}});
    if (!r.ok() || r->status != 202) return "";
    return prefix_ + "ev-" + std::to_string(n);
  }

  std::unique_ptr<TestDatabase> db_;
  std::string prefix_;
  std::vector<std::unique_ptr<ServerProcess>> others_;
  std::vector<std::string> dirs_;
  std::vector<std::string> entities_;
  int routes_ = 1;  // consumer routes on the topic: each has its kPartitions to deliver
};

TEST_F(ClusterTest, EachEventIsPushedOnceByOneNodeAndTheNodesShareThePartitions) {
  Received got;
  TestHttpServer endpoint([&](const TestRequest& r) { return got.Record(r); });
  Routes(endpoint.Url());
  ASSERT_TRUE(WaitFor([&] { return Shared(); }, std::chrono::seconds(60)))
      << Delivering(0) << " " << Delivering(1) << " " << Delivering(2);
  std::cout << "partitions per node: " << Delivering(0) << " " << Delivering(1) << " "
            << Delivering(2) << "\n";
  constexpr int kEvents = 480;
  for (int n = 0; n < kEvents; ++n) ASSERT_NE(Publish(n % 3, n), "") << n;
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() >= kEvents; }, std::chrono::seconds(60)))
      << got.Distinct();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(got.total.load(), kEvents) << "an event was pushed by two nodes";
  EXPECT_EQ(got.Duplicates(), 0);
  got.ExpectEntityOrder();

  // A clean restart of a node: its partitions move to the others and come back, each
  // handed over with its position committed (nothing lost, nothing pushed twice).
  std::atomic<bool> stop{false};
  std::atomic<int> published{kEvents};
  std::thread publisher([&] {
    for (int n = kEvents; !stop; ++n) {
      if (Publish(n % 2, n).empty()) break;  // through the nodes that stay up
      published = n + 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_TRUE(Node(2)->Restart().ok());
  ASSERT_TRUE(WaitFor([&] { return Shared() && Delivering(2) > 0; }, std::chrono::seconds(60)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop = true;
  publisher.join();
  const int all = published.load();
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() >= all; }, std::chrono::seconds(60)))
      << got.Distinct() << " of " << all;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::cout << "clean restart: " << all << " events, " << got.Duplicates() << " pushed twice\n";
  // A clean handover commits every position it hands over: no node's partitions were lost
  // (a commit of the group refused mid-rebalance used to cause that) and nothing was pushed
  // twice. Only a kill -9 (the next test) may deliver again.
  std::string why;
  for (int i = 0; i < 3; ++i) {
    std::istringstream logs(Node(i)->Logs());
    for (std::string line; std::getline(logs, line);) {
      for (const char* s : {"pushes were still out", "lost (the group", "not committed"}) {
        if (line.find(s) != std::string::npos) why += "\n  node " + std::to_string(i) + ": " + line;
      }
    }
  }
  EXPECT_EQ(why, "") << "a clean handover gave partitions up without their positions";
  EXPECT_EQ(got.Duplicates(), 0) << "a clean handover pushes nothing twice";
  got.ExpectEntityOrder();
}

TEST_F(ClusterTest, AKilledNodesPartitionsAreTakenOverWithin15sLosingNothing) {
  Received got;
  TestHttpServer endpoint([&](const TestRequest& r) { return got.Record(r); });
  Routes(endpoint.Url());
  // A second consumer with `entity_event` dedup: each entity's first order_created only,
  // also across the takeover (the dedup keys are in PostgreSQL, seen by the new owner).
  Received audit;
  TestHttpServer audit_endpoint([&](const TestRequest& r) { return audit.Record(r); });
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/audit",
                  R"({"type":"http","url":")" + audit_endpoint.Url() +
                      R"(","start":"earliest","dedup":"entity_event"})")
                .status,
            201);
  // And a pull consumer, fetching and acking through nodes 0 and 1 (node 2 is killed).
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/worker",
                  R"({"type":"pull","start":"earliest"})")
                .status,
            201);
  const std::string worker_token = CreateService("worker", {"consumer"});
  routes_ = 3;
  ASSERT_TRUE(WaitFor([&] { return Shared(); }, std::chrono::seconds(60)));
  // The nodes' addresses before the kill (node 2 comes back on another port).
  const std::vector<std::string> urls{Node(0)->url(), Node(1)->url(), Node(2)->url()};
  std::mutex mu;
  std::vector<std::pair<std::string, SteadyClock::time_point>> acked;  // id, when 202'd
  std::atomic<bool> stop{false};
  // 8 clients publishing through all three nodes; each owns 3 of the 24 entities and
  // publishes their events in sequence (so each entity's order is defined).
  std::vector<std::thread> publishers;
  for (int t = 0; t < 8; ++t) {
    publishers.emplace_back([&, t] {
      const int per_round = static_cast<int>(entities_.size());
      for (int round = 0, k = 0; !stop; ++round) {
        for (int e = t; e < per_round && !stop; e += 8, ++k) {
          const int n = round * per_round + e;
          std::string id = PublishTo(urls[(t + k) % 3], n);
          if (!id.empty()) {
            std::lock_guard lock(mu);
            acked.emplace_back(id, SteadyClock::now());
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    });
  }
  Received pulled;
  std::atomic<bool> stop_pull{false};
  std::thread puller([&] {
    const HttpHeaders auth{{"Authorization", "Bearer " + worker_token}};
    for (int k = 0; !stop_pull; ++k) {
      HttpClient c(urls[k % 2]);
      Result<HttpReply> r = c.Request("POST", "/v1/consumers/worker/fetch",
                                      R"({"max":100,"wait_ms":200,"ack_timeout_ms":5000})", auth);
      if (!r.ok() || r->status != 200) continue;
      Json j(r->body);
      std::string acks;
      for (int64_t i = 0; i < j.Len({"messages"}); ++i) {
        const std::string idx = std::to_string(i);
        pulled.Add(j.Str({"messages", idx, "event", "id"}),
                   j.Str({"messages", idx, "event", "entity_id"}),
                   static_cast<int>(j.Int({"messages", idx, "event", "data", "seq"}).value_or(-1)));
        acks += (acks.empty() ? "" : ",") + Quote(j.Str({"messages", idx, "ack_id"}));
      }
      if (!acks.empty()) {
        HttpClient a(urls[(k + 1) % 2]);
        (void)a.Request("POST", "/v1/consumers/worker/ack", "{\"ack_ids\":[" + acks + "]}", auth);
      }
    }
  });
  ASSERT_TRUE(WaitFor([&] { return got.total >= 300; }, std::chrono::seconds(60)));
  const SteadyClock::time_point killed = SteadyClock::now();
  Node(2)->Kill();
  // Every partition delivers again: the last of them to get a push after the kill.
  std::map<uint32_t, int64_t> resumed;  // partition -> ms after the kill
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(got.mu);
        for (const auto& [p, list] : got.at) {
          if (resumed.count(p) || list.back().first <= killed) continue;
          for (const auto& [t, seq] : list) {
            if (t > killed) {
              resumed[p] =
                  std::chrono::duration_cast<std::chrono::milliseconds>(t - killed).count();
              break;
            }
          }
        }
        return resumed.size() == kPartitions;
      },
      std::chrono::seconds(40)));
  int64_t takeover = 0;
  for (const auto& [p, ms] : resumed) takeover = std::max(takeover, ms);
  std::cout << "takeover after kill -9: every partition delivered again within " << takeover
            << " ms\n";
  EXPECT_LE(takeover, 15000);
  // Every route's group moves the killed node's partitions (each group on its own).
  EXPECT_TRUE(WaitFor(
      [&] { return Delivering(0) + Delivering(1) == static_cast<int>(kPartitions) * routes_; },
      std::chrono::seconds(15)))
      << Delivering(0) << " + " << Delivering(1);

  // The killed node comes back and takes partitions again.
  ASSERT_TRUE(Node(2)->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return Shared() && Delivering(2) > 0; }, std::chrono::seconds(60)))
      << Delivering(0) << " " << Delivering(1) << " " << Delivering(2);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop = true;
  for (std::thread& t : publishers) t.join();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu);
    for (const auto& [id, t] : acked) ids.push_back(id);
  }
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() >= static_cast<int>(ids.size()); },
                      std::chrono::seconds(60)));
  {
    std::lock_guard lock(got.mu);
    for (const std::string& id : ids) EXPECT_GE(got.count[id], 1) << id << " was never pushed";
  }
  std::cout << ids.size() << " events acknowledged, " << got.total.load() << " pushes, "
            << got.Duplicates() << " of them again after the takeover\n";
  got.ExpectEntityOrder();
  // The pull consumer got every acknowledged event too, each entity in order.
  EXPECT_TRUE(WaitFor([&] { return pulled.Distinct() >= static_cast<int>(ids.size()); },
                      std::chrono::seconds(60)))
      << pulled.Distinct() << " of " << ids.size() << " pulled";
  stop_pull = true;
  puller.join();
  {
    std::lock_guard lock(pulled.mu);
    for (const std::string& id : ids) EXPECT_GE(pulled.count[id], 1) << id << " was never pulled";
  }
  std::cout << pulled.total.load() << " pulled, " << pulled.Duplicates()
            << " of them again after the takeover\n";
  pulled.ExpectEntityOrder();
  std::lock_guard lock(audit.mu);
  EXPECT_EQ(audit.seqs.size(), entities_.size());
  for (const auto& [entity, seqs] : audit.seqs) {
    EXPECT_EQ(seqs, std::vector<int>{0}) << entity << ": entity_event dedup let more through";
  }
}

// Pull: each node's fetch serves the partitions it owns; a client fetching (and acking)
// through every node in turn gets each event once.
TEST_F(ClusterTest, PullFetchesThroughEveryNodeGetEachEventOnce) {
  std::string token;
  ASSERT_NO_FATAL_FAILURE(PullRoute(&token));
  constexpr int kEvents = 240;
  for (int n = 0; n < kEvents; ++n) ASSERT_NE(Publish(n % 3, n), "") << n;
  std::map<std::string, int> got;
  std::set<int> served_by;
  int node = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        node = (node + 1) % 3;
        HttpClient c(Node(node)->url());
        const HttpHeaders auth{{"Authorization", "Bearer " + token}};
        Result<HttpReply> r =
            c.Request("POST", "/v1/consumers/worker/fetch", R"({"max":50,"wait_ms":100})", auth);
        if (!r.ok() || r->status != 200) return false;
        Json j(r->body);
        std::string acks;
        for (int64_t k = 0; k < j.Len({"messages"}); ++k) {
          const std::string idx = std::to_string(k);
          ++got[j.Str({"messages", idx, "event", "id"})];
          acks += (acks.empty() ? "" : ",") + Quote(j.Str({"messages", idx, "ack_id"}));
          served_by.insert(node);
        }
        if (!acks.empty()) {  // through the node that served the fetch
          Result<HttpReply> a =
              c.Request("POST", "/v1/consumers/worker/ack", "{\"ack_ids\":[" + acks + "]}", auth);
          EXPECT_TRUE(a.ok() && a->status == 200);
        }
        return got.size() >= static_cast<size_t>(kEvents);
      },
      std::chrono::seconds(60)))
      << got.size();
  EXPECT_EQ(got.size(), static_cast<size_t>(kEvents));
  for (const auto& [id, n] : got) EXPECT_EQ(n, 1) << id << " fetched " << n << " times";
  EXPECT_EQ(served_by.size(), 3u) << "every node serves its share";
}

// A fetch through one node answers the other nodes' partitions too, and an ack or nack
// counts through whichever node it is sent to (API.md "Running a cluster": pull consumers
// may fetch and ack through any node). Acks that were not counted would bring their
// messages back after the 2 s ack timeout.
TEST_F(ClusterTest, APullClientOnOneNodeGetsEveryPartitionAndAcksOrNacksThroughAnyNode) {
  std::string token;
  ASSERT_NO_FATAL_FAILURE(PullRoute(&token));
  constexpr int kEvents = 120;
  for (int n = 0; n < kEvents; ++n) ASSERT_NE(Publish(n % 3, n), "") << n;
  const HttpHeaders auth{{"Authorization", "Bearer " + token}};
  auto fetch = [&](int node, int wait_ms) {
    HttpClient c(Node(node)->url());
    Result<HttpReply> r = c.Request(
        "POST", "/v1/consumers/worker/fetch",
        R"({"max":50,"ack_timeout_ms":2000,"wait_ms":)" + std::to_string(wait_ms) + "}", auth);
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    return r.ok() ? r->body : std::string("{}");
  };
  auto count = [](const std::string& body) { return Json(body).Len({"messages"}); };
  auto send = [&](int node, const std::string& verb, const std::string& ids) {
    HttpClient c(Node(node)->url());
    Result<HttpReply> r =
        c.Request("POST", "/v1/consumers/worker/" + verb, "{\"ack_ids\":[" + ids + "]}", auth);
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    return r.ok() ? Json(r->body).Int({verb + "ed"}).value_or(-1) : -1;
  };
  std::map<std::string, int> got;
  int round = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        Json j(fetch(0, 200));
        std::string acks;
        for (int64_t k = 0; k < j.Len({"messages"}); ++k) {
          const std::string idx = std::to_string(k);
          ++got[j.Str({"messages", idx, "event", "id"})];
          acks += (acks.empty() ? "" : ",") + Quote(j.Str({"messages", idx, "ack_id"}));
        }
        if (!acks.empty()) {  // through node 1, then 2, then 0, ...
          const int64_t n = j.Len({"messages"});
          EXPECT_EQ(send((1 + round++) % 3, "ack", acks), n) << "every ack id counts";
        }
        return got.size() >= static_cast<size_t>(kEvents);
      },
      std::chrono::seconds(60)))
      << got.size() << " of " << kEvents << " fetched through node 0";
  for (const auto& [id, n] : got) EXPECT_EQ(n, 1) << id << " fetched " << n << " times";

  // A nack through another node brings the message back at once; a stale id counts nowhere.
  ASSERT_NE(Publish(2, kEvents), "");
  std::string body;
  ASSERT_TRUE(WaitFor([&] { return count(body = fetch(1, 500)) == 1; }, std::chrono::seconds(30)));
  const std::string id = Quote(Json(body).Str({"messages", "0", "ack_id"}));
  EXPECT_EQ(send(2, "nack", id), 1);
  EXPECT_EQ(send(0, "ack", id), 0) << "a nacked id is stale";
  ASSERT_TRUE(WaitFor([&] { return count(body = fetch(0, 500)) == 1; }, std::chrono::seconds(30)));
  Json again(body);
  EXPECT_EQ(again.Str({"messages", "0", "event", "id"}), prefix_ + "ev-" + std::to_string(kEvents));
  EXPECT_EQ(again.Int({"messages", "0", "attempt"}), 2);
  EXPECT_EQ(send(2, "ack", Quote(again.Str({"messages", "0", "ack_id"}))), 1);

  // Nothing comes back after the ack timeout: every counted ack took effect.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  for (int node = 0; node < 3; ++node) {
    EXPECT_EQ(count(fetch(node, 300)), 0) << "node " << node;
  }
}

// A replay or seek sent to one node moves every partition: that node moves its own and
// sends the request on to the others (API.md "Running a cluster"), so a replay redelivers
// every event whichever node delivers it, and a seek to the end skips the whole backlog.
TEST_F(ClusterTest, ReplayAndSeekThroughOneNodeMoveEveryNodesPartitions) {
  SwitchableEndpoint endpoint(503);
  Received& got = endpoint.got;
  std::atomic<bool>& failing = endpoint.refusing;
  constexpr int kEvents = 48;
  ASSERT_NO_FATAL_FAILURE(PushedOnce(endpoint, kEvents));
  auto admin = [&](int node, const std::string& verb, const std::string& body) {
    HttpClient c(Node(node)->url());
    Result<HttpReply> r =
        c.Request("POST", "/v1/routes/order_created/consumers/payment-service/" + verb, body,
                  {{"Authorization", "Bearer " + server_->admin_token()}});
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    return r.ok() ? r->status : -1;
  };

  ASSERT_EQ(admin(1, "replay", R"({"from":0})"), 200);
  ASSERT_TRUE(WaitFor([&] { return got.total.load() >= 2 * kEvents; }, std::chrono::seconds(60)))
      << got.total.load() << " pushes of " << kEvents << " events replayed once";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  {
    std::lock_guard lock(got.mu);
    for (const auto& [id, n] : got.count) EXPECT_EQ(n, 2) << id << " pushed " << n << " times";
  }
  got.ExpectEntityOrder();

  // A backlog the endpoint refuses, then a seek to the end through node 2: none of it is
  // pushed once the endpoint is back, and what comes after the seek is.
  failing = true;
  for (int n = kEvents; n < 2 * kEvents; ++n) ASSERT_NE(Publish(n % 3, n), "") << n;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_EQ(admin(2, "seek", R"({"to":"latest"})"), 200);
  failing = false;
  for (int n = 2 * kEvents; n < 2 * kEvents + 8; ++n) ASSERT_NE(Publish(n % 3, n), "") << n;
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() >= kEvents + 8; }, std::chrono::seconds(60)))
      << got.Distinct();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::lock_guard lock(got.mu);
  for (int n = kEvents; n < 2 * kEvents; ++n) {
    EXPECT_EQ(got.count.count(prefix_ + "ev-" + std::to_string(n)), 0u)
        << n << ": published before the seek, pushed after it";
  }
}

// A replay moves positions back; each owner commits the earlier position to the group at
// once (librdkafka's timer commits only positions past the committed ones), so a node
// killed before its replay was delivered hands its partitions over at the replayed
// position and the next owner delivers the replay.
TEST_F(ClusterTest, AReplayWhoseOwnerIsKilledIsDeliveredByTheNextOwner) {
  SwitchableEndpoint endpoint(503);
  Received& got = endpoint.got;
  std::atomic<bool>& failing = endpoint.refusing;
  constexpr int kEvents = 48;
  ASSERT_NO_FATAL_FAILURE(PushedOnce(endpoint, kEvents));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // every position committed at the end
  failing = true;
  HttpClient c(Node(0)->url());
  Result<HttpReply> r =
      c.Request("POST", "/v1/routes/order_created/consumers/payment-service/replay",
                R"({"from":0})", {{"Authorization", "Bearer " + server_->admin_token()}});
  ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the replayed positions committed
  const int node2_partitions = Delivering(2);
  ASSERT_GT(node2_partitions, 0);
  Node(2)->Kill();
  failing = false;
  // Node 2's partitions move after its session times out (6 s); every event is pushed a
  // second time, node 2's included.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(got.mu);
        for (const auto& [id, n] : got.count) {
          if (n < 2) return false;
        }
        return true;
      },
      std::chrono::seconds(60)))
      << "node 2 delivered " << node2_partitions
      << " partitions: their replay was lost with it (positions committed before the replay)";
  got.ExpectEntityOrder();
}

// A redrive sent to one node is delivered by the nodes that deliver the events'
// partitions (the marks in PostgreSQL name the partition; each node loads the marks of
// its own partitions, also those marked through another node), each letter once: the
// attempt history shows the redrive pushed by the node that made the first attempt.
TEST_F(ClusterTest, ARedriveIsDeliveredByTheNodesThatDeliverTheEventsPartitions) {
  SwitchableEndpoint endpoint(400);  // not retried: dead at once
  endpoint.refusing = true;
  Received& got = endpoint.got;
  std::atomic<bool>& failing = endpoint.refusing;
  Routes(endpoint.server.Url());
  ASSERT_TRUE(WaitFor([&] { return Shared(); }, std::chrono::seconds(60)));
  const int kEvents = static_cast<int>(entities_.size());
  std::vector<std::string> ids;
  for (int n = 0; n < kEvents; ++n) ids.push_back(Publish(n % 3, n));
  const HttpHeaders admin{{"Authorization", "Bearer " + server_->admin_token()}};
  const std::string route = "/v1/routes/order_created/consumers/payment-service";
  HttpClient c(Node(0)->url());
  ASSERT_TRUE(WaitFor(
      [&] {
        Result<HttpReply> r = c.Request("GET", route + "/dead?limit=100", "", admin);
        return r.ok() && r->status == 200 && Json(r->body).Len({"items"}) == kEvents;
      },
      std::chrono::seconds(60)));
  failing = false;
  Result<HttpReply> redrive = c.Request("POST", route + "/redrive", "{}", admin);
  ASSERT_TRUE(redrive.ok() && redrive->status == 200);
  EXPECT_EQ(Json(redrive->body).Int({"redriven"}), kEvents);
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() >= kEvents; }, std::chrono::seconds(60)))
      << got.Distinct() << " of " << kEvents << " redriven";
  std::this_thread::sleep_for(std::chrono::seconds(3));  // past the other nodes' mark checks
  EXPECT_EQ(got.Duplicates(), 0) << "a letter redriven by two nodes";
  int elsewhere = 0;
  for (const std::string& id : ids) {
    Result<HttpReply> r =
        c.Request("GET", "/v1/events/" + id + "/attempts?consumer=payment-service", "", admin);
    ASSERT_TRUE(r.ok() && r->status == 200) << id;
    Json j(r->body);
    const int64_t n = j.Len({"items"});
    ASSERT_GE(n, 2) << id << ": " << r->body;
    if (j.Str({"items", "0", "node"}) != j.Str({"items", std::to_string(n - 1), "node"})) {
      ++elsewhere;
    }
  }
  EXPECT_EQ(elsewhere, 0) << "redrives pushed by another node than the partition's";
}

}  // namespace
}  // namespace eragon::testing
