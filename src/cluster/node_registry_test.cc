// NodeRegistry on a real PostgreSQL (fixture `postgres`, a database per test): nodes see
// each other's heartbeats, a node whose heartbeats stop leaves the list after
// listed_for_ms and its row goes after forget_after_ms, a stopped node removes its row,
// an unreachable server blocks nothing, and a single node lists itself.
#include "cluster/node_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "config/postgres/pg_config_store.h"
#include "testing/test_postgres.h"

namespace eragon::cluster {
namespace {

using eragon::testing::PgQueryValue;
using eragon::testing::TestDatabase;
using eragon::testing::TestPostgresUrl;

class NodeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(TestPostgresUrl().empty())
        << "no PostgreSQL: run through ctest (fixture postgres)";
    db_ = std::make_unique<TestDatabase>(TestPostgresUrl());
    ASSERT_TRUE(db_->ok()) << db_->error();
    // The config store migrates the schema (cluster_nodes is a config migration).
    ASSERT_TRUE(config::OpenPgConfigStore(db_->url()).ok());
  }
  RegistryOptions Options(const std::string& id, int64_t partitions) {
    RegistryOptions o;
    o.pg_url = db_->url();
    o.id = id;
    o.started_at = clock_.WallMs();
    o.partitions = [partitions] { return partitions; };
    o.clock = &clock_;
    return o;
  }
  static std::vector<std::string> Ids(const std::vector<NodeInfo>& nodes) {
    std::vector<std::string> ids;
    for (const NodeInfo& n : nodes) ids.push_back(n.id);
    return ids;
  }

  ManualClock clock_;
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(NodeRegistryTest, NodesSeeEachOthersHeartbeats) {
  NodeRegistry a(Options("node-a", 3)), b(Options("node-b", 5));
  a.Start("http://127.0.0.1:7001");
  b.Start("http://127.0.0.1:7002");
  ASSERT_TRUE(a.Beat().ok());
  ASSERT_TRUE(b.Beat().ok());
  ASSERT_TRUE(a.Beat().ok());
  std::vector<NodeInfo> seen = a.Nodes();
  ASSERT_EQ(Ids(seen), (std::vector<std::string>{"node-a", "node-b"}));
  EXPECT_EQ(seen[1].address, "http://127.0.0.1:7002");
  EXPECT_EQ(seen[1].partitions, 5);
  EXPECT_EQ(seen[1].started_at, clock_.WallMs());
  EXPECT_EQ(seen[1].last_seen, clock_.WallMs());
  EXPECT_EQ(seen[0].partitions, 3);
  EXPECT_EQ(Ids(b.Nodes()), Ids(seen));
}

TEST_F(NodeRegistryTest, ANodeWhoseHeartbeatsStopLeavesTheListThenTheTable) {
  RegistryOptions ao = Options("node-a", 0), bo = Options("node-b", 0);
  NodeRegistry a(ao);
  auto b = std::make_unique<NodeRegistry>(bo);
  ASSERT_TRUE(b->Beat().ok());
  ASSERT_TRUE(a.Beat().ok());
  const int64_t b_seen = clock_.WallMs();
  clock_.AdvanceMs(ao.listed_for_ms);
  ASSERT_TRUE(a.Beat().ok());
  ASSERT_EQ(a.Nodes().size(), 2u) << "still listed at exactly listed_for_ms";
  EXPECT_EQ(a.Nodes()[1].last_seen, b_seen) << "its last_seen stopped";
  clock_.AdvanceMs(1);
  EXPECT_EQ(Ids(a.Nodes()), std::vector<std::string>{"node-a"}) << "ages out in memory too";
  ASSERT_TRUE(a.Beat().ok());
  EXPECT_EQ(Ids(a.Nodes()), std::vector<std::string>{"node-a"});
  EXPECT_EQ(PgQueryValue(db_->url(), "SELECT count(*) FROM cluster_nodes").value(), "2");
  clock_.AdvanceMs(ao.forget_after_ms);
  ASSERT_TRUE(a.Beat().ok());
  EXPECT_EQ(PgQueryValue(db_->url(), "SELECT string_agg(id, ',') FROM cluster_nodes").value(),
            "node-a");
  // Back after all that: listed again at its next heartbeat.
  ASSERT_TRUE(b->Beat().ok());
  ASSERT_TRUE(a.Beat().ok());
  EXPECT_EQ(a.Nodes().size(), 2u);
}

TEST_F(NodeRegistryTest, AStoppedNodeRemovesItsRow) {
  NodeRegistry a(Options("node-a", 0));
  auto b = std::make_unique<NodeRegistry>(Options("node-b", 0));
  b->Start("http://b");
  // Its thread beats at once.
  auto rows = [&] {
    Result<std::string> n = PgQueryValue(db_->url(), "SELECT count(*) FROM cluster_nodes");
    return n.ok() ? *n : "";
  };
  for (int i = 0; i < 200 && rows() != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(a.Beat().ok());
  ASSERT_EQ(a.Nodes().size(), 2u);
  b->Stop();
  ASSERT_TRUE(a.Beat().ok());
  EXPECT_EQ(Ids(a.Nodes()), std::vector<std::string>{"node-a"});
}

TEST_F(NodeRegistryTest, AnUnreachableServerBlocksNothing) {
  RegistryOptions o = Options("node-a", 7);
  o.pg_url = "postgresql://eragon:pw@127.0.0.1:1/eragon";
  NodeRegistry a(o);
  a.Start("http://a");
  Status st = a.Beat();
  EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  const auto start = std::chrono::steady_clock::now();
  std::vector<NodeInfo> nodes = a.Nodes();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].partitions, 7);
  EXPECT_EQ(nodes[0].address, "http://a");
}

TEST(NodeRegistrySingleNodeTest, ASingleNodeListsItselfFromMemory) {
  ManualClock clock;
  std::atomic<int64_t> partitions{2};
  RegistryOptions o;
  o.id = "solo";
  o.started_at = clock.WallMs();
  o.partitions = [&] { return partitions.load(); };
  o.clock = &clock;
  NodeRegistry r(o);
  r.Start("http://127.0.0.1:7070");
  EXPECT_TRUE(r.Beat().ok());
  clock.AdvanceMs(5000);
  partitions = 4;
  std::vector<NodeInfo> nodes = r.Nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0], (NodeInfo{"solo", "http://127.0.0.1:7070", o.started_at, clock.WallMs(), 4}));
}

TEST(NodeIdTest, TheNodeIdIsMadeOnceAndKept) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("eragon-node-id-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Result<std::string> first = EnsureNodeId(Env::Default(), dir.string());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 16u);
  EXPECT_EQ(EnsureNodeId(Env::Default(), dir.string()).value(), *first);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  EXPECT_NE(EnsureNodeId(Env::Default(), dir.string()).value(), *first);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eragon::cluster
