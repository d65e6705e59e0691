// Schedules in a cluster (API.md "Running a cluster": each schedule tick fires once in
// the whole cluster): three eragond nodes on one PostgreSQL config store (the ctest
// fixture `postgres`, a database per test) and one Kafka broker (fixture `kafka_broker`),
// a schedule `every: 1s` whose type's producer route is on channel `kafka`. The events are
// counted in the Kafka topic itself (kcat), not through eragond's delivery: each tick is
// there exactly once, with the cluster's deterministic id, and none is missing, also when
// the node firing them is killed with SIGKILL mid-run.
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "core/hash.h"
#include "core/uuid.h"
#include "test_util.h"
#include "testing/test_postgres.h"

namespace eragon::testing {
namespace {

using std::chrono::milliseconds;

int64_t WallMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One record of the schedule's Kafka topic.
struct TickRecord {
  std::string id;         // header eragon-event-id
  int64_t tick = 0;       // occurred_at
  int64_t stored_ms = 0;  // the record's timestamp (when the node produced it)
};

class ClusterScheduleTest : public ServerTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestPostgresUrl().empty()) << "no PostgreSQL: run through ctest";
    ASSERT_FALSE(KafkaBootstrap().empty()) << "no Kafka broker: run through ctest";
    db_ = std::make_unique<TestDatabase>(TestPostgresUrl());
    ASSERT_TRUE(db_->ok()) << db_->error();
    prefix_ = NewTopicPrefix("t");
    ServerTest::SetUp();  // node 0
    if (HasFatalFailure()) return;
    nodes_.push_back(server_.get());
    // Nodes 1 and 2 get a copy of node 0's admin token, so the test's admin calls work on
    // every node.
    for (int n = 1; n <= 2; ++n) {
      const std::string dir = server_->data_dir() + "-node-" + std::to_string(n);
      std::filesystem::create_directories(dir);
      std::filesystem::copy_file(server_->data_dir() + "/admin.token", dir + "/admin.token");
      ::chmod((dir + "/admin.token").c_str(), 0600);
      dirs_.push_back(dir);
      others_.push_back(std::make_unique<ServerProcess>(server_->binary(), ExtraArgs()));
      others_.back()->UseDataDir(dir);
      Status st = others_.back()->Start();
      ASSERT_TRUE(st.ok()) << st.ToString();
      nodes_.push_back(others_.back().get());
    }
  }
  void TearDown() override {
    for (size_t n = 0; n < others_.size(); ++n) {
      if (HasFailure()) std::cerr << "node " << n + 1 << ":\n" << others_[n]->Logs();
    }
    others_.clear();
    ServerTest::TearDown();
    server_.reset();
    for (const std::string& dir : dirs_) std::filesystem::remove_all(dir);
    db_.reset();
  }
  std::vector<std::string> ExtraArgs() override { return ClusterArgs(db_->url(), prefix_); }

  // An admin request through node `n`.
  HttpReply On(int n, std::string_view method, const std::string& path,
               std::string_view body = {}) {
    HttpClient client(nodes_[n]->url());
    Result<HttpReply> r =
        client.Request(method, path, body, {{"Authorization", "Bearer " + server_->admin_token()}});
    EXPECT_TRUE(r.ok()) << method << " " << path << " on node " << n << ": "
                        << r.status().ToString();
    return r.ok() ? *r : HttpReply{};
  }

  // The producer route of `tick` on Kafka topic `ticks` and the schedule `every-second`.
  void CreateSchedule(int through) {
    CreateService("clock-service", {"producer"});
    SetProducer("tick", "clock-service", R"("channel":"kafka","topic":"ticks","partitions":1)");
    HttpReply r = On(through, "PUT", "/v1/schedules/every-second",
                     R"({"event_type":"tick","entity_id":"clock","data":{},"every":"1s"})");
    ASSERT_EQ(r.status, 201) << Describe(r);
  }

  // Every record of the Kafka topic, read with kcat.
  std::vector<TickRecord> KafkaTicks() {
    ProcessResult r =
        RunProcess({"/usr/bin/env", "kcat", "-C", "-b", KafkaBootstrap(), "-t", prefix_ + "ticks",
                    "-o", "beginning", "-e", "-q", "-f", "%T %h %s\\n"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<TickRecord> records;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      std::istringstream fields(line);
      TickRecord rec;
      std::string headers, value;
      fields >> rec.stored_ms >> headers;
      std::getline(fields >> std::ws, value);
      const std::string key = "eragon-event-id=";
      size_t at = headers.find(key);
      EXPECT_NE(at, std::string::npos) << line;
      if (at == std::string::npos) continue;
      rec.id = headers.substr(at + key.size(), headers.find(',', at) - at - key.size());
      rec.tick = Json(value).Int({"occurred_at"}).value_or(-1);
      records.push_back(rec);
    }
    return records;
  }

  // The cluster's install secret, as the nodes stored it in PostgreSQL.
  std::string ClusterSecret() {
    Result<std::string> hex = PgQueryValue(db_->url(), "SELECT secret FROM install_secret");
    EXPECT_TRUE(hex.ok()) << hex.status().ToString();
    return hex.ok() ? HexDecode(*hex).value_or("") : "";
  }

  // Checks every tick is in the topic once, with the cluster's id, one per second from the
  // first to the last, and the first and last within 3 s of the schedule's start and end.
  void ExpectEachTickOnce(const std::vector<TickRecord>& records, int64_t from_ms, int64_t to_ms) {
    const std::string secret = ClusterSecret();
    ASSERT_EQ(secret.size(), 32u);
    std::map<int64_t, int> times;  // tick -> records
    std::set<std::string> ids;
    for (const TickRecord& r : records) {
      ++times[r.tick];
      ids.insert(r.id);
      EXPECT_EQ(r.id, ScheduleEventId(secret, "every-second", r.tick)) << "tick " << r.tick;
    }
    for (const auto& [tick, n] : times) EXPECT_EQ(n, 1) << "tick " << tick << " fired " << n << "x";
    EXPECT_EQ(ids.size(), records.size()) << "distinct tick ids = events";
    ASSERT_FALSE(times.empty());
    const int64_t first = times.begin()->first, last = times.rbegin()->first;
    EXPECT_EQ(static_cast<int64_t>(times.size()), (last - first) / 1000 + 1)
        << "a gap between the first tick " << first << " and the last " << last;
    EXPECT_LE(first, from_ms + 3000);
    EXPECT_GE(last, to_ms - 3000);
    std::cout << records.size() << " records, " << times.size() << " distinct ticks, from "
              << first - from_ms << " ms after the PUT to " << to_ms - last
              << " ms before the DELETE\n";
  }

  // The node that logged taking the schedule lease last, or -1.
  int Leader() {
    int leader = -1;
    for (size_t n = 0; n < nodes_.size(); ++n) {
      if (nodes_[n]->running() &&
          nodes_[n]->Logs().find("schedule lease taken") != std::string::npos) {
        leader = static_cast<int>(n);
      }
    }
    return leader;
  }

  std::unique_ptr<TestDatabase> db_;
  std::string prefix_;
  std::vector<ServerProcess*> nodes_;  // node 0 is server_
  std::vector<std::unique_ptr<ServerProcess>> others_;
  std::vector<std::string> dirs_;
};

TEST_F(ClusterScheduleTest, OneScheduleOnThreeNodesFiresEachTickOnceFor20Seconds) {
  CreateSchedule(/*through=*/1);
  const int64_t put_ms = WallMs();
  std::this_thread::sleep_for(std::chrono::seconds(20));
  ASSERT_EQ(On(2, "DELETE", "/v1/schedules/every-second").status, 204);
  const int64_t deleted_ms = WallMs();
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // a fire in flight lands
  std::vector<TickRecord> records = KafkaTicks();
  ExpectEachTickOnce(records, put_ms, deleted_ms);
  EXPECT_GE(records.size(), 17u);
  int holders = 0;
  for (ServerProcess* node : nodes_) {
    holders += node->Logs().find("schedule lease taken") != std::string::npos;
  }
  EXPECT_EQ(holders, 1) << "one node fired every tick";
}

TEST_F(ClusterScheduleTest, TicksGoOnFromAnotherNodeWhenTheFiringNodeIsKilled) {
  CreateSchedule(/*through=*/0);
  const int64_t put_ms = WallMs();
  std::this_thread::sleep_for(std::chrono::seconds(6));
  const int leader = Leader();
  ASSERT_GE(leader, 0) << "no node took the schedule lease";
  // SIGKILL between two fires (ticks fire within 200 ms after each whole second).
  while (WallMs() % 1000 < 500 || WallMs() % 1000 > 700) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  nodes_[leader]->Kill();
  const int64_t killed_ms = WallMs();
  std::this_thread::sleep_for(std::chrono::seconds(10));
  const int survivor = leader == 0 ? 1 : 0;
  ASSERT_EQ(On(survivor, "DELETE", "/v1/schedules/every-second").status, 204);
  const int64_t deleted_ms = WallMs();
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  std::vector<TickRecord> records = KafkaTicks();
  ExpectEachTickOnce(records, put_ms, deleted_ms);
  int64_t after_kill = 0, max_delay_ms = 0;  // ticks after the kill; the most late one
  for (const TickRecord& r : records) {
    if (r.tick <= killed_ms) continue;
    ++after_kill;
    max_delay_ms = std::max(max_delay_ms, r.stored_ms - r.tick);
  }
  EXPECT_GE(after_kill, 7) << "ticks went on after the kill";
  const int next = Leader();
  EXPECT_GE(next, 0);
  EXPECT_NE(next, leader);
  std::cout << "node " << leader << " killed; node " << next << " fired the next " << after_kill
            << " ticks, the latest of them " << max_delay_ms << " ms after its time\n";
}

}  // namespace
}  // namespace eragon::testing
