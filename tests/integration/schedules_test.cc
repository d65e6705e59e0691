// Schedules against the real eragond: ticks fire with deterministic ids, at most once per
// tick, missed ticks coalesce into one across a restart; the API's error cases; the CLI.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "core/hash.h"
#include "core/uuid.h"
#include "test_util.h"

#ifndef ERAGON_CLI_PATH
#error "ERAGON_CLI_PATH must name the eragon binary"
#endif

namespace eragon::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SchedulesTest : public ServerTest {
 protected:
  // occurred_at -> id of every event of `type` (one page; fails on a repeated tick or id).
  std::map<int64_t, std::string> Ticks(const std::string& type) {
    std::map<int64_t, std::string> ticks;
    HttpReply r = Admin("GET", "/v1/events?event_type=" + type + "&limit=1000");
    EXPECT_EQ(r.status, 200) << Describe(r);
    Json j(r.body);
    std::set<std::string> ids;
    for (int64_t i = 0; i < j.Len({"items"}); ++i) {
      std::string k = std::to_string(i);
      std::string id = j.Str({"items", k, "id"});
      int64_t at = j.Int({"items", k, "occurred_at"}).value_or(-1);
      EXPECT_TRUE(ids.insert(id).second) << "id " << id << " stored twice";
      EXPECT_TRUE(ticks.emplace(at, id).second) << "tick " << at << " published twice";
    }
    EXPECT_TRUE(j.At({"next"}) && j.At({"next"})->is_null()) << "more than one page";
    return ticks;
  }

  // Polls until `done(ticks)` holds or `timeout` passes; returns the last ticks seen.
  template <typename Pred>
  std::map<int64_t, std::string> WaitForTicks(const std::string& type, Pred done,
                                              milliseconds timeout = milliseconds(20'000)) {
    auto deadline = steady_clock::now() + timeout;
    std::map<int64_t, std::string> ticks = Ticks(type);
    while (!done(ticks) && steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(100));
      ticks = Ticks(type);
    }
    return ticks;
  }

  // The install secret eragond keeps in its data dir (created on first start).
  std::string InstallSecret() {
    std::ifstream in(server_->data_dir() + "/install.secret");
    std::string hex;
    in >> hex;
    std::optional<std::string> secret = HexDecode(hex);
    EXPECT_TRUE(secret && secret->size() == 32) << "install.secret: '" << hex << "'";
    return secret.value_or("");
  }

  void ExpectDeterministicIds(const std::string& schedule,
                              const std::map<int64_t, std::string>& ticks) {
    const std::string secret = InstallSecret();
    for (const auto& [tick, id] : ticks) {
      EXPECT_EQ(tick % 1000, 0) << "tick " << tick << " is not on a whole second";
      EXPECT_EQ(id, ScheduleEventId(secret, schedule, tick)) << "tick " << tick;
    }
  }
};

TEST_F(SchedulesTest, EverySecondFiresOncePerTickAndCoalescesMissedTicksAcrossARestart) {
  SetProducer("heartbeat", "clock-service");
  HttpReply put = Admin("PUT", "/v1/schedules/beat",
                        R"({"event_type":"heartbeat","entity_id":"node-1",)"
                        R"("data":{ "kind" : "beat" },"every":"1s"})");
  ASSERT_EQ(put.status, 201) << Describe(put);
  Json echo(put.body);
  EXPECT_EQ(echo.Str({"name"}), "beat");
  EXPECT_EQ(echo.Str({"every"}), "1s");
  EXPECT_NE(put.body.find(R"("data":{ "kind" : "beat" })"), std::string::npos) << put.body;

  auto ticks = WaitForTicks("heartbeat", [](const auto& t) { return t.size() >= 3; });
  ASSERT_GE(ticks.size(), 3u) << server_->Logs();
  ExpectDeterministicIds("beat", ticks);
  const std::string secret = InstallSecret();
  HttpReply ev = Admin("GET", "/v1/events/" + ticks.begin()->second);
  ASSERT_EQ(ev.status, 200) << Describe(ev);
  Json event(ev.body);
  EXPECT_EQ(event.Str({"event", "entity_id"}), "node-1");
  EXPECT_EQ(event.Str({"event", "producer"}), "clock-service");
  EXPECT_EQ(*RawEventData(ev.body), R"({ "kind" : "beat" })");

  // Down for about three seconds: the ticks in between are not fired one by one.
  Result<int> stopped = server_->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_EQ(*stopped, 0);
  const int64_t stopped_at = NowMs();
  std::this_thread::sleep_for(milliseconds(3'000));
  const int64_t restarting_at = NowMs();
  Status st = server_->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  client_ = std::make_unique<HttpClient>(server_->url());

  // What fired before the stop: the ticks up to the stop (listing right after the start
  // may already hold the coalesced tick the new process fired at once).
  std::map<int64_t, std::string> before = Ticks("heartbeat");
  before.erase(before.upper_bound(stopped_at), before.end());
  ASSERT_FALSE(before.empty());
  const int64_t last_before = before.rbegin()->first;
  ticks = WaitForTicks("heartbeat", [&](const auto& t) {
    return t.upper_bound(restarting_at) != t.end() && t.size() >= before.size() + 2;
  });
  ExpectDeterministicIds("beat", ticks);
  auto first_after = ticks.upper_bound(last_before);
  ASSERT_NE(first_after, ticks.end()) << "nothing fired after the restart\n" << server_->Logs();
  // The missed ticks (last_before, restarting_at - 1 s) coalesced into the first tick after
  // the start: nothing was fired for them.
  EXPECT_GE(first_after->first, restarting_at - 1'000);
  EXPECT_GE(first_after->first - last_before, 2'000);
  // At most one event per tick, and only whole-second ticks: fewer events than seconds.
  EXPECT_LE(static_cast<int64_t>(ticks.size()),
            (ticks.rbegin()->first - ticks.begin()->first) / 1000 + 1);
  // Everything fired before the stop is still there, unchanged, and the secret kept.
  for (const auto& [tick, id] : before) EXPECT_EQ(ticks.at(tick), id);
  EXPECT_EQ(InstallSecret(), secret) << "the install secret changed across a restart";
  EXPECT_EQ(CountEvents("heartbeat"), static_cast<int64_t>(ticks.size()));
}

// Issue 16: tick ids were UUIDv5 of "<schedule>/<tick>" in a fixed namespace, so a
// service could publish them ahead of time and the ticks never fired (202, nothing
// logged). Now a tick's id is keyed with the install's secret: the old ids squatted in
// advance (by the type's own producer, even) do not stop the ticks, and the ids differ
// between installs.
TEST_F(SchedulesTest, TickIdsCannotBeSquattedInAdvance) {
  std::string clock = CreateService("clock-service", {"producer"});
  SetProducer("heartbeat", "clock-service");
  const int64_t from = (NowMs() / 1000 + 1) * 1000;
  std::string batch = "{\"events\":[";
  for (int i = 0; i < 30; ++i) {
    const UuidBytes old_ns = {0xc4, 0x07, 0x02, 0x4d, 0xe9, 0x77, 0x4a, 0x38,
                              0xa7, 0x7f, 0xee, 0x3b, 0x6f, 0x03, 0xbc, 0xe7};
    std::string id = UuidV5(old_ns, "beat/" + std::to_string(from + i * 1000));
    batch += std::string(i ? "," : "") + R"({"id":")" + id +
             R"(","event_type":"heartbeat","entity_id":"squat","occurred_at":)" +
             std::to_string(from + i * 1000 + 1) + R"(,"data":{"squat":true}})";
  }
  batch += "]}";
  HttpReply squat = Call(clock, "POST", "/v1/events", batch);
  ASSERT_EQ(squat.status, 202) << Describe(squat);
  HttpReply put =
      Admin("PUT", "/v1/schedules/beat",
            R"({"event_type":"heartbeat","entity_id":"node-1","data":{},"every":"1s"})");
  ASSERT_EQ(put.status, 201) << Describe(put);
  auto ticks = WaitForTicks("heartbeat", [](const auto& t) { return t.size() >= 30 + 2; });
  int fired = 0;
  const std::string secret = InstallSecret();
  for (const auto& [tick, id] : ticks) {
    if (id == ScheduleEventId(secret, "beat", tick)) ++fired;
  }
  EXPECT_GE(fired, 2) << "the ticks did not fire\n" << server_->Logs();
  EXPECT_NE(ScheduleEventId(secret, "beat", from),
            ScheduleEventId(std::string(32, '\0'), "beat", from));
}

TEST_F(SchedulesTest, CrudAndErrors) {
  SetProducer("report_due", "reports");
  const std::string body =
      R"({"event_type":"report_due","entity_id":"r1","data":{"a":1},"cron":"0 3 * * *"})";
  EXPECT_API_ERROR(
      Admin("PUT", "/v1/schedules/nightly",
            R"({"event_type":"no_such_type","entity_id":"r1","data":{},"every":"1m"})"),
      404, "unknown_event_type");
  EXPECT_API_ERROR(
      Admin("PUT", "/v1/schedules/nightly",
            R"({"event_type":"report_due","entity_id":"r1","data":{},"cron":"61 * * * *"})"),
      400, "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/schedules/nightly",
                         R"({"event_type":"report_due","entity_id":"r1","data":{},"every":"1m",)"
                         R"("cron":"* * * * *"})"),
                   400, "invalid_field");
  EXPECT_API_ERROR(
      Admin("PUT", "/v1/schedules/nightly",
            R"({"event_type":"report_due","entity_id":"r1","data":{},"every":"500ms"})"),
      400, "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/schedules/Bad%20Name", body), 400, "invalid_field");
  EXPECT_API_ERROR(Admin("PUT", "/v1/schedules/nightly", "{"), 400, "invalid_json");
  std::string producer = CreateService("reports", {"producer"});
  EXPECT_API_ERROR(Call(producer, "PUT", "/v1/schedules/nightly", body), 403, "forbidden");
  EXPECT_API_ERROR(Call("", "GET", "/v1/schedules"), 401, "unauthenticated");

  HttpReply created = Admin("PUT", "/v1/schedules/nightly", body);
  ASSERT_EQ(created.status, 201) << Describe(created);
  Json c(created.body);
  EXPECT_EQ(c.Str({"cron"}), "0 3 * * *");
  EXPECT_GT(c.Int({"next_tick_ms"}).value_or(0), NowMs() - 1000);
  EXPECT_EQ(c.Int({"next_tick_ms"}).value_or(0) % 86'400'000, 3 * 3'600'000);
  HttpReply replaced = Admin("PUT", "/v1/schedules/nightly", body);
  EXPECT_EQ(replaced.status, 200) << Describe(replaced);

  HttpReply list = Admin("GET", "/v1/schedules");
  ASSERT_EQ(list.status, 200) << Describe(list);
  Json l(list.body);
  EXPECT_EQ(l.Len({"items"}), 1);
  EXPECT_EQ(l.Str({"items", "0", "name"}), "nightly");
  EXPECT_TRUE(l.At({"next"}) && l.At({"next"})->is_null());
  HttpReply one = Admin("GET", "/v1/schedules/nightly");
  ASSERT_EQ(one.status, 200) << Describe(one);
  EXPECT_EQ(Json(one.body).Str({"entity_id"}), "r1");
  EXPECT_API_ERROR(Admin("GET", "/v1/schedules/missing"), 404, "not_found");

  // The producer destination cannot go while the schedule uses it.
  EXPECT_API_ERROR(Admin("DELETE", "/v1/routes/report_due/producer"), 409, "conflict");
  EXPECT_EQ(Admin("DELETE", "/v1/schedules/nightly").status, 204);
  EXPECT_API_ERROR(Admin("DELETE", "/v1/schedules/nightly"), 404, "not_found");
  EXPECT_EQ(Admin("DELETE", "/v1/routes/report_due/producer").status, 204);
}

TEST_F(SchedulesTest, Cli) {
  SetProducer("cli_tick", "cli-clock");
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {ERAGON_CLI_PATH, "--url", server_->url(), "--data-dir",
                                     server_->data_dir()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, "", {"ERAGON_URL=", "ERAGON_TOKEN="});
  };
  ProcessResult set = cli({"schedules", "set", "cli-every", "--event-type", "cli_tick",
                           "--entity-id", "e1", "--data", R"({"x": [1, 2]})", "--every", "1h"});
  ASSERT_EQ(set.exit_code, 0) << set.out << set.err;
  EXPECT_NE(set.out.find("created schedule cli-every"), std::string::npos) << set.out;
  ProcessResult cron = cli({"schedules", "set", "cli-cron", "--event-type", "cli_tick",
                            "--entity-id", "e1", "--data", "null", "--cron", "*/5 * * * *"});
  ASSERT_EQ(cron.exit_code, 0) << cron.out << cron.err;
  ProcessResult both = cli(
      {"schedules", "set", "x", "--event-type", "cli_tick", "--entity-id", "e1", "--data", "{}"});
  EXPECT_EQ(both.exit_code, 2) << both.out << both.err;
  ProcessResult bad = cli({"schedules", "set", "x", "--event-type", "cli_tick", "--entity-id", "e1",
                           "--data", "{}", "--cron", "* * *"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("invalid_field"), std::string::npos) << bad.err;

  ProcessResult list = cli({"schedules", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("NAME"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("every 1h"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("cron */5 * * * *"), std::string::npos) << list.out;
  ProcessResult json = cli({"--json", "schedules", "list"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(Json(json.out).Len({"items"}), 2) << json.out;

  ProcessResult rm = cli({"schedules", "rm", "cli-every"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  ProcessResult again = cli({"schedules", "rm", "cli-every"});
  EXPECT_EQ(again.exit_code, 1) << again.err;
}

}  // namespace
}  // namespace eragon::testing
