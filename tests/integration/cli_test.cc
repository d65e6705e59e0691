// The `eragon` CLI against a live eragond.
#include <fstream>

#include "test_util.h"

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
  Json lj(list_json.out);
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

}  // namespace
}  // namespace eragon::testing
