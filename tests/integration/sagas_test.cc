// Sagas against the real eragond (API.md "Sagas"): the test plays the services, reading
// the commands the saga publishes and publishing their replies. Happy path, failure at
// each step with compensations in reverse order, timeouts, late/duplicate/unknown
// replies, definitions changed or deleted under running instances, the API's errors,
// and a SIGKILL at every transition point proving no step is skipped or doubled.
#include <cstdlib>
#include <fstream>
#include <thread>

#include "test_util.h"

namespace eragon::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Three steps; `charge` has no compensation.
std::string SagaBody(int64_t timeout_ms = 30'000) {
  const std::string t = std::to_string(timeout_ms);
  return R"({"trigger": "order_created", "steps": [
    {"name": "reserve", "command": "reserve_cmd", "success": ["reserved"],
     "failure": ["reserve_failed"], "compensation": "reserve_undo", "timeout_ms": )" +
         t + R"(},
    {"name": "pack", "command": "pack_cmd", "success": ["packed"], "failure": ["pack_failed"],
     "compensation": "pack_undo", "timeout_ms": )" +
         t + R"(},
    {"name": "charge", "command": "charge_cmd", "success": ["charged"],
     "failure": ["declined"], "timeout_ms": )" +
         t + R"(}],
    "completed": "order_confirmed", "failed": "order_rejected"})";
}

const char* kCommands[] = {"reserve_cmd", "pack_cmd", "charge_cmd"};
const char* kSuccess[] = {"reserved", "packed", "charged"};
const char* kFailure[] = {"reserve_failed", "pack_failed", "declined"};

class SagasTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (!HasFatalFailure()) SetUpRoutes();
  }

  void SetUpRoutes() {
    SetProducer("order_created", "order-service");
    for (const char* t : {"reserve_cmd", "reserve_undo", "pack_cmd", "pack_undo", "charge_cmd",
                          "order_confirmed", "order_rejected"}) {
      SetProducer(t, "saga-order", R"("topic": "saga-out")");
    }
    for (const char* t :
         {"reserved", "reserve_failed", "packed", "pack_failed", "charged", "declined"}) {
      SetProducer(t, "services", R"("topic": "replies")");
    }
    // Built in where src/platform creates the platform routes at start (a PUT is then 409).
    Admin("PUT", "/v1/routes/eragon.saga_failed/producer",
          R"({"producer": "eragon", "topic": "eragon.platform", "ordered": true})");
  }

  void PutSaga(const std::string& body = SagaBody(), int want = 201) {
    HttpReply r = Admin("PUT", "/v1/sagas/order", body);
    ASSERT_EQ(r.status, want) << Describe(r);
  }

  // Ids of the events of `type` for `entity`, newest first.
  std::vector<std::string> Events(const std::string& type, const std::string& entity) {
    HttpReply r = Admin(
        "GET", "/v1/events?event_type=" + type + "&entity_id=" + UrlEncode(entity) + "&limit=1000");
    EXPECT_EQ(r.status, 200) << Describe(r);
    Json j(r.body);
    std::vector<std::string> ids;
    for (int64_t i = 0; i < j.Len({"items"}); ++i)
      ids.push_back(j.Str({"items", std::to_string(i), "id"}));
    return ids;
  }

  bool WaitEvent(const std::string& type, const std::string& entity, size_t n = 1) {
    return WaitFor([&] { return Events(type, entity).size() >= n; }, seconds(20));
  }

  void Publish(const std::string& type, const std::string& entity, const std::string& id,
               const std::string& data = "{}") {
    PublishOk(EventJson(type, entity, data, id));
  }

  Json Instance(const std::string& id) {
    HttpReply r = Admin("GET", "/v1/sagas/order/instances/" + UrlEncode(id));
    EXPECT_EQ(r.status, 200) << Describe(r);
    return Json(r.body);
  }

  bool WaitState(const std::string& id, const std::string& state) {
    return WaitFor([&] { return Instance(id).Str({"state"}) == state; }, seconds(20));
  }

  // Runs the instance `id` to step `k` (its command published), replying success before.
  void RunTo(const std::string& id, int k) {
    Publish("order_created", id, "trigger-" + id, R"({"order": {"id": 30}})");
    for (int i = 0; i < k; ++i) {
      ASSERT_TRUE(WaitEvent(kCommands[i], id)) << kCommands[i];
      Publish(kSuccess[i], id, "ok-" + std::to_string(i) + "-" + id,
              R"({"step": )" + std::to_string(i) + "}");
    }
    ASSERT_TRUE(WaitEvent(kCommands[k], id)) << kCommands[k];
  }

  // The event types of the instance's history entries, in order, with their notes.
  std::vector<std::string> History(const std::string& id) {
    Json j = Instance(id);
    std::vector<std::string> out;
    for (int64_t i = 0; i < j.Len({"history"}); ++i) {
      std::string k = std::to_string(i);
      std::string note = j.Str({"history", k, "note"});
      out.push_back(j.Str({"history", k, "event_type"}) + (note.empty() ? "" : "/" + note));
    }
    return out;
  }
};

TEST_F(SagasTest, HappyPathPublishesEachCommandOnceThenCompleted) {
  PutSaga();
  RunTo("o1", 2);
  Publish("charged", "o1", "ok-2-o1");
  ASSERT_TRUE(WaitEvent("order_confirmed", "o1"));
  ASSERT_TRUE(WaitState("o1", "completed"));
  for (const char* t : {"reserve_cmd", "pack_cmd", "charge_cmd", "order_confirmed"}) {
    EXPECT_EQ(Events(t, "o1").size(), 1u) << t;
  }
  EXPECT_TRUE(Events("order_rejected", "o1").empty());
  EXPECT_TRUE(Events("reserve_undo", "o1").empty());
  // The command carries the trigger's data plus every reply so far.
  HttpReply e = Admin("GET", "/v1/events/" + Events("charge_cmd", "o1")[0]);
  Json ev(e.body);
  EXPECT_EQ(ev.Str({"event", "producer"}), "saga-order");
  EXPECT_EQ(ev.Int({"event", "data", "order", "id"}), 30);
  EXPECT_EQ(ev.Int({"event", "data", "replies", "pack", "step"}), 1);
  EXPECT_EQ(History("o1"),
            (std::vector<std::string>{"order_created", "reserve_cmd", "reserved", "pack_cmd",
                                      "packed", "charge_cmd", "charged", "order_confirmed"}));
  HttpReply list = Admin("GET", "/v1/sagas/order/instances?state=completed");
  EXPECT_EQ(Json(list.body).Str({"items", "0", "id"}), "o1");
}

TEST_F(SagasTest, FailureAtEachStepCompensatesCompletedStepsInReverseOrder) {
  PutSaga();
  const std::vector<std::vector<std::string>> tails = {
      {"reserve_failed", "order_rejected"},
      {"pack_failed", "reserve_undo", "order_rejected"},
      {"declined", "pack_undo", "reserve_undo", "order_rejected"},
  };
  for (int k = 0; k < 3; ++k) {
    const std::string id = "f" + std::to_string(k);
    RunTo(id, k);
    Publish(kFailure[k], id, "no-" + id);
    ASSERT_TRUE(WaitEvent("order_rejected", id));
    ASSERT_TRUE(WaitState(id, "failed"));
    std::vector<std::string> h = History(id);
    std::vector<std::string> tail(h.end() - static_cast<long>(tails[k].size()), h.end());
    EXPECT_EQ(tail, tails[k]) << "failing at step " << k;
    EXPECT_EQ(Events("reserve_undo", id).size(), k >= 1 ? 1u : 0u);
    EXPECT_EQ(Events("pack_undo", id).size(), k >= 2 ? 1u : 0u);
    EXPECT_TRUE(Events("order_confirmed", id).empty());
    for (int later = k + 1; later < 3; ++later) EXPECT_TRUE(Events(kCommands[later], id).empty());
    // Published last, after `failed`: wait for it.
    ASSERT_TRUE(WaitEvent("eragon.saga_failed", id));
    EXPECT_EQ(Events("eragon.saga_failed", id).size(), 1u);
  }
}

TEST_F(SagasTest, TimeoutFailsTheStepAndALateReplyIsRecordedAndIgnored) {
  PutSaga(SagaBody(300));
  RunTo("t1", 1);
  ASSERT_TRUE(WaitEvent("order_rejected", "t1"));
  ASSERT_TRUE(WaitState("t1", "failed"));
  EXPECT_EQ(Events("reserve_undo", "t1").size(), 1u);
  Publish("packed", "t1", "late-t1");
  ASSERT_TRUE(WaitFor([&] { return History("t1").back() == "packed/late"; }, seconds(10)));
  EXPECT_TRUE(Events("charge_cmd", "t1").empty());
  EXPECT_EQ(Instance("t1").Str({"state"}), "failed");
}

TEST_F(SagasTest, DuplicateRepliesAndRepliesForUnknownInstancesAreIgnored) {
  PutSaga();
  RunTo("d1", 0);
  Publish("reserved", "d1", "r-d1");
  Publish("reserved", "d1", "r-d1");      // the same event again: a publish duplicate
  Publish("reserved", "d1", "r-d1-bis");  // another reply for the finished step
  Publish("reserved", "nobody", "r-nobody");
  ASSERT_TRUE(WaitEvent("pack_cmd", "d1"));
  ASSERT_TRUE(WaitFor([&] { return History("d1").back() == "reserved/duplicate"; }, seconds(10)));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(Events("pack_cmd", "d1").size(), 1u);
  EXPECT_EQ(Events("reserve_cmd", "d1").size(), 1u);
  EXPECT_API_ERROR(Admin("GET", "/v1/sagas/order/instances/nobody"), 404, "not_found");
  EXPECT_TRUE(Events("pack_cmd", "nobody").empty());
  // A second trigger for the same entity starts nothing new.
  Publish("order_created", "d1", "trigger-again-d1");
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(Events("reserve_cmd", "d1").size(), 1u);
}

TEST_F(SagasTest, RunningInstancesFinishOnTheDefinitionTheyStartedWith) {
  PutSaga();
  RunTo("v1", 1);
  // Version 2 drops the pack step; the running instance still runs it.
  std::string v2 = SagaBody();
  size_t from = v2.find(R"({"name": "pack")");
  size_t to = v2.find(R"({"name": "charge")");
  v2.erase(from, to - from);
  PutSaga(v2, 200);
  EXPECT_EQ(Instance("v1").Int({"version"}), 1);
  RunTo("v2", 0);  // a new instance on version 2: its second command is charge_cmd
  Publish("reserved", "v2", "ok-0-v2");
  ASSERT_TRUE(WaitEvent("charge_cmd", "v2"));
  EXPECT_TRUE(Events("pack_cmd", "v2").empty());
  EXPECT_EQ(Instance("v2").Int({"version"}), 2);
  ASSERT_EQ(Admin("DELETE", "/v1/sagas/order").status, 204);
  Publish("packed", "v1", "ok-1-v1");
  ASSERT_TRUE(WaitEvent("charge_cmd", "v1"));
  Publish("charged", "v1", "ok-2-v1");
  ASSERT_TRUE(WaitEvent("order_confirmed", "v1"));
  ASSERT_TRUE(WaitState("v1", "completed"));
  // After the delete a trigger starts nothing.
  Publish("order_created", "v3", "trigger-v3");
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(Events("reserve_cmd", "v3").empty());
  EXPECT_EQ(Admin("GET", "/v1/sagas/order/instances?state=running").status, 200);
}

TEST_F(SagasTest, DefinitionsAreValidatedAndNeedTheirProducerRoutes) {
  EXPECT_API_ERROR(Admin("PUT", "/v1/sagas/Bad_Name", SagaBody()), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/sagas/order", "{"), 400, "invalid_json");
  std::string no_success = SagaBody();
  no_success.replace(no_success.find(R"("success": ["packed"],)"), 22, "");
  HttpReply r = Admin("PUT", "/v1/sagas/order", no_success);
  EXPECT_API_ERROR(r, 400, "invalid_field");
  EXPECT_NE(r.body.find("steps[1].success"), std::string::npos) << r.body;
  std::string unknown = SagaBody();
  unknown.replace(unknown.find("\"packed\""), 8, "\"nothing_here\"");
  r = Admin("PUT", "/v1/sagas/order", unknown);
  EXPECT_API_ERROR(r, 400, "invalid_field");
  EXPECT_NE(r.body.find("steps[1].success"), std::string::npos) << r.body;
  SetProducer("pack_cmd", "someone-else");
  EXPECT_API_ERROR(Admin("PUT", "/v1/sagas/order", SagaBody()), 404, "unknown_event_type");
  SetProducer("pack_cmd", "saga-order", R"("topic": "saga-out")");
  std::string token = CreateService("viewer", {"consumer"});
  EXPECT_API_ERROR(Call(token, "PUT", "/v1/sagas/order", SagaBody()), 403, "forbidden");
  EXPECT_API_ERROR(Admin("GET", "/v1/sagas/order"), 404, "not_found");
  PutSaga();
  PutSaga(SagaBody(), 200);
  Json j(Call(token, "GET", "/v1/sagas").body);
  EXPECT_EQ(j.Str({"items", "0", "name"}), "order");
  EXPECT_EQ(j.Int({"items", "0", "version"}), 2);
  EXPECT_EQ(j.Str({"items", "0", "service"}), "saga-order");
  EXPECT_NE(Admin("GET", "/v1/services").body.find("\"saga-order\""), std::string::npos);
  EXPECT_API_ERROR(Admin("GET", "/v1/sagas/order/instances?state=done"), 400, "invalid_field");
  EXPECT_API_ERROR(Call(token, "DELETE", "/v1/sagas/order"), 403, "forbidden");
  EXPECT_EQ(Admin("DELETE", "/v1/sagas/order").status, 204);
  EXPECT_API_ERROR(Admin("DELETE", "/v1/sagas/order"), 404, "not_found");
}

}  // namespace
}  // namespace eragon::testing
