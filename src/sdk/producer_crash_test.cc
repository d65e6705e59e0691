// kill -9 of a producer process in the middle of a stream, with the file-backed queue:
// after a restart on the same backup directory, every event whose Publish had returned
// reaches the server exactly once (by id), and each entity's events stay in order.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>

#include "producer_testutil.h"

namespace eragon {
namespace {

using namespace sdk::producer_testing;

constexpr char kHelper[] = ERAGON_SDK_BIN_DIR "/eragon-sdk-producer-crash";
constexpr int kThreads = 4;

struct Printed {
  std::vector<std::string> ids;
};

void Collect(const std::vector<std::string>& lines, Printed* out) {
  for (const std::string& line : lines) {
    std::istringstream in(line);
    std::string ok, id;
    in >> ok >> id;
    if (ok == "ok" && !id.empty()) out->ids.push_back(id);
  }
}

class ProducerCrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ProducerCrashTest, KillNineMidStreamThenRestartPublishesEveryReturnedEventOnce) {
  TestServer server;
  auto token = server.StartForOrders();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  char tmpl[] = "/tmp/eragon-producer-crash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string backup = std::string(tmpl) + "/backup";
  auto args = [&](int count, int64_t start) {
    return std::vector<std::string>{kHelper,
                                    "--endpoint",
                                    server.url(),
                                    "--token",
                                    *token,
                                    "--backup",
                                    backup,
                                    "--threads",
                                    std::to_string(kThreads),
                                    "--count",
                                    std::to_string(count),
                                    "--start",
                                    std::to_string(start),
                                    "--fsync",
                                    GetParam()};
  };

  Printed printed;
  {
    ChildProcess first;
    ASSERT_TRUE(first.Start(args(1'000'000, 0)).ok());
    const auto& lines = first.ReadLines(3000, std::chrono::minutes(2));
    ASSERT_GE(lines.size(), 3000u) << "the producer stopped early";
    first.Kill9();  // mid-stream: publishing, batches in flight, acks being recorded
    Collect(first.lines(), &printed);
  }

  {
    ChildProcess second;  // replays the backup first, then publishes 100 more per thread
    ASSERT_TRUE(second.Start(args(100, 10'000'000)).ok());
    second.ReadLines(SIZE_MAX, std::chrono::minutes(5));
    EXPECT_EQ(second.Wait(), 0) << "the restarted producer did not get everything acknowledged";
    Collect(second.lines(), &printed);
  }
  auto stored = server.ListEvents("order_created");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  // Up to one event per thread was appended to the backup when the kill came but its
  // Publish had not returned: it may be stored (once) too.
  EXPECT_EQ(CheckExactlyOnceInOrder(*stored, printed.ids, kThreads), "");
  EXPECT_GE(stored->size(), printed.ids.size());
  std::filesystem::remove_all(tmpl);
}

INSTANTIATE_TEST_SUITE_P(Fsync, ProducerCrashTest, ::testing::Values("group", "interval"));

}  // namespace
}  // namespace eragon
