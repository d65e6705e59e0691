// HTTP-level conventions: error bodies everywhere, unknown paths, malformed requests,
// big valid bodies, keep-alive, operations endpoints.
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"

namespace eragon::testing {
namespace {

class ProtocolTest : public ServerTest {};

TEST_F(ProtocolTest, EveryErrorHasTheErrorBody) {
  EXPECT_API_ERROR(Admin("GET", "/v1/no-such-thing"), 404, "not_found");
  HttpReply wrong_method = Admin("PATCH", "/v1/routes");
  EXPECT_GE(wrong_method.status, 400) << Describe(wrong_method);
  EXPECT_LT(wrong_method.status, 500) << Describe(wrong_method);
  EXPECT_EQ(ErrorCode(wrong_method).find('<'), std::string::npos)
      << "a non-2xx answer carries {\"error\":{code,message}}; " << Describe(wrong_method);
  EXPECT_EQ(Json(Admin("GET", "/v1/no-such-thing").body).ok(), true);
}

TEST_F(ProtocolTest, MalformedHttpGets400AndServerSurvives) {
  HttpClient raw(server_->url());
  auto r = raw.SendRaw("THIS IS NOT HTTP\r\n\r\n");
  if (r.ok()) {  // closing the connection without an answer is acceptable too
    EXPECT_EQ(r->status, 400) << Describe(*r);
  }
  auto bad_length =
      raw.SendRaw("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}");
  if (bad_length.ok()) {
    EXPECT_GE(bad_length->status, 400) << Describe(*bad_length);
    EXPECT_LT(bad_length->status, 500) << Describe(*bad_length);
  }
  EXPECT_EQ(Call("", "GET", "/healthz").status, 200);
}

TEST_F(ProtocolTest, OperationsEndpoints) {
  EXPECT_EQ(Call("", "GET", "/healthz").status, 200);
  EXPECT_EQ(Call("", "GET", "/readyz").status, 200);
  HttpReply metrics = Call("", "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200) << Describe(metrics);
  EXPECT_EQ(metrics.Header("Content-Type").rfind("text/plain", 0), 0u)
      << "Prometheus text format; Content-Type: " << metrics.Header("Content-Type");
  EXPECT_NE(metrics.body.find("# TYPE"), std::string::npos) << metrics.body.substr(0, 300);
}

// The "Max open files" soft and hard limits of process `pid`.
std::pair<std::string, std::string> OpenFilesLimits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    std::string soft, hard;
    fields >> soft >> hard;
    return {soft, hard};
  }
  return {"", ""};
}

// Issue 16: idle keep-alive connections past the open-file limit locked new clients out.
// eragond raises its soft open-files limit to the hard one, and at --max-connections a
// new client gets in by closing the longest-idle connection.
TEST(ProtocolLimits, IdleConnectionsCannotLockOutNewClients) {
  // eragond inherits a soft limit below the hard one (as under many service managers).
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_max, 512);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  ServerProcess server(ERAGOND_PATH, {"--max-connections", "4"});
  Status started = server.Start();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(started.ok()) << server.Logs();
  auto [soft, hard] = OpenFilesLimits(server.pid());
  EXPECT_FALSE(soft.empty());
  EXPECT_EQ(soft, hard) << "the soft open-files limit is raised to the hard one";
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 12; ++i) {
    idle.push_back(std::make_unique<HttpClient>(server.url()));
    auto r = idle.back()->Request("GET", "/healthz", "", {});
    ASSERT_TRUE(r.ok() && r->status == 200)
        << i << " " << (r.ok() ? Describe(*r) : r.status().ToString());
  }
  HttpClient fresh(server.url());
  auto r = fresh.Request("GET", "/healthz", "", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200) << Describe(*r);
}

// Issue 16: with --min-free-bytes at or below the segment size, a new segment's fallocate
// hit ENOSPC before publishing answered 507. The watermark now reserves a segment: free
// space above --min-free-bytes but below it plus --segment-bytes already answers 507.
TEST(ProtocolLimits, StorageFullReservesASegmentAboveMinFreeBytes) {
  struct statvfs vfs {};
  ASSERT_EQ(statvfs(std::filesystem::temp_directory_path().c_str(), &vfs), 0);
  const uint64_t free_bytes = uint64_t(vfs.f_bavail) * vfs.f_frsize;
  const uint64_t segment = 1ull << 30;
  if (free_bytes < 2 * segment) GTEST_SKIP() << "needs 2 GiB free";
  const uint64_t min_free = free_bytes - segment / 2;  // free is above it, by half a segment
  ServerProcess server(ERAGOND_PATH, {"--min-free-bytes", std::to_string(min_free),
                                      "--segment-bytes", std::to_string(segment)});
  ASSERT_TRUE(server.Start().ok()) << server.Logs();
  HttpClient c(server.url());
  HttpHeaders auth = {{"Authorization", "Bearer " + server.admin_token()}};
  auto put =
      c.Request("PUT", "/v1/routes/order_created/producer", R"({"producer":"orders"})", auth);
  ASSERT_TRUE(put.ok() && put->status == 201)
      << (put.ok() ? Describe(*put) : put.status().ToString());
  auto r = c.Request("POST", "/v1/events", EventJson("order_created", "e", "{}", "x-1"), auth);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 507) << Describe(*r);
  EXPECT_EQ(ErrorCode(*r), "storage_full");
}

TEST_F(ProtocolTest, LargeValidBatchAndKeepAlive) {
  CreateService("order-service", {"producer"});
  SetProducer("order_created", "order-service");
  // 7 events of ~900 KiB: under the 1 MiB event and 8 MiB request limits.
  std::string body = "{\"events\":[";
  for (int i = 0; i < 7; ++i) {
    body += (i ? "," : "") + EventJson("order_created", "e",
                                       "\"" + std::string(900 * 1024, 'a' + i) + "\"",
                                       "big-" + std::to_string(i));
  }
  body += "]}";
  ASSERT_LT(body.size(), 8u << 20);
  HttpReply r = Admin("POST", "/v1/events", body);
  ASSERT_EQ(r.status, 202) << Describe(r);
  HttpReply got = Admin("GET", "/v1/events/big-6");
  ASSERT_EQ(got.status, 200) << Describe(got);
  EXPECT_EQ(RawEventData(got.body), "\"" + std::string(900 * 1024, 'g') + "\"");
  // Many requests over the one kept-alive connection of client_.
  for (int i = 0; i < 200; ++i) ASSERT_EQ(GetStatus("big-" + std::to_string(i % 7)), 200);
}

}  // namespace
}  // namespace eragon::testing
