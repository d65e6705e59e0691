// A saga whose trigger, commands and replies live on Kafka topics (API.md "Sagas" on
// "Channels: Kafka"): the engine reads the trigger and reply topics through the Kafka
// channel and publishes to Kafka. The test plays the services, reading each command from
// GET /v1/events and publishing the reply. One instance completes; one fails at its
// second step and compensates the first. The broker is the ctest fixture kafka_broker;
// each test uses its own topic prefix.
#include <random>

#include "test_util.h"

namespace eragon::testing {
namespace {

using std::chrono::seconds;

class KafkaSagaTest : public ServerTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    static std::mt19937_64 rng(std::random_device{}());
    return {"--kafka-brokers", KafkaBootstrap(), "--kafka-topic-prefix",
            "s" + std::to_string(rng() % 1000000000) + "."};
  }
  void SetUp() override {
    ASSERT_FALSE(KafkaBootstrap().empty()) << "no broker: run through ctest (fixture kafka_broker)";
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    // Trigger, commands and replies: three Kafka topics.
    const std::string kafka = R"("channel":"kafka","ordered":true,"partitions":4,"topic":)";
    SetProducer("order_created", "order-service", kafka + R"("orders")");
    for (const char* t :
         {"reserve_cmd", "reserve_undo", "charge_cmd", "order_confirmed", "order_rejected"}) {
      SetProducer(t, "saga-order", kafka + R"("saga-out")");
    }
    for (const char* t : {"reserved", "reserve_failed", "charged", "declined"}) {
      SetProducer(t, "services", kafka + R"("replies")");
    }
    HttpReply r = Admin("PUT", "/v1/sagas/order", R"({"trigger": "order_created", "steps": [
        {"name": "reserve", "command": "reserve_cmd", "success": ["reserved"],
         "failure": ["reserve_failed"], "compensation": "reserve_undo", "timeout_ms": 60000},
        {"name": "charge", "command": "charge_cmd", "success": ["charged"],
         "failure": ["declined"], "timeout_ms": 60000}],
        "completed": "order_confirmed", "failed": "order_rejected"})");
    ASSERT_EQ(r.status, 201) << Describe(r);
  }

  size_t Count(const std::string& type, const std::string& entity) {
    HttpReply r = Admin("GET", "/v1/events?event_type=" + type + "&entity_id=" + entity);
    EXPECT_EQ(r.status, 200) << Describe(r);
    return static_cast<size_t>(Json(r.body).Len({"items"}));
  }

  // Waits for the saga's `command` of `entity` on Kafka, then publishes `reply`.
  void Answer(const std::string& command, const std::string& reply, const std::string& entity) {
    ASSERT_TRUE(WaitFor([&] { return Count(command, entity) == 1; }, seconds(60))) << command;
    PublishOk(EventJson(reply, entity, R"({"by": "test"})", reply + "-" + entity));
  }

  std::string State(const std::string& entity) {
    return Json(Admin("GET", "/v1/sagas/order/instances/" + entity).body).Str({"state"});
  }

  std::vector<std::string> History(const std::string& entity) {
    Json j(Admin("GET", "/v1/sagas/order/instances/" + entity).body);
    std::vector<std::string> out;
    for (int64_t i = 0; i < j.Len({"history"}); ++i)
      out.push_back(j.Str({"history", std::to_string(i), "event_type"}));
    return out;
  }
};

TEST_F(KafkaSagaTest, ASagaOnKafkaTopicsCompletes) {
  PublishOk(EventJson("order_created", "k1", R"({"order": {"id": 1}})", "created-k1"));
  Answer("reserve_cmd", "reserved", "k1");
  Answer("charge_cmd", "charged", "k1");
  ASSERT_TRUE(WaitFor([&] { return Count("order_confirmed", "k1") == 1; }, seconds(60)));
  ASSERT_TRUE(WaitFor([&] { return State("k1") == "completed"; }, seconds(30)));
  EXPECT_EQ(History("k1"), (std::vector<std::string>{"order_created", "reserve_cmd", "reserved",
                                                     "charge_cmd", "charged", "order_confirmed"}));
  for (const char* t : {"reserve_cmd", "charge_cmd"}) EXPECT_EQ(Count(t, "k1"), 1u) << t;
  EXPECT_EQ(Count("reserve_undo", "k1"), 0u);
  EXPECT_EQ(Count("order_rejected", "k1"), 0u);
  // The command on Kafka carries the trigger's data and the first reply.
  HttpReply cmd = Admin("GET", "/v1/events?event_type=charge_cmd&entity_id=k1");
  Json listed(cmd.body);
  HttpReply got = Admin("GET", "/v1/events/" + listed.Str({"items", "0", "id"}));
  Json ev(got.body);
  EXPECT_EQ(ev.Str({"event", "producer"}), "saga-order");
  EXPECT_EQ(ev.Int({"event", "data", "order", "id"}), 1);
  EXPECT_EQ(ev.Str({"event", "data", "replies", "reserve", "by"}), "test");
}

TEST_F(KafkaSagaTest, ASagaOnKafkaTopicsCompensatesWhenAStepFails) {
  PublishOk(EventJson("order_created", "k2", R"({"order": {"id": 2}})", "created-k2"));
  Answer("reserve_cmd", "reserved", "k2");
  Answer("charge_cmd", "declined", "k2");
  ASSERT_TRUE(WaitFor([&] { return Count("order_rejected", "k2") == 1; }, seconds(60)));
  ASSERT_TRUE(WaitFor([&] { return State("k2") == "failed"; }, seconds(30)));
  EXPECT_EQ(Count("reserve_undo", "k2"), 1u);
  EXPECT_EQ(Count("order_confirmed", "k2"), 0u);
  EXPECT_EQ(History("k2"),
            (std::vector<std::string>{"order_created", "reserve_cmd", "reserved", "charge_cmd",
                                      "declined", "reserve_undo", "order_rejected"}));
}

}  // namespace
}  // namespace eragon::testing
