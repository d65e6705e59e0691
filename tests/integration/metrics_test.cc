// GET /metrics of the real eragond (API.md "Operations"): checked by Prometheus' own
// `promtool check metrics` (Debian's prometheus package, scripts/install-deps), and the
// consumer series (lag, circuit, dead letters) follow a failing push consumer.
#include <atomic>
#include <sstream>

#include "test_util.h"
#include "testing/test_http_server.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

constexpr const char* kPromtool = "/usr/bin/promtool";

class MetricsTest : public ServerTest {
 protected:
  std::string Scrape() {
    HttpReply r = Call("", "GET", "/metrics");
    EXPECT_EQ(r.status, 200) << Describe(r);
    return r.body;
  }

  // The value of the sample `name{...}` whose labels include every one of `labels`
  // (`consumer="billing"` ...); nullopt when there is none.
  static std::optional<double> Sample(const std::string& text, const std::string& name,
                                      const std::vector<std::string>& labels) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name + "{", 0) != 0) continue;
      const size_t close = line.find("} ");
      if (close == std::string::npos) continue;
      const std::string set = line.substr(name.size(), close - name.size() + 1);
      bool all = true;
      for (const std::string& l : labels) all = all && set.find(l) != std::string::npos;
      if (all) return std::stod(line.substr(close + 2));
    }
    return std::nullopt;
  }

  // Polls /metrics until `name{labels}` satisfies `want` (10 s).
  bool WaitForSample(const std::string& name, const std::vector<std::string>& labels,
                     const std::function<bool(double)>& want, std::string* last) {
    return WaitFor(
        [&] {
          *last = Scrape();
          std::optional<double> v = Sample(*last, name, labels);
          return v && want(*v);
        },
        std::chrono::seconds(10));
  }
};

// Every series eragond exposes, with consumers, outcomes and errors present, passes
// promtool's parser and linter (names, units, HELP/TYPE, counters ending in _total).
TEST_F(MetricsTest, PromtoolCheckMetricsAcceptsTheDaemonsMetrics) {
  ASSERT_EQ(access(kPromtool, X_OK), 0)
      << kPromtool << " is missing: run scripts/install-deps (Debian package prometheus)";
  TestHttpServer endpoint([](const TestRequest& r) {
    TestAnswer a;
    a.status = r.Header("Eragon-Entity-Id") == "bad" ? 422 : 200;
    return a;
  });
  SetProducer("order_created", "shop");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/billing",
                  R"({"url":")" + endpoint.Url("/hook") + R"(","start":"earliest"})")
                .status,
            201);
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/ledger",
                  R"({"type":"pull","start":"earliest"})")
                .status,
            201);
  PublishOk(EventJson("order_created", "good", "{}", "m-1"));
  PublishOk(EventJson("order_created", "bad", "{}", "m-2"));
  PublishOk(EventJson("order_created", "good", "{}", "m-1"));       // a duplicate
  EXPECT_EQ(Admin("GET", "/v1/routes/nope/producer").status, 404);  // a rejected request
  std::string text;
  ASSERT_TRUE(WaitForSample(
      "eragon_dead_letters", {R"(consumer="billing")"}, [](double v) { return v == 1; }, &text))
      << text;
  ProcessResult check = RunProcess({kPromtool, "check", "metrics"}, text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << "\n" << text;
  EXPECT_EQ(check.out + check.err, "") << text;
}

// A push consumer whose endpoint goes down: lag grows, the circuit gauge goes to 1; an
// event it refuses goes dead and the dead-letter gauge and counter count it; when the
// endpoint is back the circuit closes and the lag returns to 0.
TEST_F(MetricsTest, LagCircuitAndDeadLetterSeriesMoveWhenAPushConsumerFails) {
  std::atomic<bool> down{true};
  TestHttpServer endpoint([&](const TestRequest& r) {
    TestAnswer a;
    if (r.Header("Eragon-Event-Id") == "poison") {
      a.status = 422;
    } else {
      a.status = down ? 503 : 200;
    }
    return a;
  });
  SetProducer("order_created", "shop");
  ASSERT_EQ(
      Admin(
          "PUT", "/v1/routes/order_created/consumers/billing",
          R"({"url":")" + endpoint.Url("/hook") +
              R"(","start":"earliest","retry":{"max_attempts":100,"initial_backoff_ms":20,"max_backoff_ms":100}})")
          .status,
      201);
  const std::vector<std::string> billing = {R"(consumer="billing")", R"(topic="order_created")"};
  std::string text;
  ASSERT_TRUE(WaitForSample(
      "eragon_consumer_circuit_open", billing, [](double v) { return v == 0; }, &text))
      << text;
  EXPECT_EQ(Sample(text, "eragon_dead_letters", {R"(consumer="billing")"}).value_or(-1), 0);
  std::string body = "{\"events\":[";
  for (int i = 0; i < 10; ++i) {
    body += (i ? "," : "") + EventJson("order_created", "e" + std::to_string(i), "{}");
  }
  PublishOk(body + "]}");
  ASSERT_TRUE(WaitForSample(
      "eragon_consumer_circuit_open", billing, [](double v) { return v == 1; }, &text))
      << text;
  EXPECT_EQ(Sample(text, "eragon_consumer_lag_events", billing).value_or(-1), 10) << text;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_GE(Sample(Scrape(), "eragon_consumer_lag_seconds", billing).value_or(-1), 1.0);

  down = false;
  PublishOk(EventJson("order_created", "p", "{}", "poison"));
  ASSERT_TRUE(WaitForSample(
      "eragon_dead_letters", {R"(consumer="billing")"}, [](double v) { return v == 1; }, &text))
      << text;
  ASSERT_TRUE(WaitForSample(
      "eragon_consumer_lag_events", billing, [](double v) { return v == 0; }, &text))
      << text;
  EXPECT_EQ(Sample(text, "eragon_consumer_circuit_open", billing).value_or(-1), 0) << text;
  EXPECT_EQ(Sample(text, "eragon_consumer_lag_seconds", billing).value_or(-1), 0) << text;
  EXPECT_EQ(Sample(text, "eragon_deliveries_total", {R"(consumer="billing")", R"(outcome="dead")"})
                .value_or(-1),
            1)
      << text;
  EXPECT_EQ(
      Sample(text, "eragon_deliveries_total", {R"(consumer="billing")", R"(outcome="delivered")"})
          .value_or(-1),
      10)
      << text;
}

}  // namespace
}  // namespace eragon::testing
