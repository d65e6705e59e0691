// eragond with topics on a real Kafka broker (API.md "Channels: Kafka"): the publish rules,
// the record layout other Kafka clients see, push and pull delivery, restarts, and
// consumer routes of type kafka (read by the SDK's KafkaConsumer). The broker is the ctest fixture
// kafka_broker; each test uses its own topic prefix.
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "core/murmur2.h"
#include "eragon/kafka_consumer.h"
#include "test_util.h"
#include "testing/test_http_server.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

class KafkaTest : public ServerTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    static std::mt19937_64 rng(std::random_device{}());
    prefix_ = "t" + std::to_string(rng() % 1000000000) + ".";
    return {"--kafka-brokers", KafkaBootstrap(), "--kafka-topic-prefix", prefix_};
  }
  void SetUp() override {
    ASSERT_FALSE(KafkaBootstrap().empty()) << "no broker: run through ctest (fixture kafka_broker)";
    ServerTest::SetUp();
  }
  // An ordered topic: per-entity order holds at the consumer (an unordered topic pushes
  // concurrently, so an entity's events may arrive in any order).
  void KafkaProducer(const std::string& type, const std::string& topic, int partitions = 4) {
    SetProducer(type, "order-service",
                R"("channel":"kafka","ordered":true,"topic":")" + topic + R"(","partitions":)" +
                    std::to_string(partitions));
  }
  // kcat's view of the Kafka topic: one line per record, "partition key".
  std::vector<std::string> KcatRecords(const std::string& topic) {
    ProcessResult r =
        RunProcess({"/usr/bin/env", "kcat", "-C", "-b", KafkaBootstrap(), "-t", prefix_ + topic,
                    "-o", "beginning", "-e", "-q", "-f", "%p %k %h\\n"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    return lines;
  }
  std::string prefix_;
};

TEST_F(KafkaTest, PublishRulesHoldOnAKafkaTopic) {
  KafkaProducer("order_created", "orders");
  std::vector<std::string> ids = PublishOk(EventJson("order_created", "o1", R"({"n":1})", "e-1"));
  ASSERT_EQ(ids, std::vector<std::string>{"e-1"});
  // The same id and content: a duplicate, stored once.
  HttpReply dup =
      Admin("POST", "/v1/events", EventJson("order_created", "o1", R"({"n":1})", "e-1"));
  ASSERT_EQ(dup.status, 202) << Describe(dup);
  EXPECT_EQ(Json(dup.body).Bool({"duplicates", "0"}), true);
  // The same id with other content: 409.
  EXPECT_API_ERROR(
      Admin("POST", "/v1/events", EventJson("order_created", "o1", R"({"n":2})", "e-1")), 409,
      "conflict");
  // A batch with one bad event stores nothing.
  std::string batch = R"({"events":[)" + EventJson("order_created", "o2", "{}", "e-2") + "," +
                      R"({"event_type":"order_created","data":{}}]})";
  EXPECT_API_ERROR(Admin("POST", "/v1/events", batch), 400, "invalid_field");
  EXPECT_EQ(GetStatus("e-2"), 404);
  // GET answers the event from Kafka, data byte-for-byte.
  HttpReply got = Admin("GET", "/v1/events/e-1");
  ASSERT_EQ(got.status, 200) << Describe(got);
  EXPECT_EQ(RawEventData(got.body), R"({"n":1})");
  EXPECT_EQ(KcatRecords("orders").size(), 1u);
}

TEST_F(KafkaTest, KafkaClientsSeeKeysAndMurmur2PartitionsAndHeaders) {
  KafkaProducer("order_created", "orders", 8);
  std::string batch = R"({"events":[)";
  for (int i = 0; i < 40; ++i) {
    batch += (i ? "," : "") + EventJson("order_created", "order-" + std::to_string(i), "{}");
  }
  PublishOk(batch + "]}");
  std::vector<std::string> lines = KcatRecords("orders");
  ASSERT_EQ(lines.size(), 40u);
  for (const std::string& line : lines) {
    std::istringstream in(line);
    uint32_t partition = 0;
    std::string key;
    in >> partition >> key;
    EXPECT_EQ(partition, Murmur2Partition(key, 8)) << line;
    EXPECT_NE(line.find("eragon-event-type=order_created"), std::string::npos) << line;
    EXPECT_NE(line.find("eragon-producer=order-service"), std::string::npos) << line;
    EXPECT_NE(line.find("eragon-event-id="), std::string::npos) << line;
  }
}

TEST_F(KafkaTest, ExistingKafkaTopicWithOtherPartitionCountIsConflict) {
  KafkaProducer("order_created", "orders", 4);
  ASSERT_EQ(Admin("DELETE", "/v1/routes/order_created/producer").status, 204);
  HttpReply r =
      Admin("PUT", "/v1/routes/order_created/producer",
            R"({"producer":"order-service","channel":"kafka","topic":"orders","partitions":8})");
  EXPECT_API_ERROR(r, 409, "conflict");
  EXPECT_EQ(Admin("GET", "/v1/routes/order_created/producer").status, 404);
}

TEST_F(KafkaTest, PushConsumerGetsEveryEventInEntityOrderAcrossARestart) {
  KafkaProducer("order_created", "orders");
  std::mutex mu;
  std::map<std::string, std::vector<int>> seen;  // entity -> sequence numbers
  std::atomic<int> total{0};
  TestHttpServer endpoint([&](const TestRequest& r) {
    std::lock_guard lock(mu);
    Json body(r.body);
    seen[r.Header("Eragon-Entity-Id").value_or("")].push_back(
        static_cast<int>(body.Int({"data", "seq"}).value_or(-1)));
    total++;
    return TestAnswer{};
  });
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/payment-service",
                  R"({"type":"http","url":")" + endpoint.Url() + R"(","start":"earliest"})")
                .status,
            201);
  auto publish = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      PublishOk(EventJson("order_created", "o" + std::to_string(i % 5),
                          R"({"seq":)" + std::to_string(i) + "}"));
    }
  };
  publish(0, 50);
  ASSERT_TRUE(WaitFor([&] { return total >= 50; }, std::chrono::seconds(60))) << total;
  Restart();  // positions are the group's offsets in Kafka
  publish(50, 100);
  ASSERT_TRUE(WaitFor([&] { return total >= 100; }, std::chrono::seconds(60))) << total;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::lock_guard lock(mu);
  EXPECT_EQ(total.load(), 100) << "a clean restart delivers nothing twice";
  for (const auto& [entity, seqs] : seen) {
    for (size_t k = 1; k < seqs.size(); ++k) EXPECT_LT(seqs[k - 1], seqs[k]) << entity;
  }
}

TEST_F(KafkaTest, PullConsumerFetchesAndAcksFromAKafkaTopic) {
  KafkaProducer("order_created", "orders");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/worker",
                  R"({"type":"pull","start":"earliest"})")
                .status,
            201);
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(PublishOk(EventJson("order_created", "o" + std::to_string(i), "{}"))[0]);
  }
  std::string token = CreateService("worker", {"consumer"});
  std::set<std::string> got;
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpReply r =
            Call(token, "POST", "/v1/consumers/worker/fetch", R"({"max":100,"wait_ms":500})");
        Json j(r.body);
        std::string acks;
        for (int64_t k = 0; k < j.Len({"messages"}); ++k) {
          std::string idx = std::to_string(k);
          got.insert(j.Str({"messages", idx, "event", "id"}));
          acks += (acks.empty() ? "" : ",") + Quote(j.Str({"messages", idx, "ack_id"}));
        }
        if (!acks.empty()) {
          HttpReply a =
              Call(token, "POST", "/v1/consumers/worker/ack", "{\"ack_ids\":[" + acks + "]}");
          EXPECT_EQ(a.status, 200) << Describe(a);
        }
        return got.size() == ids.size();
      },
      std::chrono::seconds(60)));
  HttpReply ev = Admin("GET", "/v1/events/" + ids[0]);
  EXPECT_NE(ev.body.find(R"("state":"delivered")"), std::string::npos) << Describe(ev);
}

// Issue 15 on the Kafka channel: a filter on a pull route of a Kafka topic delivers only
// what matches; the rest shows state "filtered" and does not hold the position back.
TEST_F(KafkaTest, FilterOnAKafkaTopicDeliversOnlyMatchesAndMarksTheRestFiltered) {
  KafkaProducer("order_created", "orders");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/big-orders",
                  R"({"type":"pull","start":"earliest",)"
                  R"("filter":{"data.total":[{"numeric":[">=",100]}]}})")
                .status,
            201);
  std::vector<std::string> big, small;
  for (int i = 0; i < 8; ++i) {
    const bool is_big = i % 2 == 0;
    const std::string data = R"({"total":)" + std::to_string(is_big ? 150 : 50) + "}";
    (is_big ? big : small)
        .push_back(PublishOk(EventJson("order_created", "o" + std::to_string(i), data))[0]);
  }
  std::string token = CreateService("big-orders", {"consumer"});
  std::set<std::string> got;
  ASSERT_TRUE(WaitFor(
      [&] {
        Json j(Call(token, "POST", "/v1/consumers/big-orders/fetch", R"({"max":100,"wait_ms":500})")
                   .body);
        std::string acks;
        for (int64_t k = 0; k < j.Len({"messages"}); ++k) {
          std::string idx = std::to_string(k);
          got.insert(j.Str({"messages", idx, "event", "id"}));
          acks += (acks.empty() ? "" : ",") + Quote(j.Str({"messages", idx, "ack_id"}));
        }
        if (!acks.empty())
          Call(token, "POST", "/v1/consumers/big-orders/ack", "{\"ack_ids\":[" + acks + "]}");
        return got.size() >= big.size();
      },
      std::chrono::seconds(60)));
  EXPECT_EQ(got, std::set<std::string>(big.begin(), big.end()));
  HttpReply ev = Admin("GET", "/v1/events/" + small[0]);
  EXPECT_EQ(Json(ev.body).Str({"deliveries", "0", "state"}), "filtered") << Describe(ev);
}

TEST_F(KafkaTest, ConsumerRouteOfTypeKafkaEchoesWhereToRead) {
  KafkaProducer("order_created", "orders");
  HttpReply r = Admin("PUT", "/v1/routes/order_created/consumers/notification-service",
                      R"({"type":"kafka"})");
  ASSERT_EQ(r.status, 201) << Describe(r);
  Json j(r.body);
  EXPECT_EQ(j.Str({"kafka", "bootstrap"}), KafkaBootstrap());
  EXPECT_EQ(j.Str({"kafka", "topic"}), prefix_ + "orders");
  EXPECT_EQ(j.Str({"kafka", "group"}), "notification-service");
  // Not on an embedded topic.
  SetProducer("order_paid", "order-service");
  EXPECT_API_ERROR(
      Admin("PUT", "/v1/routes/order_paid/consumers/notification-service", R"({"type":"kafka"})"),
      400, "invalid_field");
}

// The lag of a type-kafka route's group shows in /metrics: what the application's own group
// has not committed yet (here: everything, then nothing once kcat commits as that group).
TEST_F(KafkaTest, MetricsShowTheLagOfAKafkaConsumersGroup) {
  KafkaProducer("order_created", "orders", 2);
  ASSERT_EQ(
      Admin("PUT", "/v1/routes/order_created/consumers/notification-service", R"({"type":"kafka"})")
          .status,
      201);
  for (int i = 0; i < 7; ++i) PublishOk(EventJson("order_created", "o" + std::to_string(i), "{}"));
  auto lag_line = [&] {
    std::string text = Call("", "GET", "/metrics").body;
    size_t at = text.find("eragon_consumer_lag_events{consumer=\"notification-service\"");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_NE(lag_line().find("} 7"), std::string::npos) << lag_line();
  // The application reads everything with its group and commits.
  ProcessResult r = RunProcess({"/usr/bin/env", "kcat", "-C", "-b", KafkaBootstrap(), "-G",
                                "notification-service", "-X", "auto.offset.reset=earliest", "-e",
                                "-q", prefix_ + "orders"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(lag_line().find("} 0"), std::string::npos) << lag_line();
}

// Dead letters, redrive, replay (offsets for times on Kafka) and dedup work on a Kafka topic
// as on the embedded log.
TEST_F(KafkaTest, DeadLettersRedriveReplayAndDedupWorkOnAKafkaTopic) {
  KafkaProducer("order_created", "orders");
  std::atomic<bool> reject_seq3{true};
  std::mutex mu;
  std::map<int, int> times;  // seq -> deliveries
  TestHttpServer endpoint([&](const TestRequest& r) {
    int seq = static_cast<int>(Json(r.body).Int({"data", "seq"}).value_or(-1));
    if (seq == 3 && reject_seq3) {
      TestAnswer bad;
      bad.status = 400;
      return bad;
    }
    std::lock_guard lock(mu);
    times[seq]++;
    return TestAnswer{};
  });
  const std::string route = "/v1/routes/order_created/consumers/payment-service";
  ASSERT_EQ(Admin("PUT", route,
                  R"({"type":"http","url":")" + endpoint.Url() +
                      R"(","start":"earliest","dedup":"event_id"})")
                .status,
            201);
  auto delivered = [&] {
    std::lock_guard lock(mu);
    int n = 0;
    for (const auto& [seq, k] : times) n += k;
    return n;
  };
  for (int i = 0; i < 6; ++i) {
    PublishOk(EventJson("order_created", "o" + std::to_string(i),
                        R"({"seq":)" + std::to_string(i) + "}"));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return delivered() == 5 && Json(Admin("GET", route + "/dead").body).Len({"items"}) == 1;
      },
      std::chrono::seconds(60)));
  reject_seq3 = false;
  ASSERT_EQ(Admin("POST", route + "/redrive", "{}").status, 200);
  ASSERT_TRUE(WaitFor([&] { return delivered() == 6; }, std::chrono::seconds(60)));
  // Replay from the start honours dedup (every id was delivered already) ...
  ASSERT_EQ(Admin("POST", route + "/replay", R"({"from":0})").status, 200);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(delivered(), 6);
  // ... unless told to ignore it: everything comes again, found by time in Kafka.
  ASSERT_EQ(Admin("POST", route + "/replay", R"({"from":0,"ignore_dedup":true})").status, 200);
  EXPECT_TRUE(WaitFor([&] { return delivered() == 12; }, std::chrono::seconds(60))) << delivered();
}

TEST_F(KafkaTest, ScheduleTicksArePublishedToAKafkaTopic) {
  KafkaProducer("report_due", "reports");
  ASSERT_EQ(Admin("PUT", "/v1/schedules/every-second",
                  R"({"event_type":"report_due","entity_id":"daily","data":{},"every":"1s"})")
                .status,
            201);
  EXPECT_TRUE(
      WaitFor([&] { return KcatRecords("reports").size() >= 2; }, std::chrono::seconds(30)));
  EXPECT_GE(CountEvents("report_due"), 2);
}

// The SDK's KafkaConsumer reads a type-kafka route with the echo's bootstrap, topic and
// group: every event eragond published, with its fields and data byte-for-byte, each
// entity's in publish order at concurrency 8; its commits are the group's, so the route's
// lag in /metrics drops to 0.
TEST_F(KafkaTest, SdkKafkaConsumerReadsWhatEragondPublishedInEntityOrder) {
  KafkaProducer("order_created", "orders", 4);
  HttpReply r = Admin("PUT", "/v1/routes/order_created/consumers/notification-service",
                      R"({"type":"kafka"})");
  ASSERT_EQ(r.status, 201) << Describe(r);
  Json echo(r.body);
  std::map<std::string, std::string> data_of;  // event id -> data as published
  for (int round = 0; round < 10; ++round) {
    std::string body = R"({"events":[)";
    for (int e = 0; e < 8; ++e) {
      const std::string id = "o" + std::to_string(e) + "-" + std::to_string(round);
      data_of[id] = R"({ "round": )" + std::to_string(round) + R"(, "s": "\u00e9" })";
      body +=
          (e > 0 ? "," : "") + EventJson("order_created", "o" + std::to_string(e), data_of[id], id);
    }
    PublishOk(body + "]}");
  }
  KafkaConsumerOptions o;
  o.bootstrap = echo.Str({"kafka", "bootstrap"});
  o.topic = echo.Str({"kafka", "topic"});
  o.group = echo.Str({"kafka", "group"});
  o.concurrency = 8;
  std::mutex mu;
  std::map<std::string, std::vector<int>> rounds;  // entity -> rounds in handling order
  int mismatches = 0;
  KafkaConsumer consumer(o);
  consumer.On("order_created", [&](const Delivery& d) {
    std::lock_guard lock(mu);
    auto it = data_of.find(d.event.id);
    if (it == data_of.end() || it->second != d.event.data || d.event.producer != "order-service") {
      ++mismatches;
    }
    rounds[d.event.entity_id].push_back(std::stoi(d.event.id.substr(d.event.id.find('-') + 1)));
    return Status::Ok();
  });
  ASSERT_TRUE(consumer.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return consumer.stats().succeeded >= 80; }, std::chrono::seconds(60)));
  // Each batch was a transaction: its commit marker follows its records. The consumer
  // commits past the markers when it reaches the end of each partition, so the group's lag
  // comes down to 0 while it runs (eragond caches the lag for up to 5 s).
  auto lag = [&] {
    std::string text = Call("", "GET", "/metrics").body;
    size_t at = text.find("eragon_consumer_lag_events{consumer=\"notification-service\"");
    return at == std::string::npos ? std::string("none")
                                   : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_TRUE(WaitFor([&] { return lag().ends_with("} 0"); }, std::chrono::seconds(20))) << lag();
  consumer.Stop();
  EXPECT_EQ(mismatches, 0);
  ASSERT_EQ(rounds.size(), 8u);
  for (const auto& [entity, got] : rounds) {
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})) << entity;
  }
}

}  // namespace
}  // namespace eragon::testing
