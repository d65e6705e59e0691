// eragond on Kafka when things fail: the broker down (503, never a false 202), one of
// three brokers killed during publishing and delivery, and eragond killed -9 while
// clients publish. The broker tests start their own brokers with scripts/kafka.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.h"
#include "testing/test_http_server.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

// Brokers of this test only, in a temp dir; stopped (and removed) at the end.
class OwnKafka {
 public:
  // In the fixture's folder (own-*), whose cleanup stops them even when this process
  // died before its destructor ran (tests/infra/kafka_fixture.sh).
  explicit OwnKafka(int brokers) {
    const std::string name = "own-" + std::to_string(std::random_device{}());
    const char* file = std::getenv("ERAGON_TEST_KAFKA_FILE");
    dir_ = file != nullptr && *file != 0
               ? std::filesystem::path(file).parent_path() / name
               : std::filesystem::temp_directory_path() / ("eragon-kafka-" + name);
    ProcessResult r = Script({"up", "--brokers", std::to_string(brokers)});
    std::string last = r.out.substr(r.out.rfind("bootstrap="));
    bootstrap_ = last.substr(10, last.find('\n') - 10);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  ~OwnKafka() {
    Script({"down"});
    std::filesystem::remove_all(dir_);
  }
  ProcessResult Script(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/env", "bash", ERAGON_SOURCE_DIR "/scripts/kafka"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--dir", dir_.string()});
    return RunProcess(argv);
  }
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  std::filesystem::path dir_;
  std::string bootstrap_;
};

// Collects pushes: ids and, per entity, the sequence numbers in arrival order.
struct Pushes {
  std::mutex mu;
  std::map<std::string, int> count;
  std::map<std::string, std::vector<int>> seq_by_entity;
  TestAnswer Add(const TestRequest& r) {
    std::lock_guard lock(mu);
    std::string id = r.Header("Eragon-Event-Id").value_or("");
    if (count[id]++ == 0) {
      seq_by_entity[r.Header("Eragon-Entity-Id").value_or("")].push_back(
          static_cast<int>(Json(r.body).Int({"data", "seq"}).value_or(-1)));
    }
    return TestAnswer{};
  }
  size_t Distinct() {
    std::lock_guard lock(mu);
    return count.size();
  }
};

class KafkaFailureTest : public ServerTest {
 protected:
  void SetUp() override {}  // each test starts eragond on its own brokers
  void StartServer(const std::string& bootstrap, const std::vector<std::string>& more = {}) {
    std::vector<std::string> args = {"--kafka-brokers", bootstrap};
    args.insert(args.end(), more.begin(), more.end());
    server_ = std::make_unique<ServerProcess>(ERAGOND_PATH, args);
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    client_ = std::make_unique<HttpClient>(server_->url());
  }
  // Publishes event `seq` of `entity` with a fixed id until it is answered 202 (or the
  // deadline passes); returns whether it was.
  bool PublishUntilAccepted(HttpClient& c, const std::string& entity, int seq,
                            std::chrono::seconds limit) {
    const std::string body =
        EventJson("order_created", entity, R"({"seq":)" + std::to_string(seq) + "}",
                  entity + "-" + std::to_string(seq));
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      Result<HttpReply> r = c.Request("POST", "/v1/events", body,
                                      {{"Authorization", "Bearer " + server_->admin_token()}});
      if (r.ok() && r->status == 202) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

TEST_F(KafkaFailureTest, BrokerDownAnswers503NeverAFalse202AndRecovers) {
  OwnKafka kafka(1);
  ASSERT_FALSE(kafka.bootstrap().empty());
  StartServer(kafka.bootstrap(), {"--kafka-timeout-ms", "3000"});
  SetProducer("order_created", "order-service", R"("channel":"kafka","partitions":2)");
  PublishOk(EventJson("order_created", "o1", "{}", "before"));
  ASSERT_EQ(kafka.Script({"kill-broker", "1"}).exit_code, 0);
  HttpReply down = Admin("POST", "/v1/events", EventJson("order_created", "o1", "{}", "during"));
  EXPECT_TRUE(down.status == 503 || down.status == 429) << Describe(down);
  EXPECT_EQ(GetStatus("during"), 404);
  ASSERT_EQ(kafka.Script({"start-broker", "1"}).exit_code, 0);
  EXPECT_TRUE(PublishUntilAccepted(*client_, "o1", 2, std::chrono::seconds(90)));
  // The reader's own connection comes back on its own schedule (503 until its fetch
  // answers): the event stored before the outage is readable again soon after.
  EXPECT_TRUE(WaitFor([&] { return GetStatus("before") == 200; }, std::chrono::seconds(30)));
}

TEST_F(KafkaFailureTest, OneOfThreeBrokersKilledAndRestartedLosesNoAcknowledgedEventAndKeepsOrder) {
  OwnKafka kafka(3);
  ASSERT_FALSE(kafka.bootstrap().empty());
  StartServer(kafka.bootstrap());
  SetProducer("order_created", "order-service",
              R"("channel":"kafka","partitions":4,"ordered":true)");
  Pushes pushes;
  TestHttpServer endpoint([&](const TestRequest& r) { return pushes.Add(r); });
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/payment-service",
                  R"({"type":"http","url":")" + endpoint.Url() + R"(","start":"earliest"})")
                .status,
            201);
  constexpr int kClients = 4, kEach = 150;
  std::atomic<int> accepted{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      HttpClient c(server_->url());
      for (int i = 0; i < kEach; ++i) {
        if (PublishUntilAccepted(c, "e" + std::to_string(t), i, std::chrono::seconds(120))) {
          accepted++;
        }
      }
    });
  }
  WaitFor([&] { return accepted >= kClients * kEach / 3; }, std::chrono::seconds(120));
  ASSERT_EQ(kafka.Script({"kill-broker", "2"}).exit_code, 0);
  WaitFor([&] { return accepted >= kClients * kEach * 2 / 3; }, std::chrono::seconds(180));
  ASSERT_EQ(kafka.Script({"start-broker", "2"}).exit_code, 0);
  for (auto& t : clients) t.join();
  EXPECT_EQ(accepted.load(), kClients * kEach);
  const bool all =
      WaitFor([&] { return pushes.Distinct() >= size_t(accepted); }, std::chrono::seconds(120));
  // What eragond says of the consumer when it is stuck (for the next one who reads this).
  EXPECT_TRUE(all) << pushes.Distinct() << " of " << accepted
                   << "\nstats: " << Admin("GET", "/v1/stats").body;
  std::lock_guard lock(pushes.mu);
  for (const auto& [entity, seqs] : pushes.seq_by_entity) {
    ASSERT_EQ(seqs.size(), size_t(kEach)) << entity;
    for (int i = 0; i < kEach; ++i) EXPECT_EQ(seqs[i], i) << entity << " out of order";
  }
}

// The ids of the events in the Kafka topic `kafka_topic`, as a read_committed consumer
// (kcat) sees them.
std::vector<std::string> KafkaEventIds(const std::string& bootstrap,
                                       const std::string& kafka_topic) {
  ProcessResult r =
      RunProcess({"/usr/bin/env", "kcat", "-C", "-b", bootstrap, "-t", kafka_topic, "-X",
                  "isolation.level=read_committed", "-o", "beginning", "-e", "-q", "-f", "%h\\n"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> ids;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const std::string key = "eragon-event-id=";
    const size_t at = line.find(key);
    if (at == std::string::npos) continue;
    ids.push_back(line.substr(at + key.size(), line.find(',', at) - at - key.size()));
  }
  return ids;
}

// A batch is a Kafka transaction: with one of three brokers down (topics of replication 1,
// so the partitions it leads are unavailable) a batch that spans every partition answers
// 503 and stores nothing, not even in the partitions of the brokers still up; sent again
// once the broker is back, it is stored once. (Without transactions the live brokers' part
// was stored before the 503.)
TEST_F(KafkaFailureTest, ABatchIsStoredWholeOrNotAtAllWhenABrokerFails) {
  OwnKafka kafka(3);
  ASSERT_FALSE(kafka.bootstrap().empty());
  StartServer(kafka.bootstrap(), {"--kafka-replication", "1", "--kafka-timeout-ms", "4000"});
  SetProducer("order_created", "order-service",
              R"("channel":"kafka","partitions":6,"topic":"orders")");
  auto batch = [](const std::string& prefix) {
    std::string body = R"({"events":[)";
    for (int i = 0; i < 24; ++i) {
      if (i > 0) body += ",";
      body += EventJson("order_created", "e" + std::to_string(i), "{}", prefix + std::to_string(i));
    }
    return body + "]}";
  };
  ASSERT_EQ(Admin("POST", "/v1/events", batch("warm-")).status, 202);
  ASSERT_EQ(kafka.Script({"kill-broker", "2"}).exit_code, 0);
  HttpReply down = Admin("POST", "/v1/events", batch("lost-"));
  EXPECT_TRUE(down.status == 503 || down.status == 429) << Describe(down);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(GetStatus("lost-" + std::to_string(i)), 404) << i;
  ASSERT_EQ(kafka.Script({"start-broker", "2"}).exit_code, 0);
  // The same batch again until the cluster takes it.
  bool stored = false;
  for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
       !stored && std::chrono::steady_clock::now() < until;) {
    stored = Admin("POST", "/v1/events", batch("lost-")).status == 202;
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(stored);
  // A commit's markers reach the partitions just after it: readers see it then.
  std::map<std::string, int> seen;
  WaitFor(
      [&] {
        seen.clear();
        for (const std::string& id : KafkaEventIds(kafka.bootstrap(), "eragon.orders")) seen[id]++;
        return seen.size() >= 48;
      },
      std::chrono::seconds(30));
  for (int i = 0; i < 24; ++i) {
    EXPECT_EQ(seen["warm-" + std::to_string(i)], 1) << i;
    EXPECT_EQ(seen["lost-" + std::to_string(i)], 1) << "lost-" << i;
  }
}

TEST_F(KafkaFailureTest, KillDashNineWhilePublishingLosesNo202dEvent) {
  const std::string bootstrap = KafkaBootstrap();
  ASSERT_FALSE(bootstrap.empty()) << "run through ctest (fixture kafka_broker)";
  StartServer(bootstrap, {"--kafka-topic-prefix",
                          "k" + std::to_string(std::random_device{}() % 1000000) + "."});
  SetProducer("order_created", "order-service", R"("channel":"kafka","partitions":4)");
  Pushes pushes;
  TestHttpServer endpoint([&](const TestRequest& r) { return pushes.Add(r); });
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/payment-service",
                  R"({"type":"http","url":")" + endpoint.Url() + R"(","start":"earliest"})")
                .status,
            201);
  std::mutex mu;
  std::set<std::string> acked;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  const std::string url = server_->url(), token = server_->admin_token();
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      HttpClient c(url);
      for (int i = 0; !stop; ++i) {
        // Every third request a batch of two (a Kafka transaction, maybe open at the kill).
        std::vector<std::string> ids = {"c" + std::to_string(t) + "-" + std::to_string(i)};
        if (i % 3 == 2) ids.push_back(ids[0] + "b");
        std::string body = ids.size() == 1 ? "" : R"({"events":[)";
        for (size_t k = 0; k < ids.size(); ++k) {
          if (k > 0) body += ",";
          body += EventJson("order_created", "e" + std::to_string(t + 8 * k), "{}", ids[k]);
        }
        if (ids.size() > 1) body += "]}";
        Result<HttpReply> r =
            c.Request("POST", "/v1/events", body, {{"Authorization", "Bearer " + token}});
        if (!r.ok()) return;  // the server is gone
        if (r->status == 202) {
          std::lock_guard lock(mu);
          acked.insert(ids.begin(), ids.end());
        }
      }
    });
  }
  WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return acked.size() >= 300;
      },
      std::chrono::seconds(60));
  server_->Kill();
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_TRUE(server_->Start().ok());
  client_ = std::make_unique<HttpClient>(server_->url());
  std::lock_guard lock(mu);
  ASSERT_GE(acked.size(), 300u);
  for (const std::string& id : acked) ASSERT_EQ(GetStatus(id), 200) << id;
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard plock(pushes.mu);
        for (const std::string& id : acked) {
          if (pushes.count.count(id) == 0) return false;
        }
        return true;
      },
      std::chrono::seconds(120)))
      << "every 202'd event is delivered after the restart";
}

}  // namespace
}  // namespace eragon::testing
