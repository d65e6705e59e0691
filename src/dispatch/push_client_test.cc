// PushClient against real HTTP servers on 127.0.0.1 (test_http_server.h), never mocks.
#include "dispatch/push_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "testing/test_certs.h"
#include "testing/test_http_server.h"

namespace eragon::dispatch {
namespace {

using namespace std::chrono_literals;
using testing::MakeTestPki;
using testing::TestAnswer;
using testing::TestHttpServer;
using testing::TestRequest;
using Clock = std::chrono::steady_clock;

std::unique_ptr<PushClient> NewClient(PushClientOptions opts = {}) {
  auto c = PushClient::Create(std::move(opts));
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

PushRequest Post(std::string url, std::string body = "{}", std::chrono::milliseconds t = 5s) {
  PushRequest r;
  r.url = std::move(url);
  r.headers = {{"Content-Type", "application/json"}, {"X-Test", "yes"}};
  r.body = std::move(body);
  r.timeout = t;
  return r;
}

// Sends and waits for the result (with a generous bound so a bug fails instead of hangs).
PushResult SendSync(PushClient& client, PushRequest req) {
  auto p = std::make_shared<std::promise<PushResult>>();
  auto f = p->get_future();
  client.Send(std::move(req), [p](PushResult r) { p->set_value(std::move(r)); });
  if (f.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "no result within 30 s";
    return {};
  }
  return f.get();
}

TestAnswer Answer(int status, std::vector<std::pair<std::string, std::string>> headers = {},
                  std::string body = "") {
  TestAnswer a;
  a.status = status;
  a.headers = std::move(headers);
  a.body = std::move(body);
  return a;
}

std::string HttpDate(std::time_t t) {
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

TEST(PushClientTest, PostsBodyAndHeadersAndReturnsTheAnswer) {
  TestHttpServer server([](const TestRequest&) { return Answer(200, {}, "thanks"); });
  auto client = NewClient();
  PushResult r = SendSync(*client, Post(server.Url("/hook?x=1"), R"({"a":1})"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.body_prefix, "thanks");
  EXPECT_FALSE(r.retry_after_ms.has_value());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/hook?x=1");
  EXPECT_EQ(reqs[0].body, R"({"a":1})");
  EXPECT_EQ(reqs[0].Header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(reqs[0].Header("content-length"), "7");
  EXPECT_EQ(reqs[0].Header("x-test"), "yes");
}

TEST(PushClientTest, ReportsEveryAnswerClassWithoutFollowingRedirects) {
  const std::string date = HttpDate(std::time(nullptr) + 20);
  TestHttpServer server([&](const TestRequest& r) {
    if (r.target == "/500") return Answer(500, {}, "boom");
    if (r.target == "/429s") return Answer(429, {{"Retry-After", "7"}});
    if (r.target == "/429d") return Answer(429, {{"Retry-After", date}});
    if (r.target == "/400") return Answer(400, {}, R"({"error":"nope"})");
    if (r.target == "/302") return Answer(302, {{"Location", "/elsewhere"}});
    return Answer(204);
  });
  auto client = NewClient();
  PushResult r = SendSync(*client, Post(server.Url("/500")));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body_prefix, "boom");
  r = SendSync(*client, Post(server.Url("/429s")));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after_ms, 7000);
  r = SendSync(*client, Post(server.Url("/429d")));
  EXPECT_EQ(r.status, 429);
  ASSERT_TRUE(r.retry_after_ms.has_value());
  EXPECT_GT(*r.retry_after_ms, 10'000);  // 20 s minus generous slack for a slow machine
  EXPECT_LE(*r.retry_after_ms, 21'000);
  r = SendSync(*client, Post(server.Url("/400")));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body_prefix, R"({"error":"nope"})");
  r = SendSync(*client, Post(server.Url("/302")));
  EXPECT_EQ(r.status, 302);
  r = SendSync(*client, Post(server.Url("/204")));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(server.request_count(), 6u);  // the redirect was not followed
  EXPECT_EQ(server.accepted(), 1u);       // and one keep-alive connection carried them all
}

TEST(PushClientTest, ConnectionRefusedIsAnErrorResult) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // nobody listens on this port now
  auto client = NewClient();
  PushResult r =
      SendSync(*client, Post("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port))));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "connect: connection refused");
}

TEST(PushClientTest, TimesOutWhenTheServerNeverAnswers) {
  TestHttpServer server([](const TestRequest&) {
    TestAnswer a;
    a.action = TestAnswer::Action::kNoAnswer;
    return a;
  });
  auto client = NewClient();
  auto start = Clock::now();
  PushResult r = SendSync(*client, Post(server.Url(), "{}", 300ms));
  auto took = Clock::now() - start;
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "timeout after 300 ms");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 5s);
}

TEST(PushClientTest, ResetAndCloseWithoutAnswerAreErrors) {
  TestHttpServer server([](const TestRequest& r) {
    TestAnswer a;
    a.action = r.target == "/reset" ? TestAnswer::Action::kReset : TestAnswer::Action::kClose;
    return a;
  });
  auto client = NewClient();
  PushResult r = SendSync(*client, Post(server.Url("/reset")));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "connection reset");
  r = SendSync(*client, Post(server.Url("/close")));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "connection closed by the server before the answer");
  // A fresh connection that fails is not retried: one request each.
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(PushClientTest, WaitsForASlowAnswerWithinTheTimeout) {
  TestHttpServer server([](const TestRequest&) {
    TestAnswer a = Answer(200);
    a.delay = 300ms;
    return a;
  });
  auto client = NewClient();
  auto start = Clock::now();
  PushResult r = SendSync(*client, Post(server.Url(), "{}", 10s));
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(Clock::now() - start, 290ms);
}

TEST(PushClientTest, SequentialPushesReuseOneKeepAliveConnection) {
  TestHttpServer server([](const TestRequest&) { return Answer(200); });
  auto client = NewClient();
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(SendSync(*client, Post(server.Url(), std::to_string(i))).status, 200);
  }
  EXPECT_EQ(server.accepted(), 1u);
  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST(PushClientTest, StaleKeepAliveConnectionIsReplacedOnce) {
  // The server closes each connection right after its first answer, without a
  // "Connection: close": the pooled connection is dead when the next push takes it.
  TestHttpServer closing([](const TestRequest&) {
    TestAnswer a = Answer(200);
    a.close_after = true;
    return a;
  });
  auto client = NewClient();
  ASSERT_EQ(SendSync(*client, Post(closing.Url())).status, 200);
  std::this_thread::sleep_for(50ms);  // let the FIN arrive (not needed for correctness)
  EXPECT_EQ(SendSync(*client, Post(closing.Url())).status, 200);
  EXPECT_EQ(closing.accepted(), 2u);

  // Here the server takes the second request on a connection and closes without answer:
  // the push goes once more over a fresh connection, which answers.
  TestHttpServer racing([](const TestRequest& r) {
    TestAnswer a = Answer(200);
    if (r.on_connection >= 2) a.action = TestAnswer::Action::kClose;
    return a;
  });
  ASSERT_EQ(SendSync(*client, Post(racing.Url())).status, 200);
  PushResult r = SendSync(*client, Post(racing.Url()));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(racing.accepted(), 2u);
  EXPECT_EQ(racing.request_count(), 3u);
}

TEST(PushClientTest, ThousandPushesSixtyFourInFlightEachCompleteOnce) {
  TestHttpServer server([](const TestRequest&) { return Answer(200); });
  PushClientOptions opts;
  opts.io_threads = 2;
  auto client = NewClient(opts);
  constexpr int kTotal = 1000, kWindow = 64;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> completions(kTotal, 0);
  int done = 0, ok = 0, next = 0;
  std::function<void()> send_next = [&] {
    int i;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (next == kTotal) return;
      i = next++;
    }
    client->Send(Post(server.Url(), std::to_string(i)), [&, i](PushResult r) {
      send_next();  // from the io thread, as the dispatcher will
      std::lock_guard<std::mutex> lock(mu);
      ++completions[i];
      ++done;
      ok += r.status == 200;
      cv.notify_all();
    });
  };
  for (int i = 0; i < kWindow; ++i) send_next();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return done == kTotal; })) << done;
  EXPECT_EQ(ok, kTotal);
  for (int i = 0; i < kTotal; ++i) ASSERT_EQ(completions[i], 1) << i;
  lock.unlock();
  client->Stop();  // no callback may still run when the locals above go away
  EXPECT_EQ(server.request_count(), static_cast<uint64_t>(kTotal));
  EXPECT_LE(server.accepted(), static_cast<uint64_t>(kWindow));
}

// One io_context per io thread: a connection runs on one thread for its whole life (no
// completion handed between threads, the cost of a context shared by two), and new
// connections take the threads in turn.
TEST(PushClientTest, EachConnectionStaysOnOneIoThreadAndConnectionsTakeTheThreadsInTurn) {
  std::atomic<int> answered{0};
  TestHttpServer server([&](const TestRequest&) {
    TestAnswer a = Answer(200);
    if (answered++ < 2) a.delay = 100ms;  // the first two pushes overlap: two connections
    return a;
  });
  PushClientOptions opts;
  opts.io_threads = 2;
  auto client = NewClient(opts);
  std::mutex mu;
  std::vector<std::thread::id> threads;
  auto send = [&] {
    auto p = std::make_shared<std::promise<void>>();
    auto f = p->get_future();
    client->Send(Post(server.Url()), [&, p](PushResult r) {
      EXPECT_EQ(r.status, 200);
      std::lock_guard<std::mutex> lock(mu);
      threads.push_back(std::this_thread::get_id());
      p->set_value();
    });
    return f;
  };
  auto a = send(), b = send();
  ASSERT_EQ(a.wait_for(30s), std::future_status::ready);
  ASSERT_EQ(b.wait_for(30s), std::future_status::ready);
  ASSERT_EQ(server.accepted(), 2u);
  EXPECT_NE(threads[0], threads[1]) << "both connections on one io thread";
  for (int i = 0; i < 20; ++i) {  // one at a time: the warmest connection each time
    ASSERT_EQ(send().wait_for(30s), std::future_status::ready);
  }
  client->Stop();
  EXPECT_EQ(server.accepted(), 2u);
  for (size_t i = 3; i < threads.size(); ++i) {
    EXPECT_EQ(threads[i], threads[2]) << "push " << i << " of one connection on another thread";
  }
}

TEST(PushClientTest, ConnectionCapQueuesTheRest) {
  TestHttpServer server([](const TestRequest&) {
    TestAnswer a = Answer(200);
    a.delay = 2ms;
    return a;
  });
  PushClientOptions opts;
  opts.max_connections_per_endpoint = 4;
  auto client = NewClient(opts);
  std::atomic<int> ok{0};
  std::vector<std::future<void>> waits;
  std::vector<std::shared_ptr<std::promise<void>>> promises;
  for (int i = 0; i < 200; ++i) {
    auto p = std::make_shared<std::promise<void>>();
    waits.push_back(p->get_future());
    client->Send(Post(server.Url(), "{}", 20s), [p, &ok](PushResult r) {
      ok += r.status == 200;
      p->set_value();
    });
  }
  for (auto& w : waits) ASSERT_EQ(w.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(ok.load(), 200);
  EXPECT_LE(server.accepted(), 4u);
}

TEST(PushClientTest, AWaitingPushTimesOutWhenNoConnectionFrees) {
  TestHttpServer server([](const TestRequest&) {
    TestAnswer a;
    a.action = TestAnswer::Action::kNoAnswer;
    return a;
  });
  PushClientOptions opts;
  opts.max_connections_per_endpoint = 1;
  auto client = NewClient(opts);
  std::promise<PushResult> first;
  client->Send(Post(server.Url(), "{}", 20s), [&](PushResult r) { first.set_value(r); });
  auto start = Clock::now();
  PushResult r = SendSync(*client, Post(server.Url(), "{}", 200ms));
  EXPECT_EQ(r.error, "timeout after 200 ms (no free connection)");
  EXPECT_GE(Clock::now() - start, 190ms);
  EXPECT_LT(Clock::now() - start, 5s);
  client->Stop();  // aborts the first one
  EXPECT_EQ(first.get_future().get().error, "push client stopped");
}

TEST(PushClientTest, LongAnswerYieldsItsStatusAndAFreshConnectionNextTime) {
  TestHttpServer server(
      [](const TestRequest&) { return Answer(200, {}, std::string(200'000, 'x')); });
  PushClientOptions opts;
  opts.max_response_body_bytes = 64 * 1024;
  auto client = NewClient(opts);
  PushResult r = SendSync(*client, Post(server.Url()));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body_prefix, std::string(512, 'x')) << r.error;
  EXPECT_EQ(SendSync(*client, Post(server.Url())).status, 200);
  EXPECT_EQ(server.accepted(), 2u);
}

TEST(PushClientTest, BadUrlsAndUnsafeHeadersAreNeverSent) {
  TestHttpServer server([](const TestRequest&) { return Answer(200); });
  auto client = NewClient();
  PushResult r = SendSync(*client, Post("ftp://127.0.0.1/"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.rfind("invalid url: ", 0), 0u) << r.error;
  PushRequest evil = Post(server.Url());
  evil.headers.emplace_back("X-Evil", "a\r\nX-Injected: 1");
  r = SendSync(*client, evil);
  EXPECT_EQ(r.error, "invalid header: X-Evil");
  PushRequest framing = Post(server.Url());
  framing.headers.emplace_back("Content-Length", "0");
  r = SendSync(*client, framing);
  EXPECT_EQ(r.error.rfind("invalid header: ", 0), 0u) << r.error;
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(PushClientTest, StopCompletesEveryCallbackInFlight) {
  TestHttpServer server([](const TestRequest&) {
    TestAnswer a;
    a.action = TestAnswer::Action::kNoAnswer;
    return a;
  });
  PushClientOptions opts;
  opts.max_connections_per_endpoint = 8;  // 8 on the wire, 12 waiting
  auto client = NewClient(opts);
  std::atomic<int> calls{0}, stopped{0};
  for (int i = 0; i < 20; ++i) {
    client->Send(Post(server.Url(), "{}", 60s), [&](PushResult r) {
      ++calls;
      stopped += r.error == "push client stopped";
    });
  }
  auto deadline = Clock::now() + 10s;
  while (server.request_count() < 8 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  auto start = Clock::now();
  client->Stop();
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(calls.load(), 20);
  EXPECT_EQ(stopped.load(), 20);
  // After Stop, Send answers at once on the caller's thread.
  bool inline_done = false;
  client->Send(Post(server.Url()),
               [&](PushResult r) { inline_done = r.error == "push client stopped"; });
  EXPECT_TRUE(inline_done);
}

class PushClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("eragon-push-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto trusted = MakeTestPki(dir_.string(), "trusted");
    auto rogue = MakeTestPki(dir_.string(), "rogue");
    ASSERT_TRUE(trusted.ok()) << trusted.status().ToString();
    ASSERT_TRUE(rogue.ok()) << rogue.status().ToString();
    trusted_ = *trusted;
    rogue_ = *rogue;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  testing::TestPki trusted_, rogue_;
};

TEST_F(PushClientTlsTest, TrustedPrivateCaIsVerifiedByIpAndByName) {
  TestHttpServer server([](const TestRequest&) { return Answer(200, {}, "tls ok"); },
                        TestHttpServer::Tls{trusted_.server_cert_file, trusted_.server_key_file});
  PushClientOptions opts;
  opts.extra_ca_file = trusted_.ca_cert_file;
  auto client = NewClient(opts);
  PushResult r = SendSync(*client, Post(server.Url("/secure")));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body_prefix, "tls ok");
  r = SendSync(*client, Post("https://localhost:" + std::to_string(server.port()) + "/secure"));
  EXPECT_EQ(r.status, 200) << r.error;  // DNS name in the SAN, sent as SNI
  for (int i = 0; i < 20; ++i) ASSERT_EQ(SendSync(*client, Post(server.Url())).status, 200);
  EXPECT_LE(server.accepted(), 2u);  // keep-alive over TLS too
}

TEST_F(PushClientTlsTest, CertificateFromAnUntrustedCaIsRejected) {
  TestHttpServer server([](const TestRequest&) { return Answer(200); },
                        TestHttpServer::Tls{rogue_.server_cert_file, rogue_.server_key_file});
  PushClientOptions opts;
  opts.extra_ca_file = trusted_.ca_cert_file;
  auto client = NewClient(opts);
  PushResult r = SendSync(*client, Post(server.Url()));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error.rfind("tls: certificate verify failed: ", 0), 0u) << r.error;
  EXPECT_EQ(server.request_count(), 0u);
  // Without the extra CA even the "trusted" server is a stranger.
  TestHttpServer other([](const TestRequest&) { return Answer(200); },
                       TestHttpServer::Tls{trusted_.server_cert_file, trusted_.server_key_file});
  auto plain = NewClient();
  r = SendSync(*plain, Post(other.Url()));
  EXPECT_EQ(r.error.rfind("tls: certificate verify failed: ", 0), 0u) << r.error;
}

TEST_F(PushClientTlsTest, BadExtraCaFileFailsCreate) {
  PushClientOptions opts;
  opts.extra_ca_file = (dir_ / "missing.pem").string();
  EXPECT_EQ(PushClient::Create(opts).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace eragon::dispatch

namespace eragon::dispatch {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}

// Not a test: a throughput figure. Run with
//   push_test --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
// (PUSH_BENCH_N, PUSH_BENCH_WINDOW, PUSH_BENCH_CONNS, PUSH_BENCH_THREADS to vary it).
TEST(PushClientBench, DISABLED_KeepAliveThroughput) {
  const int64_t total = EnvInt("PUSH_BENCH_N", 200'000);
  const int64_t window = EnvInt("PUSH_BENCH_WINDOW", 64);
  TestHttpServer server([](const TestRequest&) { return TestAnswer{}; }, std::nullopt,
                        /*record=*/false);
  PushClientOptions opts;
  opts.io_threads = static_cast<int>(EnvInt("PUSH_BENCH_THREADS", 1));
  opts.max_connections_per_endpoint = static_cast<size_t>(EnvInt("PUSH_BENCH_CONNS", 16));
  auto client = NewClient(opts);
  const std::string body(400, 'e');  // about the size of a small event
  std::atomic<int64_t> next{0}, ok{0}, finished{0};
  std::promise<void> all_done;
  std::function<void()> send_next = [&] {
    if (next.fetch_add(1) >= total) return;
    client->Send(Post(server.Url("/bench"), body), [&](PushResult r) {
      send_next();
      ok += r.status == 200;
      if (finished.fetch_add(1) + 1 == total) all_done.set_value();
    });
  };
  auto start = Clock::now();
  for (int64_t i = 0; i < window; ++i) send_next();
  all_done.get_future().wait();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  client->Stop();
  EXPECT_EQ(ok.load(), total);
  std::printf(
      "pushes=%lld window=%lld connections=%llu io_threads=%d seconds=%.3f pushes_per_s=%.0f\n",
      static_cast<long long>(total), static_cast<long long>(window),
      static_cast<unsigned long long>(server.accepted()), opts.io_threads, secs,
      static_cast<double>(total) / secs);
}

}  // namespace
}  // namespace eragon::dispatch
