// The `eragon` CLI against a live eragond.
#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "test_util.h"
#include "testing/test_http_server.h"

#ifndef ERAGON_CLI_PATH
#error "ERAGON_CLI_PATH must name the eragon binary"
#endif

namespace eragon::testing {
namespace {

class CliTest : public ServerTest {
 protected:
  // Runs `eragon --url URL --data-dir DIR args...` (admin token from the data dir).
  ProcessResult Cli(std::vector<std::string> args, const std::string& stdin_data = "",
                    const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {ERAGON_CLI_PATH, "--url", server_->url(), "--data-dir",
                                     server_->data_dir()};
    argv.insert(argv.end(), args.begin(), args.end());
    // Keep the caller's ERAGON_* settings out of the test.
    std::vector<std::string> full_env = {"ERAGON_URL=", "ERAGON_TOKEN="};
    full_env.insert(full_env.end(), env.begin(), env.end());
    return RunProcess(argv, stdin_data, full_env);
  }

  static std::string Show(const ProcessResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
  }

  // Number of dead letters of the route, as the API lists them.
  int64_t DeadCount(const std::string& type, const std::string& consumer) {
    HttpReply r = Admin("GET", "/v1/routes/" + type + "/consumers/" + consumer + "/dead");
    return r.status == 200 ? Json(r.body).Len({"items"}) : -1;
  }
};

// An endpoint answering `status` (settable) and counting the pushes per event id.
class Endpoint {
 public:
  Endpoint()
      : server_([this](const dispatch::testing::TestRequest& r) {
          std::lock_guard lock(mu_);
          ++received_[r.Header("Eragon-Event-Id").value_or("")];
          dispatch::testing::TestAnswer a;
          a.status = status_.load();
          a.body = a.status == 200 ? "ok" : "order 7 is not valid\nmissing total";
          return a;
        }) {}
  void set_status(int s) { status_ = s; }
  int Received(const std::string& id) {
    std::lock_guard lock(mu_);
    return received_[id];
  }
  std::string Url() const { return server_.Url("/hook"); }

 private:
  std::atomic<int> status_{400};
  std::mutex mu_;
  std::map<std::string, int> received_;
  dispatch::testing::TestHttpServer server_;  // last: stopped before the members it uses
};

TEST_F(CliTest, RoutesServicesPublishAndGet) {
  ProcessResult svc = Cli({"services", "create", "cli-service", "--role", "producer"});
  ASSERT_EQ(svc.exit_code, 0) << Show(svc);
  std::string token = svc.out.substr(0, svc.out.find('\n'));
  ASSERT_FALSE(token.empty()) << Show(svc);

  ProcessResult set = Cli({"routes", "set-producer", "cli_type", "--producer", "cli-service",
                           "--partitions", "4", "--ordered"});
  ASSERT_EQ(set.exit_code, 0) << Show(set);
  EXPECT_NE(set.out.find("created"), std::string::npos) << Show(set);

  ProcessResult consumer =
      Cli({"--json", "routes", "set-consumer", "cli_type", "pay-service", "--type", "http", "--url",
           "http://127.0.0.1:9/hook", "--max-attempts", "3", "--secret", "whsec_c2VjcmV0",
           "--header", "X-Team=hidden-value", "--enabled=false"});
  ASSERT_EQ(consumer.exit_code, 0) << Show(consumer);
  Json cj(consumer.out);
  ASSERT_TRUE(cj.ok()) << "--json prints the server's JSON; " << Show(consumer);
  EXPECT_EQ(cj.Int({"retry", "max_attempts"}), 3) << Show(consumer);
  EXPECT_EQ(cj.Bool({"enabled"}), false) << Show(consumer);
  EXPECT_EQ(cj.Bool({"has_secret"}), true) << Show(consumer);

  ProcessResult list = Cli({"routes", "list"});
  ASSERT_EQ(list.exit_code, 0) << Show(list);
  EXPECT_NE(list.out.find("cli_type"), std::string::npos) << Show(list);
  EXPECT_NE(list.out.find("cli-service"), std::string::npos) << Show(list);
  EXPECT_NE(list.out.find("pay-service"), std::string::npos) << Show(list);

  ProcessResult list_json = Cli({"routes", "list", "--json"});
  ASSERT_EQ(list_json.exit_code, 0) << Show(list_json);
  Json lj(WithoutPlatformRoutes(list_json.out));
  ASSERT_TRUE(lj.ok()) << Show(list_json);
  EXPECT_EQ(lj.Len({"producers"}), 1);
  EXPECT_EQ(lj.Int({"producers", "0", "partitions"}), 4);
  EXPECT_EQ(lj.Bool({"producers", "0", "ordered"}), true);

  // Publish from stdin with the service's token from the environment.
  const std::string data = R"({ "n" : 1,  "s": "caf\u00e9" })";
  ProcessResult pub =
      RunProcess({ERAGON_CLI_PATH, "publish"},
                 R"({"id":"cli-1","event_type":"cli_type","entity_id":"e1","data":)" + data + "}",
                 {"ERAGON_URL=" + server_->url(), "ERAGON_TOKEN=" + token});
  ASSERT_EQ(pub.exit_code, 0) << Show(pub);
  EXPECT_NE(pub.out.find("cli-1"), std::string::npos) << Show(pub);

  ProcessResult get = Cli({"--json", "events", "get", "cli-1"});
  ASSERT_EQ(get.exit_code, 0) << Show(get);
  ASSERT_TRUE(Json(get.out).ok()) << Show(get);
  EXPECT_EQ(RawEventData(get.out), data) << Show(get);
  EXPECT_EQ(Json(get.out).Str({"event", "producer"}), "cli-service");

  ProcessResult human = Cli({"events", "get", "cli-1"});
  ASSERT_EQ(human.exit_code, 0) << Show(human);
  EXPECT_NE(human.out.find("e1"), std::string::npos) << Show(human);
  EXPECT_NE(human.out.find("cli-service"), std::string::npos) << Show(human);

  // A batch from a file of JSON lines.
  const std::string file = server_->data_dir() + "/../batch.jsonl";
  std::ofstream(file) << R"({"id":"cli-2","event_type":"cli_type","entity_id":"e2","data":2})"
                      << "\n\n"
                      << R"({"id":"cli-3","event_type":"cli_type","entity_id":"e3","data":[3]})"
                      << "\n";
  ProcessResult batch = Cli({"publish", "--batch-file", file, "--json"});
  ASSERT_EQ(batch.exit_code, 0) << Show(batch);
  EXPECT_EQ(Json(batch.out).Len({"ids"}), 2) << Show(batch);

  ProcessResult events = Cli({"events", "list", "--event-type", "cli_type", "--limit", "10"});
  ASSERT_EQ(events.exit_code, 0) << Show(events);
  for (const char* id : {"cli-1", "cli-2", "cli-3"}) {
    EXPECT_NE(events.out.find(id), std::string::npos) << id << "\n" << Show(events);
  }

  EXPECT_EQ(Cli({"routes", "remove-consumer", "cli_type", "pay-service"}).exit_code, 0);
  EXPECT_EQ(Cli({"routes", "remove-producer", "cli_type"}).exit_code, 0);
  ProcessResult revoke = Cli({"services", "revoke", "cli-service"});
  EXPECT_EQ(revoke.exit_code, 0) << Show(revoke);
  ProcessResult denied = Cli({"--token", token, "events", "list"});
  EXPECT_EQ(denied.exit_code, 1) << Show(denied);
  EXPECT_NE(denied.err.find("unauthenticated"), std::string::npos) << Show(denied);
}

TEST_F(CliTest, ErrorsExitNonZeroWithOneLine) {
  ProcessResult missing = Cli({"events", "get", "no-such-event"});
  EXPECT_EQ(missing.exit_code, 1) << Show(missing);
  EXPECT_TRUE(missing.out.empty()) << Show(missing);
  EXPECT_NE(missing.err.find("404"), std::string::npos) << Show(missing);
  EXPECT_NE(missing.err.find("not_found"), std::string::npos) << Show(missing);
  EXPECT_EQ(missing.err.find('\n'), missing.err.size() - 1) << "one line; " << Show(missing);

  ProcessResult bad = Cli({"publish", R"({"event_type":"x","entity_id":"e","data":{"a":tru}})"});
  EXPECT_EQ(bad.exit_code, 1) << Show(bad);
  EXPECT_NE(bad.err.find("invalid_json"), std::string::npos) << Show(bad);

  ProcessResult usage = Cli({"routes"});
  EXPECT_EQ(usage.exit_code, 2) << Show(usage);
  ProcessResult unknown = Cli({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2) << Show(unknown);

  ProcessResult down = RunProcess(
      {ERAGON_CLI_PATH, "--url", "http://127.0.0.1:1", "--token", "t", "routes", "list"});
  EXPECT_EQ(down.exit_code, 3) << Show(down);
  EXPECT_FALSE(down.err.empty()) << Show(down);
}

TEST_F(CliTest, DeadListRedriveReplaySeek) {
  Endpoint endpoint;
  SetProducer("cli_dead", "shop");
  HttpReply route = Admin("PUT", "/v1/routes/cli_dead/consumers/hook-svc",
                          R"({"type":"http","url":")" + endpoint.Url() +
                              R"(","start":"earliest","retry":{"max_attempts":3,)"
                              R"("initial_backoff_ms":10,"max_backoff_ms":50}})");
  ASSERT_EQ(route.status, 201) << Describe(route);
  PublishOk(EventJson("cli_dead", "order-7", R"({"total":1})", "dead-1"));
  PublishOk(EventJson("cli_dead", "order-8", R"({"total":2})", "dead-2"));

  // 400 is not retried: both go dead after one attempt.
  ASSERT_TRUE(
      WaitFor([&] { return DeadCount("cli_dead", "hook-svc") == 2; }, std::chrono::seconds(10)));
  ProcessResult list = Cli({"dead", "list", "cli_dead", "hook-svc"});
  ASSERT_EQ(list.exit_code, 0) << Show(list);
  for (const char* want : {"EVENT_ID", "DEAD_AT", "dead-1", "dead-2", "order-7", "400",
                           "order 7 is not valid missing total", "Z"}) {
    EXPECT_NE(list.out.find(want), std::string::npos) << want << "\n" << Show(list);
  }
  ProcessResult page = Cli({"--json", "dead", "list", "cli_dead", "hook-svc", "--limit", "1"});
  ASSERT_EQ(page.exit_code, 0) << Show(page);
  Json pj(page.out);
  ASSERT_TRUE(pj.ok()) << Show(page);
  EXPECT_EQ(pj.Len({"items"}), 1) << Show(page);
  EXPECT_EQ(pj.Int({"items", "0", "attempts"}), 1) << Show(page);
  EXPECT_EQ(pj.Int({"items", "0", "last_status"}), 400) << Show(page);
  std::string next = pj.Str({"next"});
  ASSERT_FALSE(next.empty()) << Show(page);
  ProcessResult page2 =
      Cli({"--json", "dead", "list", "cli_dead", "hook-svc", "--limit", "1", "--after", next});
  ASSERT_EQ(page2.exit_code, 0) << Show(page2);
  EXPECT_EQ(Json(page2.out).Len({"items"}), 1) << Show(page2);
  EXPECT_NE(Json(page2.out).Str({"items", "0", "event", "id"}),
            pj.Str({"items", "0", "event", "id"}));

  // Redrive one by id, then the rest, once the endpoint accepts.
  endpoint.set_status(200);
  ProcessResult one = Cli({"dead", "redrive", "cli_dead", "hook-svc", "--id", "dead-1"});
  ASSERT_EQ(one.exit_code, 0) << Show(one);
  EXPECT_NE(one.out.find("redriven 1 "), std::string::npos) << Show(one);
  ASSERT_TRUE(WaitFor([&] { return endpoint.Received("dead-1") == 2; }, std::chrono::seconds(10)));
  ASSERT_TRUE(
      WaitFor([&] { return DeadCount("cli_dead", "hook-svc") == 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(endpoint.Received("dead-2"), 1);
  ProcessResult all = Cli({"--json", "dead", "redrive", "cli_dead", "hook-svc"});
  ASSERT_EQ(all.exit_code, 0) << Show(all);
  EXPECT_EQ(Json(all.out).Int({"redriven"}), 1) << Show(all);
  ASSERT_TRUE(
      WaitFor([&] { return DeadCount("cli_dead", "hook-svc") == 0; }, std::chrono::seconds(10)));
  EXPECT_EQ(endpoint.Received("dead-2"), 2);

  // Replay from the epoch (RFC 3339) delivers both again.
  ProcessResult replay =
      Cli({"replay", "cli_dead", "hook-svc", "--from", "1970-01-01T00:00:00Z", "--ignore-dedup"});
  ASSERT_EQ(replay.exit_code, 0) << Show(replay);
  EXPECT_NE(replay.out.find("replaying"), std::string::npos) << Show(replay);
  ASSERT_TRUE(
      WaitFor([&] { return endpoint.Received("dead-1") == 3 && endpoint.Received("dead-2") == 3; },
              std::chrono::seconds(10)));
  ProcessResult replay_ms = Cli({"--json", "replay", "cli_dead", "hook-svc", "--from", "0"});
  ASSERT_EQ(replay_ms.exit_code, 0) << Show(replay_ms);
  EXPECT_EQ(Json(replay_ms.out).Int({"replaying_from"}), 0) << Show(replay_ms);
  ASSERT_TRUE(WaitFor([&] { return endpoint.Received("dead-1") == 4; }, std::chrono::seconds(10)));

  // Seek to the end, to a time, and bad times.
  ProcessResult latest = Cli({"--json", "seek", "cli_dead", "hook-svc", "--to", "latest"});
  ASSERT_EQ(latest.exit_code, 0) << Show(latest);
  EXPECT_EQ(Json(latest.out).Bool({"seeked"}), true) << Show(latest);
  ProcessResult at = Cli({"seek", "cli_dead", "hook-svc", "--to", "2026-11-26T08:00:00Z"});
  ASSERT_EQ(at.exit_code, 0) << Show(at);
  EXPECT_NE(at.out.find("1795680000000"), std::string::npos) << Show(at);
  ProcessResult bad = Cli({"seek", "cli_dead", "hook-svc", "--to", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2) << Show(bad);
  ProcessResult no_route = Cli({"replay", "cli_dead", "nobody", "--from", "0"});
  EXPECT_EQ(no_route.exit_code, 1) << Show(no_route);
  EXPECT_NE(no_route.err.find("not_found"), std::string::npos) << Show(no_route);
}

TEST_F(CliTest, TailPrintsPulledEvents) {
  SetProducer("cli_pull", "shop");
  HttpReply route =
      Admin("PUT", "/v1/routes/cli_pull/consumers/puller", R"({"type":"pull","start":"earliest"})");
  ASSERT_EQ(route.status, 201) << Describe(route);

  // tail runs first and prints the event when it arrives, then exits (--max 1).
  ProcessResult tail;
  std::thread runner([&] {
    tail = Cli({"tail", "puller", "--max", "1", "--ack", "--wait-ms", "500"}, "", {});
  });
  PublishOk(EventJson("cli_pull", "cart-1", R"({"items": [1, 2]})", "pull-1"));
  runner.join();
  ASSERT_EQ(tail.exit_code, 0) << Show(tail);
  EXPECT_NE(tail.out.find("pull-1"), std::string::npos) << Show(tail);
  EXPECT_NE(tail.out.find("cart-1"), std::string::npos) << Show(tail);
  EXPECT_NE(tail.out.find(R"(data={"items": [1, 2]})"), std::string::npos) << Show(tail);
  EXPECT_NE(tail.out.find("attempt=1"), std::string::npos) << Show(tail);

  // Acked: nothing left to fetch.
  HttpReply fetch = Admin("POST", "/v1/consumers/puller/fetch", R"({"wait_ms":0})");
  ASSERT_EQ(fetch.status, 200) << Describe(fetch);
  EXPECT_EQ(Json(fetch.body).Len({"messages"}), 0) << Describe(fetch);

  // --json: one message per line as the server sent it; without --ack it stays unacked.
  PublishOk(EventJson("cli_pull", "cart-2", "7", "pull-2"));
  ProcessResult peek = Cli({"--json", "tail", "puller", "--max", "1", "--ack-timeout-ms", "200"});
  ASSERT_EQ(peek.exit_code, 0) << Show(peek);
  Json line(peek.out);
  ASSERT_TRUE(line.ok()) << Show(peek);
  EXPECT_EQ(line.Str({"event", "id"}), "pull-2") << Show(peek);
  EXPECT_FALSE(line.Str({"ack_id"}).empty()) << Show(peek);
  EXPECT_TRUE(WaitFor(
      [&] {
        HttpReply again = Admin("POST", "/v1/consumers/puller/fetch", R"({"wait_ms":100})");
        return Json(again.body).Str({"messages", "0", "event", "id"}) == "pull-2";
      },
      std::chrono::seconds(10)))
      << "a peeked message is delivered again after its ack timeout";
}

// Issue 15's route settings: a filter, a retry schedule and a secret overlap are set by
// flags, shown by `routes show`, and a bad filter is refused before any request.
TEST_F(CliTest, FilterRetryScheduleAndSecretOverlapAreSetAndShown) {
  ASSERT_EQ(Cli({"routes", "set-producer", "cli_filtered", "--producer", "cli-service"}).exit_code,
            0);
  ProcessResult set =
      Cli({"--json", "routes", "set-consumer", "cli_filtered", "big-orders", "--url",
           "http://127.0.0.1:9/hook", "--filter", R"({"data.total": [{"numeric": [">=", 100]}]})",
           "--retry-schedule-ms", "1000,5000,60000", "--secret", "whsec_c2VjcmV0",
           "--secret-overlap-ms", "3600000"});
  ASSERT_EQ(set.exit_code, 0) << Show(set);
  Json j(set.out);
  EXPECT_EQ(j.Str({"filter", "data.total", "0", "numeric", "0"}), ">=") << Show(set);
  EXPECT_EQ(j.Len({"retry", "schedule_ms"}), 3) << Show(set);
  EXPECT_EQ(j.Int({"retry", "max_attempts"}), 4) << Show(set);
  EXPECT_EQ(j.Int({"secret_overlap_ms"}), 3600000) << Show(set);
  // Rotating the secret starts the overlap; `routes show` prints every setting.
  ASSERT_EQ(Cli({"routes", "set-consumer", "cli_filtered", "big-orders", "--url",
                 "http://127.0.0.1:9/hook", "--secret",
                 "whsec_bmV3LXNlY3JldA==", "--secret-overlap-ms", "3600000"})
                .exit_code,
            0);
  ProcessResult show = Cli({"routes", "show", "cli_filtered", "big-orders"});
  ASSERT_EQ(show.exit_code, 0) << Show(show);
  EXPECT_NE(show.out.find("previous_secret_until: "), std::string::npos) << Show(show);
  EXPECT_NE(show.out.find("secret_overlap_ms: 3600000"), std::string::npos) << Show(show);
  ProcessResult bad = Cli(
      {"routes", "set-consumer", "cli_filtered", "x", "--type", "pull", "--filter", "{not json"});
  EXPECT_EQ(bad.exit_code, 2) << Show(bad);
  ProcessResult refused = Cli({"routes", "set-consumer", "cli_filtered", "x", "--type", "pull",
                               "--filter", R"({"data.total": [{"numeric": ["~", 1]}]})"});
  EXPECT_EQ(refused.exit_code, 1) << Show(refused);
  EXPECT_NE(refused.err.find("filter: data.total"), std::string::npos) << Show(refused);
}

// disable_after_ms is set by a flag, and `routes show` says why eragond disabled a route
// (here: its endpoint refuses connections).
TEST_F(CliTest, DisableAfterMsIsSetAndRoutesShowSaysWhyTheRouteWasDisabled) {
  ASSERT_EQ(Cli({"routes", "set-producer", "cli_disabled", "--producer", "cli-service"}).exit_code,
            0);
  ProcessResult set =
      Cli({"--json", "routes", "set-consumer", "cli_disabled", "flaky", "--url",
           "http://127.0.0.1:9/hook", "--start", "earliest", "--max-attempts", "1000",
           "--initial-backoff-ms", "20", "--max-backoff-ms", "50", "--disable-after-ms", "800"});
  ASSERT_EQ(set.exit_code, 0) << Show(set);
  EXPECT_EQ(Json(set.out).Int({"disable_after_ms"}), 800) << Show(set);
  PublishOk(EventJson("cli_disabled", "e1", "{}"));
  ProcessResult show;
  ASSERT_TRUE(WaitFor(
      [&] {
        show = Cli({"routes", "show", "cli_disabled", "flaky"});
        return show.out.find("disabled_reason: ") != std::string::npos;
      },
      std::chrono::seconds(15)))
      << Show(show);
  EXPECT_NE(show.out.find("enabled: false"), std::string::npos) << Show(show);
  EXPECT_NE(show.out.find("every attempt failed for"), std::string::npos) << Show(show);
  EXPECT_NE(show.out.find("disabled_at: "), std::string::npos) << Show(show);
}

}  // namespace
}  // namespace eragon::testing
