// eragond on a PostgreSQL config store (API.md "Running a cluster", first part): two
// nodes on one database see each other's route changes within a second, a dropped LISTEN
// connection still converges, and a PostgreSQL outage makes config changes answer 503
// while publishes keep their cached routes, until it recovers by itself; the nodes share
// one admin token; embedded topics are refused (a cluster's topics live on Kafka). The
// server is the ctest fixture `postgres` (a database per test), or a server of the test's
// own (scripts/postgres) where the test stops it; the broker is the fixture kafka_broker.
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "test_util.h"
#include "testing/test_http_server.h"
#include "testing/test_postgres.h"

namespace eragon::testing {
namespace {

using Clock = std::chrono::steady_clock;
using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// A producer route on Kafka (a cluster has no embedded topics).
constexpr char kOnKafka[] = R"("channel":"kafka","partitions":2)";

// Node A is ServerTest's server_; node B shares its database and starts with an empty
// data dir: it keeps the shared admin service (no admin.token of its own).
class TwoNodesTest : public ServerTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestPostgresUrl().empty())
        << "no PostgreSQL: run through ctest (fixture postgres)";
    ASSERT_FALSE(KafkaBootstrap().empty()) << "no broker: run through ctest (fixture kafka_broker)";
    db_ = std::make_unique<TestDatabase>(TestPostgresUrl());
    ASSERT_TRUE(db_->ok()) << db_->error();
    prefix_ = NewTopicPrefix();
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    b_dir_ = server_->data_dir() + "-node-b";
    b_ = std::make_unique<ServerProcess>(server_->binary(), NodeBArgs());
    b_->UseDataDir(b_dir_);
    b_->ExpectNoAdminToken();
    Status st = b_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    b_client_ = std::make_unique<HttpClient>(b_->url());
  }
  void TearDown() override {
    if (HasFailure() && b_) std::cerr << "node B:\n" << b_->Logs();
    b_.reset();
    ServerTest::TearDown();
    server_.reset();
    if (!b_dir_.empty()) std::filesystem::remove_all(b_dir_);
    db_.reset();
  }
  std::vector<std::string> ExtraArgs() override { return ClusterArgs(db_->url(), prefix_); }
  virtual std::vector<std::string> NodeBArgs() { return ExtraArgs(); }

  // A call on node B with node A's admin token.
  HttpReply AdminOnB(std::string_view method, const std::string& path, std::string_view body = {}) {
    Result<HttpReply> r =
        b_client_->Request(std::string(method), path, std::string(body),
                           {{"Authorization", "Bearer " + server_->admin_token()}});
    return r.ok() ? *r : HttpReply{};
  }

  // A publish of `type` through node B: its status.
  int PublishOnB(const std::string& type) {
    Result<HttpReply> r =
        b_client_->Request("POST", "/v1/events", EventJson(type, "e1", "{}"),
                           {{"Authorization", "Bearer " + server_->admin_token()}});
    return r.ok() ? r->status : 0;
  }
  // Milliseconds until node B answers `want` to a publish of `type`, or -1 after `limit`.
  int64_t MsUntilB(const std::string& type, int want, std::chrono::seconds limit) {
    const Clock::time_point start = Clock::now();
    if (!WaitFor([&] { return PublishOnB(type) == want; }, limit)) return -1;
    return MsSince(start);
  }

  std::unique_ptr<TestDatabase> db_;
  std::string prefix_;
  std::string b_dir_;
  std::unique_ptr<ServerProcess> b_;
  std::unique_ptr<HttpClient> b_client_;
};

// Node B started with an empty data dir after node A: A's admin token works on both, B
// wrote no token of its own and says in its log where the token is.
TEST_F(TwoNodesTest, TheFirstNodesAdminTokenWorksOnASecondNodeStartedAfterIt) {
  EXPECT_EQ(AdminOnB("GET", "/v1/services").status, 200);
  EXPECT_EQ(Admin("GET", "/v1/services").status, 200);
  EXPECT_FALSE(std::filesystem::exists(b_dir_ + "/admin.token"));
  EXPECT_NE(b_->Logs().find("admin.token of the node that created it"), std::string::npos)
      << b_->Logs();
  // And after B restarts (still without a token file).
  ASSERT_TRUE(b_->Restart().ok());
  b_client_ = std::make_unique<HttpClient>(b_->url());
  EXPECT_EQ(AdminOnB("GET", "/v1/services").status, 200);
  EXPECT_EQ(Admin("GET", "/v1/services").status, 200);
}

// API.md "Running a cluster": embedded topics are single-node; the platform events'
// routes are on Kafka.
TEST_F(TwoNodesTest, EmbeddedProducerRoutesAreRefusedAndPlatformRoutesAreOnKafka) {
  CreateService("order-service", {"producer"});
  for (const char* body : {R"({"producer":"order-service"})",
                           R"({"producer":"order-service","channel":"embedded"})"}) {
    HttpReply r = AdminOnB("PUT", "/v1/routes/order_created/producer", body);
    EXPECT_API_ERROR(r, 400, "invalid_field");
    EXPECT_NE(r.body.find("channel"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Admin("GET", "/v1/routes/order_created/producer").status, 404);
  HttpReply platform = Admin("GET", "/v1/routes/eragon.dead_lettered/producer");
  ASSERT_EQ(platform.status, 200) << Describe(platform);
  EXPECT_EQ(Json(platform.body).Str({"channel"}), "kafka");
  EXPECT_EQ(Json(platform.body).Str({"topic"}), "eragon.platform");
}

// Ids are shared by the cluster (the id index in PostgreSQL): one id published through
// both nodes at once is stored once (one answer says new, the other duplicate; a 429
// while the other publish is under way), pushed to a consumer once, and found by
// GET /v1/events/{id} through either node, with the consumer's delivery state (the
// delivery states are in PostgreSQL as well).
TEST_F(TwoNodesTest, TheSameIdPublishedThroughBothNodesAtOnceIsOneEventDeliveredOnce) {
  CreateService("order-service", {"producer"});
  SetProducer("order_created", "order-service", kOnKafka);
  std::mutex mu;
  std::map<std::string, int> pushed;  // event id -> pushes
  TestHttpServer endpoint([&](const TestRequest& r) {
    std::lock_guard lock(mu);
    pushed[r.Header("Eragon-Event-Id").value_or("")]++;
    return TestAnswer{};
  });
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/payment-service",
                  R"({"type":"http","url":")" + endpoint.Url() + R"(","start":"earliest"})")
                .status,
            201);
  ASSERT_TRUE(WaitFor([&] { return PublishOnB("order_created") == 202; }, std::chrono::seconds(5)));
  constexpr int kIds = 30;
  auto publish = [&](HttpClient* client, const std::string& body) -> std::optional<bool> {
    for (int attempt = 0; attempt < 100; ++attempt) {
      Result<HttpReply> r = client->Request(
          "POST", "/v1/events", body, {{"Authorization", "Bearer " + server_->admin_token()}});
      if (r.ok() && r->status == 202) return Json(r->body).Bool({"duplicates", "0"});
      if (!r.ok() || r->status != 429) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  };
  HttpClient a_client(server_->url());
  for (int i = 0; i < kIds; ++i) {
    const std::string id = "same-" + std::to_string(i);
    const std::string body = EventJson("order_created", "o" + std::to_string(i % 3), "{}", id);
    auto on_b = std::async(std::launch::async, [&] { return publish(b_client_.get(), body); });
    std::optional<bool> dup_a = publish(&a_client, body);
    std::optional<bool> dup_b = on_b.get();
    ASSERT_TRUE(dup_a && dup_b) << id << ": not answered 202";
    EXPECT_NE(*dup_a, *dup_b) << id << ": exactly one publish stores it";
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return pushed.size() >= kIds + 1;
      },
      std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::lock_guard lock(mu);
  for (int i = 0; i < kIds; ++i) {
    const std::string id = "same-" + std::to_string(i);
    EXPECT_EQ(pushed[id], 1) << id;
    // Either node answers with the consumer's state, whichever node delivered it (the
    // two partitions are split between them): the states are in PostgreSQL too.
    for (HttpReply r : {Admin("GET", "/v1/events/" + id), AdminOnB("GET", "/v1/events/" + id)}) {
      ASSERT_EQ(r.status, 200) << id << Describe(r);
      EXPECT_EQ(Json(r.body).Str({"deliveries", "0", "consumer"}), "payment-service") << r.body;
      EXPECT_EQ(Json(r.body).Str({"deliveries", "0", "state"}), "delivered") << r.body;
    }
  }
}

// A counter of a node's /metrics (-1 when it does not answer).
int64_t Counter(const ServerProcess& node, const std::string& name) {
  if (!node.running()) return -1;
  HttpClient c(node.url());
  Result<HttpReply> r = c.Request("GET", "/metrics", "", {});
  if (!r.ok() || r->status != 200) return -1;
  const std::string key = "\n" + name + " ";
  size_t at = r->body.find(key);
  return at == std::string::npos ? -1 : std::atoll(r->body.c_str() + at + key.size());
}
int64_t SagasStarted(const ServerProcess& node) {
  return Counter(node, "eragon_saga_instances_started_total");
}
// Triggers a node's saga engine read: those that started an instance and those that
// found it started already (by another engine).
int64_t TriggersRead(const ServerProcess& node) {
  return SagasStarted(node) + Counter(node, "eragon_saga_triggers_ignored_total");
}

// Sagas run on one node of a cluster (a lease in PostgreSQL): each instance is started
// once in the cluster, by one node; when that node stops, the other takes the lease and
// starts the next ones, each command published once.
TEST_F(TwoNodesTest, SagasRunOnOneNodeAndTheOtherTakesOverWhenItStops) {
  const std::string kafka = R"("channel":"kafka","ordered":true,"partitions":2,"topic":)";
  SetProducer("order_created", "order-service", kafka + R"("orders")");
  SetProducer("reserve_cmd", "saga-order", kafka + R"("saga-out")");
  SetProducer("reserved", "services", kafka + R"("replies")");
  HttpReply put = Admin("PUT", "/v1/sagas/order", R"({"trigger": "order_created", "steps": [
      {"name": "reserve", "command": "reserve_cmd", "success": ["reserved"],
       "timeout_ms": 600000}], "completed": "order_created_done", "failed": "order_failed"})");
  if (put.status == 404) {  // the saga's outcome types need producer routes too
    SetProducer("order_created_done", "saga-order", kafka + R"("saga-out")");
    SetProducer("order_failed", "saga-order", kafka + R"("saga-out")");
    put = Admin("PUT", "/v1/sagas/order", R"({"trigger": "order_created", "steps": [
      {"name": "reserve", "command": "reserve_cmd", "success": ["reserved"],
       "timeout_ms": 600000}], "completed": "order_created_done", "failed": "order_failed"})");
  }
  ASSERT_EQ(put.status, 201) << Describe(put);
  // Every node's engine would have loaded the saga by now (they check every 500 ms): any
  // engine but the leader's reading the triggers shows in its counters.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  for (int k = 0; k < 4; ++k) {
    PublishOk(EventJson("order_created", "s" + std::to_string(k), "{}", "t-s" + std::to_string(k)));
  }
  ASSERT_TRUE(WaitFor([&] { return SagasStarted(*server_) + SagasStarted(*b_) >= 4; },
                      std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const int64_t on_a = SagasStarted(*server_), on_b = SagasStarted(*b_);
  EXPECT_EQ(on_a + on_b, 4);
  EXPECT_EQ(std::min(on_a, on_b), 0) << on_a << " on A, " << on_b << " on B";
  EXPECT_EQ(TriggersRead(*server_) + TriggersRead(*b_), 4) << "both nodes ran the sagas";
  // The leader stops (SIGTERM: its session and the lease go); the other takes over.
  ServerProcess* leader = on_a > 0 ? server_.get() : b_.get();
  ServerProcess* other = leader == b_.get() ? server_.get() : b_.get();
  ASSERT_TRUE(leader->Stop().ok());
  HttpClient other_client(other->url());
  for (int k = 4; k < 6; ++k) {
    Result<HttpReply> r = other_client.Request(
        "POST", "/v1/events",
        EventJson("order_created", "s" + std::to_string(k), "{}", "t-s" + std::to_string(k)),
        {{"Authorization", "Bearer " + server_->admin_token()}});
    ASSERT_TRUE(r.ok() && r->status == 202);
  }
  EXPECT_TRUE(WaitFor([&] { return SagasStarted(*other) >= 2; }, std::chrono::seconds(20)))
      << SagasStarted(*other);
  // An instance counts as started just before its command is stored: wait for the sixth.
  auto commands = [&] {
    Result<HttpReply> cmds =
        other_client.Request("GET", "/v1/events?event_type=reserve_cmd&limit=100", "",
                             {{"Authorization", "Bearer " + server_->admin_token()}});
    return cmds.ok() && cmds->status == 200 ? Json(cmds->body).Len({"items"}) : -1;
  };
  EXPECT_TRUE(WaitFor([&] { return commands() >= 6; }, std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(commands(), 6) << "one command per instance";
  if (!server_->running()) {
    ASSERT_TRUE(server_->Start().ok());
  }
}

TEST_F(TwoNodesTest, ARouteChangedThroughNodeAIsUsedByNodeBWithinASecond) {
  CreateService("order-service", {"producer"});
  EXPECT_EQ(PublishOnB("order_created"), 404);  // no route yet (and B caches that)
  SetProducer("order_created", "order-service", kOnKafka);
  int64_t ms = MsUntilB("order_created", 202, std::chrono::seconds(5));
  std::cout << "node B accepted the new route after " << ms << " ms\n";
  EXPECT_GE(ms, 0) << "node B never accepted the new route";
  EXPECT_LE(ms, 1000);
  ASSERT_EQ(Admin("DELETE", "/v1/routes/order_created/producer").status, 204);
  ms = MsUntilB("order_created", 404, std::chrono::seconds(5));
  std::cout << "node B refused the deleted route after " << ms << " ms\n";
  EXPECT_GE(ms, 0) << "node B kept the deleted route";
  EXPECT_LE(ms, 1000);
}

TEST_F(TwoNodesTest, ADroppedListenConnectionStillConverges) {
  CreateService("order-service", {"producer"});
  const std::string listeners = "FROM pg_stat_activity WHERE datname = '" + db_->name() +
                                "' AND query = 'LISTEN eragon_config'";
  ASSERT_TRUE(WaitFor(
      [&] {
        Result<std::string> n = PgQueryValue(db_->url(), "SELECT count(*) " + listeners);
        return n.ok() && *n == "2";
      },
      std::chrono::seconds(5)));
  ASSERT_EQ(
      PgQueryValue(db_->url(), "SELECT count(pg_terminate_backend(pid)) " + listeners).value(),
      "2");
  SetProducer("order_created", "order-service", kOnKafka);
  // The listener's reconnection or the version poll (every 5 s) catches up.
  int64_t ms = MsUntilB("order_created", 202, std::chrono::seconds(8));
  std::cout << "node B caught up after " << ms << " ms\n";
  EXPECT_GE(ms, 0);
}

// Node B hears no notification (--config-listen false) and polls every 10 minutes: what
// it knows of A's changes comes only from the sync a change through it makes first.
class TwoNodesDeafBTest : public TwoNodesTest {
 protected:
  std::vector<std::string> NodeBArgs() override {
    std::vector<std::string> args = ExtraArgs();
    for (const char* a : {"--config-listen", "false", "--config-poll-ms", "600000"}) {
      args.push_back(a);
    }
    return args;
  }
};

// A change through node B right after one through node A is validated against it: a
// change syncs the config store first (read-your-writes across nodes for admins).
TEST_F(TwoNodesDeafBTest, AChangeThroughNodeBIsValidatedAgainstAChangeJustMadeThroughA) {
  CreateService("order-service", {"producer"});
  SetProducer("order_created", "order-service", kOnKafka);
  HttpReply r = AdminOnB("PUT", "/v1/routes/order_created/consumers/audit", R"({"type":"pull"})");
  EXPECT_EQ(r.status, 201) << Describe(r);
  r = AdminOnB("PUT", "/v1/schedules/nightly",
               R"({"event_type":"order_created","entity_id":"e","data":{},"every":"1h"})");
  EXPECT_EQ(r.status, 201) << Describe(r);
  // A deletion through A too: B does not find the schedule it still has in its snapshot.
  EXPECT_EQ(Admin("DELETE", "/v1/schedules/nightly").status, 204);
  EXPECT_EQ(AdminOnB("DELETE", "/v1/schedules/nightly").status, 404);
}

// The status of GET `path` on `url` with `token` ("" sends none).
int StatusOf(const std::string& url, const std::string& path, const std::string& token) {
  HttpClient client(url);
  HttpHeaders h;
  if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
  Result<HttpReply> r = client.Request("GET", path, "", h);
  return r.ok() ? r->status : 0;
}

// --admin-token-file: every node started with the file accepts its token, also when the
// store's admin service had another one (a node started before without the file).
TEST(SharedAdminTokenTest, NodesStartedWithOneAdminTokenFileAllAcceptIt) {
  ASSERT_FALSE(TestPostgresUrl().empty()) << "no PostgreSQL: run through ctest (fixture postgres)";
  ASSERT_FALSE(KafkaBootstrap().empty()) << "no broker: run through ctest (fixture kafka_broker)";
  TestDatabase db(TestPostgresUrl());
  ASSERT_TRUE(db.ok()) << db.error();
  char tmpl[] = "/tmp/eragon-pg-token.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::mt19937_64 rng(std::random_device{}());
  std::string token = "ert_";
  for (int i = 0; i < 64; ++i) token += "0123456789abcdef"[rng() % 16];
  { std::ofstream(dir + "/admin.token") << token << "\n"; }
  const std::string prefix = NewTopicPrefix();
  ServerProcess earlier(ERAGOND_PATH, ClusterArgs(db.url(), prefix));
  ASSERT_TRUE(earlier.Start().ok());
  const std::string generated = earlier.admin_token();
  earlier.Kill();
  std::vector<std::string> args = ClusterArgs(db.url(), prefix);
  args.insert(args.end(), {"--admin-token-file", dir + "/admin.token"});
  ServerProcess a(ERAGOND_PATH, args), b(ERAGOND_PATH, args);
  ASSERT_TRUE(a.Start().ok()) << a.Logs();
  ASSERT_TRUE(b.Start().ok()) << b.Logs();
  EXPECT_EQ(a.admin_token(), token) << "the data dir's admin.token holds the file's token";
  EXPECT_EQ(b.admin_token(), token);
  for (const ServerProcess* node : {&a, &b}) {
    EXPECT_EQ(StatusOf(node->url(), "/v1/services", token), 200);
    EXPECT_EQ(StatusOf(node->url(), "/v1/services", generated), 401)
        << "the file's token replaced the one the store had";
  }
  std::filesystem::remove_all(dir);
}

// One node on a PostgreSQL of the test's own, stopped and started again.
class PostgresOutageTest : public ServerTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/eragon-pg-outage.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    pg_dir_ = tmpl;
    ProcessResult up = Postgres("up", "--no-fsync");
    ASSERT_EQ(up.exit_code, 0) << up.err;
    url_ = up.out.substr(up.out.rfind("url=") + 4);
    while (!url_.empty() && url_.back() == '\n') url_.pop_back();
    ServerTest::SetUp();
  }
  void TearDown() override {
    ServerTest::TearDown();
    server_.reset();
    Postgres("down");
    std::filesystem::remove_all(pg_dir_);
  }
  std::vector<std::string> ExtraArgs() override { return ClusterArgs(url_, prefix_); }
  ProcessResult Postgres(const std::string& cmd, const std::string& flag = "") {
    std::vector<std::string> argv = {std::string(ERAGON_SOURCE_DIR) + "/scripts/postgres", cmd,
                                     "--dir", pg_dir_};
    if (!flag.empty()) argv.push_back(flag);
    return RunProcess(argv, "", {}, std::chrono::seconds(120));
  }

  std::string pg_dir_;
  std::string url_;
  std::string prefix_ = NewTopicPrefix();
};

TEST_F(PostgresOutageTest, ChangesAnswer503WhileDownPublishesKeepCachedRoutesAndAllRecovers) {
  CreateService("order-service", {"producer"});
  SetProducer("order_created", "order-service", kOnKafka);
  PublishOk(EventJson("order_created", "o1", "{}"));
  ASSERT_EQ(Postgres("stop").exit_code, 0);

  EXPECT_API_ERROR(Admin("PUT", "/v1/routes/order_paid/producer",
                         R"({"producer":"order-service","channel":"kafka","partitions":2})"),
                   503, "unavailable");
  // Past every cache TTL: the routes and the token still come from the node's snapshot.
  for (int i = 0; i < 4; ++i) {
    PublishOk(EventJson("order_created", "o" + std::to_string(i), "{}"));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  EXPECT_EQ(Admin("GET", "/v1/routes/order_created/producer").status, 200);
  EXPECT_EQ(GetStatus(PublishOk(EventJson("order_created", "o9", "{}")).at(0)), 200);
  // An id of the producer's own cannot be checked against the shared id index: 503, and
  // nothing is stored (the same publish is new once PostgreSQL is back).
  const std::string with_id = EventJson("order_created", "o1", "{}", "client-id-1");
  EXPECT_API_ERROR(Admin("POST", "/v1/events", with_id), 503, "unavailable");

  ProcessResult started = Postgres("start");
  ASSERT_EQ(started.exit_code, 0) << started.err;
  // Recovers by itself: the next change goes through, and is used at once.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Admin("PUT", "/v1/routes/order_paid/producer",
                     R"({"producer":"order-service","channel":"kafka","partitions":2})")
                   .status == 201;
      },
      std::chrono::seconds(15)));
  PublishOk(EventJson("order_paid", "o1", "{}"));
  HttpReply again = Admin("POST", "/v1/events", with_id);
  ASSERT_EQ(again.status, 202) << Describe(again);
  EXPECT_EQ(Json(again.body).Bool({"duplicates", "0"}), false);
}

// A PostgreSQL restart while 4 clients publish (issue 12's proof): publishes with ids of
// their own answer 503 while it is down (nothing stored), those without are stored and
// 202'd; once it is back everything recovers by itself, and every 202'd event is found
// by id and pushed to the consumer.
TEST_F(PostgresOutageTest, APostgresRestartDuringPublishingLosesNothingAcknowledged) {
  CreateService("order-service", {"producer"});
  SetProducer("order_created", "order-service", kOnKafka);
  std::mutex mu;
  std::set<std::string> pushed;
  TestHttpServer endpoint([&](const TestRequest& r) {
    std::lock_guard lock(mu);
    pushed.insert(r.Header("Eragon-Event-Id").value_or(""));
    return TestAnswer{};
  });
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/audit",
                  R"({"type":"http","start":"earliest","url":")" + endpoint.Url() + "\"}")
                .status,
            201);
  std::vector<std::string> acked;
  std::atomic<int> refused{0}, acked_with_id_after{0};
  std::atomic<bool> stop{false}, restarted{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient c(server_->url());
      for (int n = 0; !stop; ++n) {
        // Even clients give ids of their own, odd ones let the server make them.
        const std::string id =
            t % 2 == 0 ? "pg-" + std::to_string(t) + "-" + std::to_string(n) : std::string();
        Result<HttpReply> r =
            c.Request("POST", "/v1/events",
                      EventJson("order_created", "o" + std::to_string(t), R"({"n":1})", id),
                      {{"Authorization", "Bearer " + server_->admin_token()}});
        if (r.ok() && r->status == 202) {
          std::lock_guard lock(mu);
          acked.push_back(Json(r->body).Str({"ids", "0"}));
          if (!id.empty() && restarted) ++acked_with_id_after;
        } else if (r.ok() && r->status == 503) {
          ++refused;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_EQ(Postgres("stop").exit_code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ProcessResult started = Postgres("start");
  ASSERT_EQ(started.exit_code, 0) << started.err;
  restarted = true;
  EXPECT_TRUE(WaitFor([&] { return acked_with_id_after > 0; }, std::chrono::seconds(30)))
      << "publishes with ids did not recover by themselves";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop = true;
  for (std::thread& c : clients) c.join();
  EXPECT_GT(refused.load(), 0) << "nothing answered 503 while PostgreSQL was down";
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu);
    ids = acked;
  }
  ASSERT_FALSE(ids.empty());
  for (const std::string& id : ids) {
    EXPECT_TRUE(WaitFor([&] { return Admin("GET", "/v1/events/" + id).status == 200; },
                        std::chrono::seconds(20)))
        << id << " was 202'd and is not found";
  }
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        for (const std::string& id : ids) {
          if (pushed.count(id) == 0) return false;
        }
        return true;
      },
      std::chrono::seconds(60)))
      << "a 202'd event was never pushed";
}

// The schedule lease while PostgreSQL is down: no tick fires, nothing crashes, and once
// it is back the ticks resume by themselves, those of the outage caught up (each once).
TEST_F(PostgresOutageTest, SchedulesPauseWhileDownAndResumeWithTheMissedTicks) {
  CreateService("clock-service", {"producer"});
  SetProducer("tick", "clock-service", kOnKafka);
  ASSERT_EQ(Admin("PUT", "/v1/schedules/heartbeat",
                  R"({"event_type":"tick","entity_id":"clock","data":{},"every":"1s"})")
                .status,
            201);
  ASSERT_TRUE(WaitFor([&] { return CountEvents("tick") >= 2; }, std::chrono::seconds(15)));
  ASSERT_EQ(Postgres("stop").exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a fire in flight lands
  const int64_t while_down = CountEvents("tick");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(CountEvents("tick"), while_down) << "a tick fired without the lease";
  EXPECT_EQ(Call("", "GET", "/healthz").status, 200);
  ProcessResult started = Postgres("start");
  ASSERT_EQ(started.exit_code, 0) << started.err;
  EXPECT_TRUE(
      WaitFor([&] { return CountEvents("tick") >= while_down + 5; }, std::chrono::seconds(20)));
  // Every second from the first tick to the last, once.
  HttpReply r = Admin("GET", "/v1/events?event_type=tick&limit=1000");
  ASSERT_EQ(r.status, 200) << Describe(r);
  Json j(r.body);
  std::set<int64_t> ticks;
  for (int64_t i = 0; i < j.Len({"items"}); ++i) {
    int64_t at = j.Int({"items", std::to_string(i), "occurred_at"}).value_or(-1);
    EXPECT_TRUE(ticks.insert(at).second) << "tick " << at << " fired twice";
  }
  ASSERT_FALSE(ticks.empty());
  EXPECT_EQ(static_cast<int64_t>(ticks.size()), (*ticks.rbegin() - *ticks.begin()) / 1000 + 1)
      << "a tick of the outage is missing";
  std::cout << ticks.size() << " ticks, " << while_down << " before the outage\n";
}

// Start errors: a malformed URL is a usage error (2), so is a cluster node without
// --kafka-brokers, an unreachable server a start failure (1); no message repeats the
// password.
TEST(PostgresStartTest, ABadUrlExits2AndAnUnreachableServerExits1) {
  char tmpl[] = "/tmp/eragon-pg-start.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto run = [&](const std::string& url, bool kafka = true) {
    std::vector<std::string> argv = {ERAGOND_PATH, "--data-dir",  dir + "/data",
                                     "--listen",   "127.0.0.1:0", "--config-store",
                                     url};
    if (kafka) argv.insert(argv.end(), {"--kafka-brokers", "127.0.0.1:1"});
    return RunProcess(argv);
  };
  ProcessResult no_kafka = run("postgresql://eragon:pw-secret@127.0.0.1:1/eragon", false);
  EXPECT_EQ(no_kafka.exit_code, 2) << no_kafka.err;
  EXPECT_NE(no_kafka.err.find("give --kafka-brokers"), std::string::npos) << no_kafka.err;
  ProcessResult bad = run("postgresql://eragon:pw-secret@[::1");
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("not a valid PostgreSQL URL"), std::string::npos) << bad.err;
  ProcessResult other = run("mysql://eragon@127.0.0.1/eragon");
  EXPECT_EQ(other.exit_code, 2) << other.err;
  ProcessResult down = run("postgresql://eragon:pw-secret@127.0.0.1:1/eragon");
  EXPECT_EQ(down.exit_code, 1) << down.err;
  EXPECT_NE(down.err.find("cannot connect to PostgreSQL at 127.0.0.1:1"), std::string::npos)
      << down.err;
  for (const ProcessResult* r : {&bad, &other, &down, &no_kafka}) {
    EXPECT_EQ(r->err.find("pw-secret"), std::string::npos) << r->err;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eragon::testing
