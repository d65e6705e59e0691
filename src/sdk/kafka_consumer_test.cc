// KafkaConsumer against a real broker (the ctest fixture kafka_broker; its address is in
// the file ERAGON_TEST_KAFKA_FILE names, or ERAGON_TEST_KAFKA_BOOTSTRAP). Records are
// produced in Eragon's layout (channel/kafka/kafka_record.h: key = entity id, murmur2
// partition, JSON value, headers) with librdkafka; every test has its own topic and group.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "channel/kafka/kafka_admin.h"
#include "channel/kafka/kafka_record.h"
#include "core/murmur2.h"
#include "eragon/kafka_consumer.h"

extern char** environ;

namespace eragon {
namespace {

using namespace std::chrono_literals;

// The broker: ERAGON_TEST_KAFKA_BOOTSTRAP, else the first line of ERAGON_TEST_KAFKA_FILE.
std::string Bootstrap() {
  const char* direct = std::getenv("ERAGON_TEST_KAFKA_BOOTSTRAP");
  std::string out = direct != nullptr ? direct : "";
  if (const char* file = std::getenv("ERAGON_TEST_KAFKA_FILE"); out.empty() && file != nullptr) {
    std::getline(std::ifstream(file), out);
  }
  return out;
}

// `base` and a random suffix: every test has its own topic and group.
std::string UniqueName(const std::string& base) {
  static std::mt19937 rng(std::random_device{}());
  return base + "-" + std::to_string(rng());
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Event `seq` of `entity`; its id is "<entity>/<seq>".
Event MakeEvent(const std::string& entity, int seq) {
  return Event{entity + "/" + std::to_string(seq),
               "order_created",
               entity,
               "order-service",
               1700000000000 + seq,
               "{\"seq\":" + std::to_string(seq) + "}",
               ""};
}

// Events 0..seqs-1 of entities "ent-0".."ent-<entities-1>", round by round.
std::vector<Event> Grid(int entities, int seqs, int first_seq = 0) {
  std::vector<Event> out;
  for (int seq = first_seq; seq < first_seq + seqs; ++seq) {
    for (int e = 0; e < entities; ++e) out.push_back(MakeEvent("ent-" + std::to_string(e), seq));
  }
  return out;
}

int SeqOf(const std::string& id) { return std::stoi(id.substr(id.rfind('/') + 1)); }

// Where each produced record landed (partition, offset), by event id.
using Placement = std::map<std::string, std::pair<int32_t, int64_t>>;

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* out = static_cast<std::vector<std::pair<int32_t, int64_t>>*>(opaque);
  size_t index = reinterpret_cast<uintptr_t>(m->_private);
  (*out)[index] = m->err ? std::pair<int32_t, int64_t>{-1, -1} : std::pair{m->partition, m->offset};
}

rd_kafka_t* NewHandle(rd_kafka_type_t type,
                      const std::vector<std::pair<std::string, std::string>>& props,
                      void* opaque = nullptr) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK)
        << err;
  }
  if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return rk;
}

class KafkaConsumerTest : public testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = Bootstrap();
    ASSERT_FALSE(bootstrap_.empty()) << "no broker: run through ctest (fixture kafka_broker)";
    topic_ = UniqueName("sdk-test.orders");
    group_ = UniqueName("sdk-test-group");
    // Group-offset admin calls go through a consumer handle with a group of its own.
    admin_ = NewHandle(RD_KAFKA_CONSUMER,
                       {{"bootstrap.servers", bootstrap_}, {"group.id", UniqueName("sdk-admin")}});
  }
  void TearDown() override {
    if (admin_ != nullptr) rd_kafka_destroy(admin_);
  }

  void CreateTopic(uint32_t partitions) {
    partitions_ = partitions;
    ASSERT_TRUE(channel::kafka::CreateTopic(admin_, topic_, partitions, 1, 30000).ok());
  }

  // Produces `events` in order as Eragon's channel does; records where each landed.
  // `raw` replaces the value of the records at those indexes (not an Eragon event).
  void Produce(const std::vector<Event>& events, const std::map<size_t, std::string>& raw = {}) {
    std::vector<std::pair<int32_t, int64_t>> placed(events.size(), {-1, -1});
    rd_kafka_t* p =
        NewHandle(RD_KAFKA_PRODUCER,
                  {{"bootstrap.servers", bootstrap_}, {"enable.idempotence", "true"}}, &placed);
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      std::string value = raw.contains(i) ? raw.at(i) : channel::kafka::KafkaValueOf(e);
      rd_kafka_resp_err_t err = rd_kafka_producev(
          p, RD_KAFKA_V_TOPIC(topic_.c_str()),
          RD_KAFKA_V_PARTITION(static_cast<int32_t>(Murmur2Partition(e.entity_id, partitions_))),
          RD_KAFKA_V_KEY(e.entity_id.data(), e.entity_id.size()),
          RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADERS(channel::kafka::KafkaHeadersOf(e)),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(i))), RD_KAFKA_V_END);
      ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    }
    ASSERT_EQ(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_GE(placed[i].first, 0) << "not delivered: " << events[i].id;
      placement_[events[i].id] = placed[i];
    }
  }

  // The group's committed offsets of the topic, partition -> next offset.
  std::map<int32_t, int64_t> Committed() {
    std::map<int32_t, int64_t> out;
    auto offsets = channel::kafka::ListGroupOffsets(admin_, group_, 20000);
    EXPECT_TRUE(offsets.ok()) << offsets.status().message();
    if (!offsets.ok()) return out;
    for (const auto& o : *offsets) {
      if (o.topic == topic_)
        out[static_cast<int32_t>(o.partition)] = static_cast<int64_t>(o.offset);
    }
    return out;
  }

  void SecondInstanceJoins(const std::string& strategy);

  KafkaConsumerOptions Options() {
    KafkaConsumerOptions o;
    o.bootstrap = bootstrap_;
    o.topic = topic_;
    o.group = group_;
    o.commit_interval_ms = 50;
    o.config = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    o.on_error = [](const Status& st) {
      std::fprintf(stderr, "on_error: %s\n", st.ToString().c_str());
    };
    return o;
  }

  std::string bootstrap_, topic_, group_;
  uint32_t partitions_ = 1;
  rd_kafka_t* admin_ = nullptr;
  Placement placement_;
};

TEST_F(KafkaConsumerTest, OptionsAreValidated) {
  KafkaConsumerOptions o = Options();
  o.concurrency = 0;
  KafkaConsumer c(o);
  c.OnAny([](const Delivery&) { return Status::Ok(); });
  Status st = c.Start();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("concurrency"), std::string::npos) << st.message();
  KafkaConsumer no_handler(Options());
  EXPECT_EQ(no_handler.Start().code(), Code::kInvalidArgument);
}

TEST_F(KafkaConsumerTest, PerEntityOrderAtConcurrency8AndStopCommitsEverything) {
  CreateTopic(4);
  std::vector<Event> events = Grid(40, 25);
  Produce(events);

  std::mutex mu;
  std::map<std::string, std::vector<int>> seen;
  std::set<std::string> running;
  int overlaps = 0, now_running = 0, max_running = 0;
  KafkaConsumerOptions o = Options();
  o.concurrency = 8;
  KafkaConsumer consumer(o);
  consumer.On("order_created", [&](const Delivery& d) {
    {
      std::lock_guard lock(mu);
      if (!running.insert(d.event.entity_id).second) ++overlaps;
      seen[d.event.entity_id].push_back(SeqOf(d.event.id));
      max_running = std::max(max_running, ++now_running);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(300 + SeqOf(d.event.id) % 5 * 200));
    std::lock_guard lock(mu);
    running.erase(d.event.entity_id);
    --now_running;
    return Status::Ok();
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return consumer.stats().succeeded >= events.size(); }, 90s))
      << consumer.stats().succeeded;
  consumer.Stop();

  std::lock_guard lock(mu);
  EXPECT_EQ(overlaps, 0);
  EXPECT_GT(max_running, 1);  // entities really ran in parallel
  ASSERT_EQ(seen.size(), 40u);
  for (const auto& [entity, seqs] : seen) {
    std::vector<int> want(25);
    for (int i = 0; i < 25; ++i) want[i] = i;
    EXPECT_EQ(seqs, want) << entity;
  }
  // Stop committed every partition up to its end.
  int64_t committed = 0;
  for (const auto& [p, off] : Committed()) committed += off;
  EXPECT_EQ(committed, static_cast<int64_t>(events.size()));
}

TEST_F(KafkaConsumerTest, FailingHandlerIsRetriedInPlaceAndNothingAfterItIsCommitted) {
  CreateTopic(1);
  std::vector<Event> events;
  for (int seq = 0; seq < 10; ++seq) {
    events.push_back(MakeEvent("a", seq));
    events.push_back(MakeEvent("b", seq));
  }
  Produce(events);
  const int64_t failing_offset = placement_.at("a/3").second;
  ASSERT_EQ(failing_offset, 6);

  std::mutex mu;
  std::map<std::string, std::vector<std::pair<int, uint32_t>>> ok;  // entity -> (seq, attempt)
  std::atomic<int> a3_failures{0};
  std::atomic<bool> release{false};
  KafkaConsumerOptions o = Options();
  o.concurrency = 4;
  o.retry_initial_backoff_ms = 20;
  o.retry_max_backoff_ms = 100;
  KafkaConsumer consumer(o);
  consumer.OnAny([&](const Delivery& d) {
    if (d.event.id == "a/3" && !release) {
      ++a3_failures;
      return Status::Unavailable("not yet");
    }
    std::lock_guard lock(mu);
    ok[d.event.entity_id].push_back({SeqOf(d.event.id), d.attempt});
    return Status::Ok();
  });
  ASSERT_TRUE(consumer.Start().ok());
  auto count = [&](const std::string& entity) {
    std::lock_guard lock(mu);
    return ok[entity].size();
  };
  ASSERT_TRUE(WaitFor([&] { return count("b") == 10 && a3_failures >= 3; }, 60s));
  std::this_thread::sleep_for(500ms);  // several commit intervals
  // Only the records before a/3 are committed, although b's later ones succeeded; a's
  // later events wait behind it.
  EXPECT_EQ(Committed()[0], failing_offset);
  EXPECT_EQ(count("a"), 3u);

  release = true;
  ASSERT_TRUE(WaitFor([&] { return count("a") == 10; }, 30s));
  consumer.Stop();
  std::lock_guard lock(mu);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(ok["a"][i].first, i);
    EXPECT_EQ(ok["b"][i].first, i);
  }
  EXPECT_EQ(ok["a"][3].second,
            static_cast<uint32_t>(a3_failures.load()) + 1);  // same event, retried
  EXPECT_EQ(ok["a"][4].second, 1u);
  EXPECT_GE(consumer.stats().failed, 3u);
  EXPECT_EQ(Committed()[0], 20);
}

TEST_F(KafkaConsumerTest, RestartResumesFromCommittedOffsetsWithoutLossOrRedelivery) {
  CreateTopic(3);
  std::vector<Event> events = Grid(30, 10);
  Produce(events);

  std::mutex mu;
  std::set<std::string> first_run;
  {
    KafkaConsumerOptions o = Options();
    o.concurrency = 4;
    KafkaConsumer consumer(o);
    consumer.OnAny([&](const Delivery& d) {
      std::this_thread::sleep_for(2ms);
      std::lock_guard lock(mu);
      first_run.insert(d.event.id);
      return Status::Ok();
    });
    ASSERT_TRUE(consumer.Start().ok());
    ASSERT_TRUE(WaitFor([&] { return consumer.stats().succeeded >= 100; }, 60s));
    consumer.Stop();
  }
  const std::map<int32_t, int64_t> committed = Committed();
  auto is_committed = [&](const std::string& id) {
    auto [p, off] = placement_.at(id);
    return committed.contains(p) && off < committed.at(p);
  };
  size_t below = 0;
  for (const Event& e : events) {
    if (!is_committed(e.id)) continue;
    ++below;
    EXPECT_TRUE(first_run.contains(e.id)) << "committed but never handled: " << e.id;
  }
  EXPECT_GT(below, 0u);
  EXPECT_LT(first_run.size(), events.size());  // stopped before the end

  // More events arrive while no instance runs.
  std::vector<Event> more = Grid(30, 1, 10);
  Produce(more);
  events.insert(events.end(), more.begin(), more.end());

  std::map<std::string, std::vector<int>> second_run;
  KafkaConsumerOptions o = Options();
  o.concurrency = 4;
  KafkaConsumer consumer(o);
  consumer.OnAny([&](const Delivery& d) {
    std::lock_guard lock(mu);
    second_run[d.event.entity_id].push_back(SeqOf(d.event.id));
    EXPECT_FALSE(is_committed(d.event.id)) << "committed event delivered again: " << d.event.id;
    return Status::Ok();
  });
  ASSERT_TRUE(consumer.Start().ok());
  auto all_handled = [&] {
    std::lock_guard lock(mu);
    for (const Event& e : events) {
      const auto& got = second_run[e.entity_id];
      if (!first_run.contains(e.id) &&
          std::find(got.begin(), got.end(), SeqOf(e.id)) == got.end()) {
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(WaitFor(all_handled, 60s));
  std::this_thread::sleep_for(300ms);  // nothing else arrives
  consumer.Stop();
  std::lock_guard lock(mu);
  for (const auto& [entity, seqs] : second_run) {
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << entity;
    EXPECT_EQ(std::set<int>(seqs.begin(), seqs.end()).size(), seqs.size()) << entity;
  }
}

TEST_F(KafkaConsumerTest, DedupPassesOverACopyAndARecordThatIsNoEventIsSkipped) {
  CreateTopic(1);
  Produce({MakeEvent("a", 0), MakeEvent("a", 1), MakeEvent("a", 0), MakeEvent("a", 99),
           MakeEvent("a", 2)},
          {{3, "not json"}});
  std::mutex mu;
  std::vector<std::string> handled;
  std::atomic<int> errors{0};
  KafkaConsumerOptions o = Options();
  o.dedup_capacity = 100;
  o.on_error = [&](const Status&) { ++errors; };
  KafkaConsumer consumer(o);
  consumer.OnAny([&](const Delivery& d) {
    std::lock_guard lock(mu);
    handled.push_back(d.event.id);
    return Status::Ok();
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        KafkaConsumerStats st = consumer.stats();
        return st.succeeded == 3 && st.duplicates == 1 && st.skipped == 1;
      },
      60s));
  std::this_thread::sleep_for(200ms);  // nothing else comes
  consumer.Stop();
  EXPECT_EQ(handled, (std::vector<std::string>{"a/0", "a/1", "a/2"}));
  EXPECT_EQ(consumer.stats().duplicates, 1u);
  EXPECT_EQ(consumer.stats().skipped, 1u);
  EXPECT_GE(errors, 1);          // the record that is no event was reported
  EXPECT_EQ(Committed()[0], 5);  // both passed over, and committed
}

TEST_F(KafkaConsumerTest, WithoutDedupACopyIsHandledAgain) {
  CreateTopic(1);
  Produce({MakeEvent("a", 0), MakeEvent("a", 0)});
  std::atomic<int> handled{0};
  KafkaConsumer consumer(Options());
  consumer.OnAny([&](const Delivery&) {
    ++handled;
    return Status::Ok();
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return consumer.stats().succeeded == 2; }, 60s));
  consumer.Stop();
  EXPECT_EQ(handled, 2);
  EXPECT_EQ(consumer.stats().duplicates, 0u);
}

// A second instance joins mid-run; `strategy` is partition.assignment.strategy (eager
// protocol: every partition revoked and assigned again; cooperative: only those that move).
void KafkaConsumerTest::SecondInstanceJoins(const std::string& strategy) {
  CreateTopic(4);
  std::vector<Event> events = Grid(20, 60);
  Produce(events);
  std::mutex mu;
  std::set<std::string> running, handled;
  std::map<std::string, int> next_seq;  // per entity, the next first handling expected
  int overlaps = 0, out_of_order = 0;
  auto handler = [&](const Delivery& d) {
    {
      std::lock_guard lock(mu);
      if (!running.insert(d.event.entity_id).second) ++overlaps;  // across both instances
      if (handled.insert(d.event.id).second && SeqOf(d.event.id) != next_seq[d.event.entity_id]++) {
        ++out_of_order;
      }
    }
    std::this_thread::sleep_for(5ms);
    std::lock_guard lock(mu);
    running.erase(d.event.entity_id);
    return Status::Ok();
  };
  KafkaConsumerOptions o = Options();
  o.config.emplace_back("partition.assignment.strategy", strategy);
  o.concurrency = 2;
  o.max_records = 100;  // partitions are paused and resumed all along, across the rebalance
  KafkaConsumer first(o), second(o);
  first.OnAny(handler);
  second.OnAny(handler);
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return first.stats().succeeded >= 100; }, 60s));
  ASSERT_TRUE(second.Start().ok());
  auto count = [&] {
    std::lock_guard lock(mu);
    return handled.size();
  };
  auto show = [](const KafkaConsumer& c) {
    KafkaConsumerStats st = c.stats();
    return " received " + std::to_string(st.received) + " succeeded " +
           std::to_string(st.succeeded) + " rebalances " + std::to_string(st.rebalances) +
           " commits " + std::to_string(st.commits) + "/" + std::to_string(st.commit_errors);
  };
  ASSERT_TRUE(WaitFor([&] { return count() == events.size(); }, 90s))
      << count() << " first:" << show(first) << " second:" << show(second);
  first.Stop();
  second.Stop();
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(out_of_order, 0);
  EXPECT_GT(second.stats().succeeded, 0u);  // it got partitions
  EXPECT_GE(first.stats().rebalances, 2u);  // assigned, revoked (and assigned again)
}

TEST_F(KafkaConsumerTest, ASecondInstanceJoiningTakesPartitionsWithoutLossOrOverlap) {
  SecondInstanceJoins("range");
}

TEST_F(KafkaConsumerTest, ASecondInstanceJoiningUnderTheCooperativeProtocol) {
  SecondInstanceJoins("cooperative-sticky");
}

// --- two instances in one group, one killed (kill -9) ---------------------------------

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

struct Handled {
  int64_t ns;
  std::string id, entity;
};

std::vector<Handled> ReadLog(const std::string& path) {
  std::vector<Handled> out;
  std::ifstream in(path);
  Handled h;
  while (in >> h.ns >> h.id >> h.entity) out.push_back(h);
  return out;
}

int64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// How many events B handled after the kill of entities A was handling when it was killed
// (those of A's last lines that were not complete then): B took A's partitions over.
int TakenOver(const std::vector<Handled>& log_a, const std::vector<Handled>& log_b,
              int64_t killed_at, int per_entity) {
  std::map<std::string, int> done_before;  // entity -> its events handled before the kill
  std::set<std::string> seen;
  for (const std::vector<Handled>* log : {&log_a, &log_b}) {
    for (const Handled& h : *log) {
      if (h.ns < killed_at && seen.insert(h.id).second) ++done_before[h.entity];
    }
  }
  std::set<std::string> current;
  for (size_t i = log_a.size() > 8 ? log_a.size() - 8 : 0; i < log_a.size(); ++i) {
    if (done_before[log_a[i].entity] < per_entity) current.insert(log_a[i].entity);
  }
  EXPECT_FALSE(current.empty());
  int n = 0;
  for (const Handled& h : log_b) n += h.ns > killed_at && current.contains(h.entity) ? 1 : 0;
  return n;
}

TEST_F(KafkaConsumerTest, TwoInstancesInOneGroupOneKilledTheOtherTakesOver) {
  CreateTopic(4);
  std::vector<Event> events = Grid(16, 60);
  Produce(events);
  const std::string dir = std::filesystem::temp_directory_path() / UniqueName("sdk-kafka-kill");
  std::filesystem::create_directories(dir);
  auto start = [&](const std::string& name) {
    return Spawn({std::string(ERAGON_SDK_BIN_DIR) + "/eragon-sdk-kafka-consume", "--bootstrap",
                  bootstrap_, "--topic", topic_, "--group", group_, "--out", dir + "/" + name,
                  "--concurrency", "2", "--handler-ms", "20"});
  };
  pid_t a = start("a.log");
  pid_t b = start("b.log");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  auto ids = [&](const std::vector<Handled>& log) {
    std::set<std::string> out;
    for (const Handled& h : log) out.insert(h.id);
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return ReadLog(dir + "/a.log").size() >= 60; }, 90s));
  ::kill(a, SIGKILL);
  const int64_t killed_at = MonoNs();
  int status = 0;
  ::waitpid(a, &status, 0);
  std::vector<Handled> log_a = ReadLog(dir + "/a.log");
  std::set<std::string> done_at_kill = ids(log_a);
  for (const std::string& id : ids(ReadLog(dir + "/b.log"))) done_at_kill.insert(id);
  ASSERT_LT(done_at_kill.size(), events.size()) << "killed too late to prove a takeover";

  bool complete = WaitFor(
      [&] {
        std::set<std::string> all = ids(log_a);
        for (const std::string& id : ids(ReadLog(dir + "/b.log"))) all.insert(id);
        return all.size() == events.size();
      },
      120s);
  ::kill(b, SIGTERM);
  ::waitpid(b, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(complete) << "not every event was handled";

  // Merge both logs by time: each entity's first handlings are 0, 1, 2, ... in order.
  std::vector<Handled> log_b = ReadLog(dir + "/b.log");
  std::vector<Handled> merged = log_a;
  merged.insert(merged.end(), log_b.begin(), log_b.end());
  std::sort(merged.begin(), merged.end(), [](auto& x, auto& y) { return x.ns < y.ns; });
  std::set<std::string> first;
  std::map<std::string, int> next_seq;
  for (const Handled& h : merged) {
    if (!first.insert(h.id).second) continue;
    EXPECT_EQ(SeqOf(h.id), next_seq[h.entity]++) << h.id;
  }
  EXPECT_GT(TakenOver(log_a, log_b, killed_at, 60), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eragon
