// Crash safety of sagas: eragond is killed (SIGKILL, by the fault point
// ERAGON_SAGA_CRASH_AT=N) at every transition point of a three-step saga in turn, and
// restarted; each run must still publish every command, and `completed`, exactly once
// (one stored event per type, with the saga's deterministic id).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "test_util.h"

namespace eragon::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

const char* kSaga = R"({"trigger": "order_created", "steps": [
  {"name": "a", "command": "a_cmd", "success": ["a_ok"], "compensation": "a_undo"},
  {"name": "b", "command": "b_cmd", "success": ["b_ok"], "compensation": "b_undo"},
  {"name": "c", "command": "c_cmd", "success": ["c_ok"]}],
  "completed": "order_done", "failed": "order_failed"})";

class SagaCrashTest : public ServerTest {
 protected:
  void TearDown() override {
    unsetenv("ERAGON_SAGA_CRASH_AT");
    ServerTest::TearDown();
  }

  // True when the server process has exited (a zombie until ServerProcess reaps it).
  bool Dead() {
    std::ifstream f("/proc/" + std::to_string(server_->pid()) + "/stat");
    std::string pid, comm, state;
    f >> pid >> comm >> state;
    return !f || state == "Z";
  }

  void Revive() {
    unsetenv("ERAGON_SAGA_CRASH_AT");
    ++restarts_;
    Restart(true);
  }

  // The ids of `type`'s events for the entity, or nullopt when the server is down.
  std::optional<std::vector<std::string>> TryEvents(const std::string& type) {
    auto r = client_->Request("GET", "/v1/events?event_type=" + type + "&entity_id=x1", "",
                              {{"Authorization", "Bearer " + server_->admin_token()}});
    if (!r.ok() || r->status != 200) return std::nullopt;
    Json j(r->body);
    std::vector<std::string> ids;
    for (int64_t i = 0; i < j.Len({"items"}); ++i)
      ids.push_back(j.Str({"items", std::to_string(i), "id"}));
    return ids;
  }

  // Publishes (idempotent by id) until the server answered 202, restarting it when it died.
  void PublishSurviving(const std::string& type, const std::string& id) {
    for (int i = 0; i < 200; ++i) {
      auto r = client_->Request("POST", "/v1/events", EventJson(type, "x1", "{}", id),
                                {{"Authorization", "Bearer " + server_->admin_token()}});
      if (r.ok() && r->status == 202) return;
      if (Dead()) Revive();
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "could not publish " << type;
  }

  // Waits for `type` to appear, restarting the server whenever it died.
  bool WaitSurviving(const std::string& type) {
    const auto deadline = steady_clock::now() + std::chrono::seconds(30);
    while (steady_clock::now() < deadline) {
      if (Dead()) Revive();
      auto ids = TryEvents(type);
      if (ids && !ids->empty()) return true;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  // One run with a kill at transition point `n`; false once no kill happened (the run had
  // fewer points than n).
  bool RunWithCrashAt(int n) {
    restarts_ = 0;
    unsetenv("ERAGON_SAGA_CRASH_AT");
    server_.reset();
    SetUp();
    SetProducer("order_created", "shop");
    for (const char* t :
         {"a_cmd", "a_undo", "b_cmd", "b_undo", "c_cmd", "order_done", "order_failed"}) {
      SetProducer(t, "saga-order", R"("topic": "saga-out")");
    }
    for (const char* t : {"a_ok", "b_ok", "c_ok"}) SetProducer(t, "svc", R"("topic": "replies")");
    EXPECT_EQ(Admin("PUT", "/v1/sagas/order", kSaga).status, 201);
    setenv("ERAGON_SAGA_CRASH_AT", std::to_string(n).c_str(), 1);
    Restart(false);  // the same data dir, now with the fault point armed
    PublishSurviving("order_created", "t-x1");
    const char* cmds[] = {"a_cmd", "b_cmd", "c_cmd"};
    const char* oks[] = {"a_ok", "b_ok", "c_ok"};
    for (int k = 0; k < 3; ++k) {
      EXPECT_TRUE(WaitSurviving(cmds[k])) << cmds[k] << " never published (crash at " << n << ")";
      PublishSurviving(oks[k], std::string("r-") + oks[k]);
    }
    EXPECT_TRUE(WaitSurviving("order_done")) << "crash at " << n;
    std::this_thread::sleep_for(milliseconds(200));
    if (Dead()) Revive();
    for (const char* t : {"a_cmd", "b_cmd", "c_cmd", "order_done"}) {
      auto ids = TryEvents(t);
      EXPECT_TRUE(ids && ids->size() == 1)
          << t << " published " << (ids ? ids->size() : 0) << " times (crash at " << n << ")";
    }
    for (const char* t : {"a_undo", "b_undo", "order_failed"}) {
      auto ids = TryEvents(t);
      EXPECT_TRUE(ids && ids->empty()) << t << " (crash at " << n << ")";
    }
    return restarts_ > 0;
  }

  int restarts_ = 0;
};

TEST_F(SagaCrashTest, AKillAtEveryTransitionNeitherSkipsNorDoublesAStep) {
  int n = 1;
  for (; n <= 40 && !HasFailure(); ++n) {
    if (!RunWithCrashAt(n)) break;
  }
  std::cout << "runs killed at transition points 1.." << n - 1 << "\n";
  // Each step has at least four points (stored, published, cleared, position committed).
  EXPECT_GE(n, 12) << "the fault point never fired after " << n - 1 << " runs";
}

}  // namespace
}  // namespace eragon::testing
