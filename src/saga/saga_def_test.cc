#include "saga/saga_def.h"

#include <gtest/gtest.h>

namespace eragon::saga {
namespace {

const char* kOrder = R"({"trigger": "order_created",
  "steps": [
    {"name": "reserve", "command": "reserve_requested", "success": ["reserved"],
     "failure": ["rejected"], "compensation": "reservation_cancelled", "timeout_ms": 3000},
    {"name": "charge", "command": "charge_requested", "success": ["charged"],
     "failure": ["declined"]}],
  "completed": "order_confirmed", "failed": "order_rejected"})";

std::string Field(const std::string& body, const std::string& name = "order") {
  Result<SagaDef> d = ParseSagaDef(body, name);
  EXPECT_FALSE(d.ok());
  if (d.ok()) return "";
  EXPECT_EQ(d.status().code(), Code::kInvalidArgument) << d.status().ToString();
  return d.status().message().substr(0, d.status().message().find(':'));
}

std::string With(const std::string& from, const std::string& to) {
  std::string s = kOrder;
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(SagaDef, ParsesAndRoundTripsThroughItsCanonicalJson) {
  Result<SagaDef> d = ParseSagaDef(kOrder, "order");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->steps.size(), 2u);
  EXPECT_EQ(d->steps[0].timeout_ms, 3000);
  EXPECT_EQ(d->steps[1].timeout_ms, kDefaultStepTimeoutMs);
  EXPECT_EQ(d->steps[1].compensation, "");
  EXPECT_EQ(d->service(), "saga-order");
  Result<SagaDef> again = ParseSagaDef(SagaDefToJson(*d), "order");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *d);
  EXPECT_EQ(d->PublishedTypes(),
            (std::set<std::string>{"reserve_requested", "charge_requested", "reservation_cancelled",
                                   "order_confirmed", "order_rejected"}));
  EXPECT_EQ(d->ReplyTypes(),
            (std::set<std::string>{"reserved", "rejected", "charged", "declined"}));
}

TEST(SagaDef, RefusesBadNamesNamingTheField) {
  EXPECT_EQ(Field(kOrder, "Order"), "name");
  EXPECT_EQ(Field(kOrder, "a_b"), "name");
  EXPECT_EQ(Field(kOrder, std::string(60, 'a')), "name");
  EXPECT_EQ(
      Field(With("\"trigger\": \"order_created\"", "\"name\": \"other\", \"trigger\": \"x\"")),
      "name");
}

TEST(SagaDef, RefusesMissingOrBadTypes) {
  EXPECT_EQ(Field(With("\"trigger\": \"order_created\",", "")), "trigger");
  EXPECT_EQ(Field(With("\"order_created\"", "\"Order\"")), "trigger");
  EXPECT_EQ(Field(With("\"command\": \"reserve_requested\",", "")), "steps[0].command");
  EXPECT_EQ(Field(With("\"failed\": \"order_rejected\"", "\"failed\": 3")), "failed");
  EXPECT_EQ(Field(With("[\"declined\"]", "[\"De clined\"]")), "steps[1].failure");
}

TEST(SagaDef, RefusesAStepWithoutSuccess) {
  EXPECT_EQ(Field(With("\"success\": [\"charged\"],", "")), "steps[1].success");
  EXPECT_EQ(Field(With("[\"charged\"]", "[]")), "steps[1].success");
}

TEST(SagaDef, RefusesDuplicateStepNames) {
  EXPECT_EQ(Field(With("\"name\": \"charge\"", "\"name\": \"reserve\"")), "steps[1].name");
}

TEST(SagaDef, RefusesCyclesThroughItsOwnEvents) {
  EXPECT_EQ(Field(With("\"command\": \"charge_requested\"", "\"command\": \"reserved\"")),
            "steps[1].command");
  EXPECT_EQ(Field(With("\"order_confirmed\"", "\"order_created\"")), "completed");
  EXPECT_EQ(Field(With("\"reservation_cancelled\"", "\"declined\"")), "steps[0].compensation");
}

TEST(SagaDef, RefusesNoStepsBadTimeoutsAndBadJson) {
  EXPECT_EQ(Field(R"({"trigger": "a", "steps": [], "completed": "b", "failed": "c"})"), "steps");
  EXPECT_EQ(Field(With("\"timeout_ms\": 3000", "\"timeout_ms\": 0")), "steps[0].timeout_ms");
  EXPECT_EQ(Field(With("\"timeout_ms\": 3000", "\"timeout_ms\": \"1s\"")), "steps[0].timeout_ms");
  EXPECT_EQ(Field("[1]"), "body");
  EXPECT_EQ(ParseSagaDef("{", "order").status().code(), Code::kInvalidJson);
}

}  // namespace
}  // namespace eragon::saga
