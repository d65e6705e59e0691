#include "schedule/schedule_codec.h"

#include <gtest/gtest.h>

namespace eragon::schedule {
namespace {

TEST(ScheduleCodecTest, ParsesAndKeepsDataByteForByte) {
  const std::string body =
      R"( {"event_type": "report_due", "entity_id": "r-1", "data": { "a" : [1, 2.50, 1e400] },)"
      R"( "every": "1h30m", "unknown": true} )";
  config::Schedule s = ParseSchedule(body, "nightly").value();
  EXPECT_EQ(s.name, "nightly");
  EXPECT_EQ(s.event_type, "report_due");
  EXPECT_EQ(s.entity_id, "r-1");
  EXPECT_EQ(s.data, R"({ "a" : [1, 2.50, 1e400] })");
  EXPECT_EQ(s.every, "1h30m");
  EXPECT_EQ(s.cron, "");
  config::Schedule c =
      ParseSchedule(R"({"event_type":"t","entity_id":"e","data":null,"cron":"*/5 * * * *"})", "c")
          .value();
  EXPECT_EQ(c.data, "null");
  EXPECT_EQ(c.cron, "*/5 * * * *");
}

TEST(ScheduleCodecTest, RefusesBadBodiesNamingTheField) {
  struct Case {
    std::string body;
    std::string field;
  };
  const std::string ok = R"("event_type":"t","entity_id":"e","data":{})";
  for (const Case& c : std::initializer_list<Case>{
           {"[]", "body"},
           {R"({"entity_id":"e","data":{},"every":"1s"})", "event_type"},
           {R"({"event_type":"Bad","entity_id":"e","data":{},"every":"1s"})", "event_type"},
           {R"({"event_type":"t","data":{},"every":"1s"})", "entity_id"},
           {R"({"event_type":"t","entity_id":"","data":{},"every":"1s"})", "entity_id"},
           {R"({"event_type":"t","entity_id":"e","every":"1s"})", "data"},
           {"{" + ok + "}", "every"},
           {"{" + ok + R"(,"every":"1s","cron":"* * * * *"})", "every"},
           {"{" + ok + R"(,"every":"500ms"})", "every"},
           {"{" + ok + R"(,"every":5})", "every"},
           {"{" + ok + R"(,"cron":"61 * * * *"})", "cron"},
           {"{" + ok + R"(,"cron":"* * * * *","name":"other"})", "name"},
       }) {
    Result<config::Schedule> r = ParseSchedule(c.body, "s");
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.body;
    EXPECT_EQ(r.status().message().rfind(c.field + ":", 0), 0u) << r.status().message();
  }
  EXPECT_EQ(ParseSchedule("{", "s").status().code(), Code::kInvalidJson);
  EXPECT_EQ(ParseSchedule("{" + ok + R"(,"every":"1s"})", "Bad Name").status().code(),
            Code::kInvalidArgument);
}

TEST(ScheduleCodecTest, EchoesEveryField) {
  config::Schedule s;
  s.name = "n";
  s.event_type = "t";
  s.entity_id = "e";
  s.data = R"({ "x" : 1 })";
  s.every = "5m";
  s.last_tick_ms = 1'700'000'100'000;
  s.created_at = 1;
  s.updated_at = 2;
  EXPECT_EQ(ScheduleToJson(s, 1'700'000'123'456),
            R"({"name":"n","event_type":"t","entity_id":"e","data":{ "x" : 1 },"every":"5m",)"
            R"("last_tick_ms":1700000100000,"next_tick_ms":1700000400000,"created_at":1,)"
            R"("updated_at":2})");
  // An echo can be PUT back unchanged.
  config::Schedule back = ParseSchedule(ScheduleToJson(s, 0), "n").value();
  EXPECT_EQ(back.data, s.data);
  EXPECT_EQ(back.every, s.every);
}

}  // namespace
}  // namespace eragon::schedule
