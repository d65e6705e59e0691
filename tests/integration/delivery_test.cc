// Delivery end to end: the real eragond pushing to real HTTP endpoints (scripted test
// servers), through crashes, outages, dead and hanging consumers, and https.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "test_util.h"
#include "testing/test_certs.h"
#include "testing/test_http_server.h"

namespace eragon::testing {
namespace {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

// Sanitizer builds are ~10x slower and heavier: smaller counts, same checks. gcc says so
// with __SANITIZE_*__, clang (the ASan+UBSan stage) with __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kScale = 10;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr int kScale = 10;
#else
constexpr int kScale = 1;
#endif
#else
constexpr int kScale = 1;
#endif

// Records what an endpoint received: event ids in arrival order, per entity.
class Received {
 public:
  void Add(const TestRequest& r) {
    std::lock_guard lock(mu_);
    std::string id = r.Header("Eragon-Event-Id").value_or("");
    ids_.push_back(id);
    by_entity_[r.Header("Eragon-Entity-Id").value_or("")].push_back(id);
    counts_[id]++;
  }
  size_t Distinct() {
    std::lock_guard lock(mu_);
    return counts_.size();
  }
  size_t Total() {
    std::lock_guard lock(mu_);
    return ids_.size();
  }
  std::map<std::string, int> Counts() {
    std::lock_guard lock(mu_);
    return counts_;
  }
  std::map<std::string, std::vector<std::string>> ByEntity() {
    std::lock_guard lock(mu_);
    return by_entity_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> ids_;
  std::map<std::string, std::vector<std::string>> by_entity_;
  std::map<std::string, int> counts_;
};

std::string ConsumerBody(const std::string& url, const std::string& extra = "") {
  return R"({"type":"http","url":")" + url + R"(","start":"earliest",)" +
         R"("retry":{"max_attempts":50,"initial_backoff_ms":20,"max_backoff_ms":200})" +
         (extra.empty() ? "" : "," + extra) + "}";
}

// Publishes `n` events of `type` over `entities` entities in batches; returns the ids in
// publish order.
std::vector<std::string> PublishMany(HttpClient& c, const std::string& token,
                                     const std::string& type, int n, int entities,
                                     const std::string& prefix) {
  std::vector<std::string> ids;
  for (int i = 0; i < n;) {
    std::string body = "{\"events\":[";
    int k = 0;
    for (; k < 500 && i < n; ++k, ++i) {
      std::string id = prefix + std::to_string(i);
      if (k) body += ",";
      body += EventJson(type, "ent-" + std::to_string(i % entities),
                        "{\"seq\":" + std::to_string(i) + "}", id);
      ids.push_back(id);
    }
    body += "]}";
    auto r = c.Request("POST", "/v1/events", body, {{"Authorization", "Bearer " + token}});
    EXPECT_TRUE(r.ok() && r->status == 202) << (r.ok() ? Describe(*r) : r.status().ToString());
  }
  return ids;
}

class DeliveryTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    SetProducer("order_created", "order-service", R"("topic":"orders","ordered":true)");
    SetProducer("order_paid", "order-service", R"("topic":"orders","ordered":true)");
  }
  void AddConsumer(const std::string& type, const std::string& name, const std::string& body) {
    HttpReply r = Admin("PUT", "/v1/routes/" + type + "/consumers/" + name, body);
    ASSERT_TRUE(r.status == 201 || r.status == 200) << Describe(r);
  }
  int DeadCount(const std::string& type, const std::string& consumer) {
    HttpReply r =
        Admin("GET", "/v1/routes/" + type + "/consumers/" + consumer + "/dead?limit=1000");
    EXPECT_EQ(r.status, 200) << Describe(r);
    return static_cast<int>(Json(r.body).Len({"items"}));
  }
};

// Two types of one ordered topic, many entities: each entity's events arrive in publish
// order, across the types.
TEST_F(DeliveryTest, OrderedTopicKeepsPublishOrderPerEntityAcrossTypes) {
  Received got;
  std::atomic<int> n{0};
  TestHttpServer ep([&](const TestRequest& r) {
    TestAnswer a;
    if (++n % 5 == 0) {  // transient failures: retried, order must hold anyway
      a.status = 503;
      return a;
    }
    got.Add(r);
    return a;
  });
  AddConsumer("order_created", "payments", ConsumerBody(ep.Url("/e")));
  AddConsumer("order_paid", "payments", ConsumerBody(ep.Url("/e")));
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    std::string id = "o-" + std::to_string(i);
    ids.push_back(id);
    PublishOk(EventJson(i % 2 ? "order_paid" : "order_created", "ent-" + std::to_string(i % 7),
                        "{}", id));
  }
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() == ids.size(); }, std::chrono::seconds(60)))
      << got.Distinct();
  std::map<std::string, int> pos;
  for (size_t i = 0; i < ids.size(); ++i) pos[ids[i]] = static_cast<int>(i);
  for (const auto& [entity, seq] : got.ByEntity()) {
    for (size_t i = 1; i < seq.size(); ++i) {
      ASSERT_LT(pos[seq[i - 1]], pos[seq[i]]) << "entity " << entity << " out of order";
    }
  }
  EXPECT_EQ(DeadCount("order_created", "payments"), 0);
}

// kill -9 during delivery to 3 consumers: after restart every acknowledged event reaches
// every consumer; duplicates only for what was in flight.
TEST_F(DeliveryTest, KillDuringDeliveryToThreeConsumersLosesNothing) {
  std::vector<std::unique_ptr<Received>> got;
  std::vector<std::unique_ptr<TestHttpServer>> eps;
  for (int c = 0; c < 3; ++c) {
    got.push_back(std::make_unique<Received>());
    Received* g = got.back().get();
    eps.push_back(std::make_unique<TestHttpServer>([g, c](const TestRequest& r) {
      g->Add(r);
      TestAnswer a;
      a.delay = std::chrono::milliseconds(c);  // consumers at different speeds
      return a;
    }));
    AddConsumer("order_created", "c" + std::to_string(c),
                ConsumerBody(eps.back()->Url("/e"), R"("max_in_flight":16)"));
  }
  const int n = 3000 / kScale;
  std::vector<std::string> ids =
      PublishMany(*client_, server_->admin_token(), "order_created", n, 50, "k-");
  WaitFor([&] { return got[2]->Distinct() > static_cast<size_t>(n / 4); },
          std::chrono::seconds(30));
  Restart(/*kill=*/true);
  for (int c = 0; c < 3; ++c) {
    ASSERT_TRUE(WaitFor([&] { return got[c]->Distinct() == ids.size(); }, std::chrono::seconds(90)))
        << "consumer " << c << " got " << got[c]->Distinct() << " of " << ids.size();
    int dups = 0;
    for (const auto& [id, count] : got[c]->Counts()) dups += count - 1;
    // In flight at the crash: at most max_in_flight, plus what was delivered but whose
    // state was not yet written (the answer raced the kill).
    EXPECT_LE(dups, 64) << "consumer " << c;
  }
}

// Endpoint down longer than the whole retry horizon, then back: nothing dead-lettered,
// everything delivered, in order.
TEST_F(DeliveryTest, OutageLongerThanRetryHorizonDeadLettersNothing) {
  std::atomic<bool> down{true};
  std::atomic<int> attempts_while_down{0};
  Received got;
  TestHttpServer ep([&](const TestRequest& r) {
    TestAnswer a;
    if (down) {
      ++attempts_while_down;
      a.status = 503;
      return a;
    }
    got.Add(r);
    return a;
  });
  // Retry horizon: 3 attempts x <= 50 ms. The outage lasts 3 s.
  AddConsumer("order_created", "fragile",
              R"({"type":"http","url":")" + ep.Url("/e") +
                  R"(","retry":{"max_attempts":3,"initial_backoff_ms":20,"max_backoff_ms":50}})");
  std::vector<std::string> ids =
      PublishMany(*client_, server_->admin_token(), "order_created", 200, 20, "out-");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(DeadCount("order_created", "fragile"), 0);
  down = false;
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() == ids.size(); }, std::chrono::seconds(60)))
      << got.Distinct();
  EXPECT_EQ(DeadCount("order_created", "fragile"), 0);
  std::map<std::string, int> pos;
  for (size_t i = 0; i < ids.size(); ++i) pos[ids[i]] = static_cast<int>(i);
  for (const auto& [entity, seq] : got.ByEntity()) {
    for (size_t i = 1; i < seq.size(); ++i) ASSERT_LT(pos[seq[i - 1]], pos[seq[i]]) << entity;
  }
  // The circuit held the backlog: far fewer attempts than 200 events x 3 attempts.
  EXPECT_LT(attempts_while_down.load(), 200);
}

// 400 is not retried: dead after one attempt with its status; redrive delivers it.
TEST_F(DeliveryTest, ClientErrorGoesDeadAtOnceAndRedriveDelivers) {
  std::atomic<bool> reject{true};
  Received got;
  TestHttpServer ep([&](const TestRequest& r) {
    TestAnswer a;
    a.status = reject ? 400 : 200;
    if (!reject) got.Add(r);
    return a;
  });
  AddConsumer("order_created", "strict", ConsumerBody(ep.Url("/e")));
  PublishOk(EventJson("order_created", "e1", "{}", "bad-1"));
  ASSERT_TRUE(
      WaitFor([&] { return DeadCount("order_created", "strict") == 1; }, std::chrono::seconds(30)));
  HttpReply dead = Admin("GET", "/v1/routes/order_created/consumers/strict/dead");
  Json j(dead.body);
  EXPECT_EQ(j.Str({"items", "0", "event", "id"}), "bad-1");
  EXPECT_EQ(j.Int({"items", "0", "attempts"}), 1);
  EXPECT_EQ(j.Int({"items", "0", "last_status"}), 400);
  HttpReply ev = Admin("GET", "/v1/events/bad-1");
  EXPECT_EQ(Json(ev.body).Str({"deliveries", "0", "state"}), "dead") << Describe(ev);
  reject = false;
  HttpReply rd = Admin("POST", "/v1/routes/order_created/consumers/strict/redrive", "{}");
  ASSERT_EQ(rd.status, 200) << Describe(rd);
  ASSERT_TRUE(WaitFor([&] { return got.Distinct() == 1; }, std::chrono::seconds(30)));
  EXPECT_TRUE(
      WaitFor([&] { return DeadCount("order_created", "strict") == 0; }, std::chrono::seconds(10)));
  // Regression: the redriven delivery updates the event's own state.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Json(Admin("GET", "/v1/events/bad-1").body).Str({"deliveries", "0", "state"}) ==
               "delivered";
      },
      std::chrono::seconds(10)));
}

// Retries survive a restart: attempts are kept, and the event still goes dead after
// exactly max_attempts.
TEST_F(DeliveryTest, RestartDuringRetriesKeepsAttempts) {
  std::atomic<int> seen{0};
  TestHttpServer ep([&](const TestRequest&) {
    ++seen;
    TestAnswer a;
    a.status = 500;
    return a;
  });
  AddConsumer("order_created", "flaky",
              R"({"type":"http","url":")" + ep.Url("/e") +
                  R"(","retry":{"max_attempts":6,"initial_backoff_ms":300,"max_backoff_ms":300}})");
  PublishOk(EventJson("order_created", "e1", "{}", "r-1"));
  ASSERT_TRUE(WaitFor([&] { return seen >= 2; }, std::chrono::seconds(30)));
  Restart(/*kill=*/true);
  ASSERT_TRUE(
      WaitFor([&] { return DeadCount("order_created", "flaky") == 1; }, std::chrono::seconds(60)));
  HttpReply dead = Admin("GET", "/v1/routes/order_created/consumers/flaky/dead");
  EXPECT_EQ(Json(dead.body).Int({"items", "0", "attempts"}), 6) << Describe(dead);
  // At most one attempt may repeat: the one in flight when the server was killed.
  EXPECT_LE(seen.load(), 7);
}

// entity_event dedup: the same (entity, type) three times with different ids reaches the
// consumer once, also across a restart.
TEST_F(DeliveryTest, EntityEventDedupAcrossRestart) {
  Received got;
  TestHttpServer ep([&](const TestRequest& r) {
    got.Add(r);
    return TestAnswer{};
  });
  AddConsumer("order_created", "once", ConsumerBody(ep.Url("/e"), R"("dedup":"entity_event")"));
  PublishOk(EventJson("order_created", "order-9", "{}", "d-1"));
  ASSERT_TRUE(WaitFor([&] { return got.Total() == 1; }, std::chrono::seconds(30)));
  PublishOk(EventJson("order_created", "order-9", "{}", "d-2"));
  Restart();
  PublishOk(EventJson("order_created", "order-9", "{}", "d-3"));
  PublishOk(EventJson("order_created", "order-10", "{}", "d-4"));  // another entity: delivered
  ASSERT_TRUE(WaitFor([&] { return got.Total() == 2; }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(got.Total(), 2u);
  EXPECT_EQ(got.Counts().count("d-4"), 1u);
  HttpReply ev = Admin("GET", "/v1/events/d-3");
  EXPECT_EQ(Json(ev.body).Str({"deliveries", "0", "state"}), "skipped_duplicate") << Describe(ev);
}

// A consumer that never answers does not stop another consumer of the same topic, and a
// dead endpoint's backlog stays on disk: memory stays bounded.
TEST_F(DeliveryTest, HangingAndDeadConsumersDoNotHoldUpOthersAndMemoryStaysBounded) {
  TestHttpServer hang([](const TestRequest&) {
    TestAnswer a;
    a.action = TestAnswer::Action::kNoAnswer;
    return a;
  });
  std::mutex mu;
  std::unordered_set<std::string> got;  // light: a million ids
  TestHttpServer ok(
      [&](const TestRequest& r) {
        std::lock_guard lock(mu);
        got.insert(r.Header("Eragon-Event-Id").value_or(""));
        return TestAnswer{};
      },
      std::nullopt, /*record=*/false);
  auto received = [&] {
    std::lock_guard lock(mu);
    return got.size();
  };
  AddConsumer("order_created", "hanging",
              ConsumerBody(hang.Url("/e"), R"("timeout_ms":60000,"max_in_flight":8)"));
  // A dead endpoint: nothing listens on port 9 of 127.0.0.1.
  AddConsumer("order_created", "dead-end", ConsumerBody("http://127.0.0.1:9/e"));
  AddConsumer("order_created", "healthy", ConsumerBody(ok.Url("/e"), R"("max_in_flight":256)"));
  // Release: the issue's million events; sanitizer builds: a tenth.
  const int n = 1'000'000 / kScale;
  std::vector<std::string> ids =
      PublishMany(*client_, server_->admin_token(), "order_created", n, 1000, "b-");
  ASSERT_TRUE(WaitFor([&] { return received() == ids.size(); }, std::chrono::seconds(400)))
      << received() << " of " << ids.size();
  std::string status = ReadFileOrEmpty("/proc/" + std::to_string(server_->pid()) + "/status");
  size_t at = status.find("VmRSS:");
  ASSERT_NE(at, std::string::npos);
  long rss_kb = std::stol(status.substr(at + 6));
  // The log holds the backlog; the dispatcher keeps at most a window per consumer.
  EXPECT_LT(rss_kb, (kScale == 1 ? 400 : 1500) * 1024) << "RSS " << rss_kb << " kB";
}

// https: a certificate from a CA eragond trusts is delivered to; one from another CA is
// refused (and its event ends in the dead-letter queue with the TLS error).
TEST(DeliveryHttpsTest, VerifiesCertificates) {
  char tmpl[] = "/tmp/eragon-pki-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto trusted = dispatch::testing::MakeTestPki(dir, "trusted");
  auto other = dispatch::testing::MakeTestPki(dir, "other");
  ASSERT_TRUE(trusted.ok() && other.ok());
  Received got;
  TestHttpServer good(
      [&](const TestRequest& r) {
        got.Add(r);
        return TestAnswer{};
      },
      TestHttpServer::Tls{trusted->server_cert_file, trusted->server_key_file});
  TestHttpServer bad([](const TestRequest&) { return TestAnswer{}; },
                     TestHttpServer::Tls{other->server_cert_file, other->server_key_file});
  ServerProcess server(ERAGOND_PATH, {"--push-ca-file", trusted->ca_cert_file});
  ASSERT_TRUE(server.Start().ok()) << server.Logs();
  HttpClient c(server.url());
  HttpHeaders auth = {{"Authorization", "Bearer " + server.admin_token()}};
  auto put = [&](const std::string& path, const std::string& body) {
    auto r = c.Request("PUT", path, body, auth);
    ASSERT_TRUE(r.ok() && (r->status == 201 || r->status == 200)) << (r.ok() ? Describe(*r) : "");
  };
  put("/v1/routes/tls_event/producer", R"({"producer":"p"})");
  put("/v1/routes/tls_event/consumers/good",
      R"({"type":"http","url":")" + good.Url("/e") + R"("})");
  put("/v1/routes/tls_event/consumers/bad",
      R"({"type":"http","url":")" + bad.Url("/e") +
          R"(","retry":{"max_attempts":2,"initial_backoff_ms":10,"max_backoff_ms":10}})");
  auto pub = c.Request("POST", "/v1/events", EventJson("tls_event", "e", "{}", "tls-1"), auth);
  ASSERT_TRUE(pub.ok() && pub->status == 202);
  EXPECT_TRUE(WaitFor([&] { return got.Distinct() == 1; }, std::chrono::seconds(30)));
  std::string dead_body;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto r = c.Request("GET", "/v1/routes/tls_event/consumers/bad/dead", {}, auth);
        if (!r.ok()) return false;
        dead_body = r->body;
        return Json(r->body).Len({"items"}) == 1;
      },
      std::chrono::seconds(30)))
      << dead_body << "\n"
      << server.Logs();
  EXPECT_NE(Json(dead_body).Str({"items", "0", "last_error"}).find("certificate"),
            std::string::npos)
      << dead_body;
  EXPECT_EQ(bad.request_count(), 0u);  // nothing was ever sent over the untrusted connection
  ASSERT_TRUE(server.Stop().ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eragon::testing
