#include "saga/saga_instance.h"

#include <gtest/gtest.h>

#include "core/uuid.h"

namespace eragon::saga {
namespace {

const char* kDef = R"({"trigger": "order_created",
  "steps": [
    {"name": "a", "command": "a_cmd", "success": ["a_ok"], "failure": ["a_no"],
     "compensation": "a_undo", "timeout_ms": 1000},
    {"name": "b", "command": "b_cmd", "success": ["b_ok"], "failure": ["b_no"]},
    {"name": "c", "command": "c_cmd", "success": ["c_ok"], "failure": ["c_no"],
     "compensation": "c_undo"}],
  "completed": "done", "failed": "undone"})";
const std::string kSecret(32, 's');

Event Ev(const std::string& id, const std::string& type, const std::string& data = "{}") {
  return Event{id, type, "order-1", "svc", 0, data, ""};
}

Instance Started() {
  Result<SagaDef> def = ParseSagaDef(kDef, "order");
  EXPECT_TRUE(def.ok());
  return Instance::Start(*def, 1, Ev("t1", "order_created", R"({"total": 12})"), 100, kSecret);
}

std::vector<std::string> Types(const Instance& in) {
  std::vector<std::string> out;
  for (const PendingEvent& e : in.pending) out.push_back(e.event_type);
  return out;
}

TEST(SagaInstance, HappyPathPublishesEachCommandThenCompleted) {
  Instance in = Started();
  EXPECT_EQ(Types(in), std::vector<std::string>{"a_cmd"});
  EXPECT_EQ(in.pending[0].id, SagaEventId(kSecret, "order", "order-1", "command/a"));
  EXPECT_EQ(in.pending[0].data, R"({"total":12,"replies":{}})");
  EXPECT_EQ(in.deadline_ms, 1100);
  in.pending.clear();
  EXPECT_EQ(in.OnReply(Ev("r1", "a_ok", R"({"table": 4})"), 200, kSecret), ReplyOutcome::kApplied);
  EXPECT_EQ(Types(in), std::vector<std::string>{"b_cmd"});
  EXPECT_EQ(in.pending[0].data, R"({"total":12,"replies":{"a":{"table": 4}}})");
  in.pending.clear();
  EXPECT_EQ(in.OnReply(Ev("r2", "b_ok"), 300, kSecret), ReplyOutcome::kApplied);
  in.pending.clear();
  EXPECT_EQ(in.OnReply(Ev("r3", "c_ok"), 400, kSecret), ReplyOutcome::kApplied);
  EXPECT_EQ(in.state, "completed");
  EXPECT_EQ(Types(in), std::vector<std::string>{"done"});
}

TEST(SagaInstance, FailureAtEachStepCompensatesCompletedStepsInReverse) {
  // Only steps that completed are compensated (b has no compensation; c never completed).
  const std::vector<std::vector<std::string>> expected = {
      {"undone", "eragon.saga_failed"},
      {"a_undo", "undone", "eragon.saga_failed"},
      {"a_undo", "undone", "eragon.saga_failed"},
  };
  for (size_t fail_at = 0; fail_at < 3; ++fail_at) {
    Instance in = Started();
    const char* ok[] = {"a_ok", "b_ok", "c_ok"};
    const char* no[] = {"a_no", "b_no", "c_no"};
    for (size_t k = 0; k < fail_at; ++k) {
      in.pending.clear();
      ASSERT_EQ(in.OnReply(Ev("ok" + std::to_string(k), ok[k]), 200, kSecret),
                ReplyOutcome::kApplied);
    }
    in.pending.clear();
    ASSERT_EQ(in.OnReply(Ev("no", no[fail_at]), 300, kSecret), ReplyOutcome::kApplied);
    EXPECT_EQ(in.state, "failed");
    EXPECT_EQ(Types(in), expected[fail_at]) << "failing at step " << fail_at;
  }
}

TEST(SagaInstance, TimeoutFailsTheStepAndALateReplyIsRecordedOnly) {
  Instance in = Started();
  in.pending.clear();
  EXPECT_FALSE(in.OnTimeout(1099, kSecret));
  EXPECT_TRUE(in.OnTimeout(1100, kSecret));
  EXPECT_EQ(in.state, "failed");
  EXPECT_EQ(in.history[2].note, "timeout");  // trigger, a_cmd, timeout, undone
  EXPECT_EQ(in.history[3].event_type, "undone");
  in.pending.clear();
  EXPECT_EQ(in.OnReply(Ev("late", "a_ok"), 1200, kSecret), ReplyOutcome::kRecorded);
  EXPECT_EQ(in.history.back().note, "late");
  EXPECT_TRUE(in.pending.empty());
  EXPECT_EQ(in.state, "failed");
}

TEST(SagaInstance, DuplicateRepliesChangeNothing) {
  Instance in = Started();
  in.pending.clear();
  ASSERT_EQ(in.OnReply(Ev("r1", "a_ok"), 200, kSecret), ReplyOutcome::kApplied);
  in.pending.clear();
  EXPECT_EQ(in.OnReply(Ev("r1", "a_ok"), 210, kSecret), ReplyOutcome::kSeen);
  EXPECT_EQ(in.OnReply(Ev("r1b", "a_ok"), 220, kSecret), ReplyOutcome::kRecorded);
  EXPECT_EQ(in.history.back().note, "duplicate");
  EXPECT_EQ(in.OnReply(Ev("x", "unrelated"), 230, kSecret), ReplyOutcome::kUnrelated);
  EXPECT_EQ(in.step, 1u);
  EXPECT_TRUE(in.pending.empty());
}

TEST(SagaInstance, SurvivesTheRowRoundTrip) {
  Instance in = Started();
  ASSERT_EQ(in.OnReply(Ev("r1", "a_ok", R"({"n": 1.50})"), 200, kSecret), ReplyOutcome::kApplied);
  Result<Instance> back = Instance::FromRow(in.ToRow());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToRow(), in.ToRow());
  EXPECT_EQ(back->pending.size(), 2u);
  EXPECT_EQ(back->pending[1].data, in.pending[1].data);
  EXPECT_EQ(back->replies, in.replies);
  EXPECT_EQ(back->def, in.def);
}

TEST(SagaInstance, NonObjectTriggerDataIsWrapped) {
  Result<SagaDef> def = ParseSagaDef(kDef, "order");
  ASSERT_TRUE(def.ok());
  Instance in = Instance::Start(*def, 1, Ev("t", "order_created", "[1,2]"), 0, kSecret);
  EXPECT_EQ(in.pending[0].data, R"({"trigger":[1,2],"replies":{}})");
}

}  // namespace
}  // namespace eragon::saga
