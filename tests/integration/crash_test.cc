// kill -9 while 8 clients publish: every acknowledged event survives, none is stored twice.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "test_util.h"

namespace eragon::testing {
namespace {

constexpr char kType[] = "crash_type";
constexpr int kThreads = 8;

std::string DataFor(const std::string& id) {
  return "{\"id\":\"" + id + "\",\"pad\":\"" + std::string(200, 'p') + "\"}";
}

class CrashTest : public ServerTest {};

TEST_F(CrashTest, KillDuringPublishLosesNoAckedEventAndStoresNoneTwice) {
  CreateService("crash-service", {"producer"});
  SetProducer(kType, "crash-service");

  std::mutex mu;
  std::vector<std::string> acked;     // got 202
  std::set<std::string> unanswered;   // sent, no answer: may or may not be stored
  std::vector<std::string> rejected;  // answered non-202 (e.g. 429): must not be stored
  std::atomic<int> acked_count{0};
  std::atomic<bool> stop{false};
  const std::string url = server_->url();
  const std::string token = server_->admin_token();

  auto worker = [&](int t) {
    HttpClientOptions options;
    options.connect_timeout_ms = 2'000;
    options.request_timeout_ms = 20'000;
    HttpClient client(url, options);
    const bool batches = t % 2 == 1;  // half the clients publish batches of 10
    for (int n = 0; !stop.load();) {
      std::vector<std::string> ids;
      std::string body;
      for (int k = 0; k < (batches ? 10 : 1); ++k, ++n) {
        ids.push_back("c" + std::to_string(t) + "-" + std::to_string(n));
        std::string e =
            EventJson(kType, "ent-" + std::to_string(n % 13), DataFor(ids.back()), ids.back());
        body += (k ? "," : "") + e;
      }
      if (batches) body = "{\"events\":[" + body + "]}";
      auto r = client.Request("POST", "/v1/events", body, {{"Authorization", "Bearer " + token}});
      std::lock_guard lock(mu);
      if (!r.ok()) {  // the server is gone
        unanswered.insert(ids.begin(), ids.end());
        return;
      }
      if (r->status == 202) {
        Json j(r->body);
        for (size_t i = 0; i < ids.size(); ++i) {
          EXPECT_EQ(j.Str({"ids", std::to_string(i)}), ids[i]) << Describe(*r);
        }
        acked.insert(acked.end(), ids.begin(), ids.end());
        acked_count += static_cast<int>(ids.size());
      } else {
        EXPECT_EQ(r->status, 429) << "only backpressure may refuse valid events; " << Describe(*r);
        rejected.insert(rejected.end(), ids.begin(), ids.end());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (acked_count.load() < 400 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server_->Kill();  // SIGKILL while the clients are mid-request
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GT(acked.size(), 0u) << "no publish succeeded before the kill";
  std::cerr << "acked " << acked.size() << ", unanswered " << unanswered.size() << ", rejected "
            << rejected.size() << " before kill -9\n";

  Restart(/*kill=*/true);
  if (HasFatalFailure()) return;

  int lost = 0;
  for (const auto& id : acked) {
    HttpReply got = Admin("GET", "/v1/events/" + id);
    if (got.status != 200) {
      if (++lost <= 10) ADD_FAILURE() << "acknowledged event " << id << " lost: " << Describe(got);
      continue;
    }
    EXPECT_EQ(RawEventData(got.body), DataFor(id)) << id;
  }
  EXPECT_EQ(lost, 0) << "of " << acked.size() << " acknowledged events";
  for (const auto& id : rejected) EXPECT_EQ(GetStatus(id), 404) << "rejected " << id;

  const int64_t listed = CountEvents(kType);  // also fails on an id listed twice
  EXPECT_GE(listed, static_cast<int64_t>(acked.size()));
  EXPECT_LE(listed, static_cast<int64_t>(acked.size() + unanswered.size()));

  // Retrying everything (as a client would) stores nothing twice.
  auto republish = [&](const std::vector<std::string>& ids, bool must_be_duplicate) {
    for (size_t i = 0; i < ids.size(); i += 100) {
      std::string body = "{\"events\":[";
      for (size_t k = i; k < std::min(ids.size(), i + 100); ++k) {
        const std::string& id = ids[k];
        int n = std::stoi(id.substr(id.find('-') + 1));
        body +=
            (k > i ? "," : "") + EventJson(kType, "ent-" + std::to_string(n % 13), DataFor(id), id);
      }
      HttpReply r = Admin("POST", "/v1/events", body + "]}");
      ASSERT_EQ(r.status, 202) << Describe(r);
      if (must_be_duplicate) {
        Json j(r.body);
        for (size_t k = i; k < std::min(ids.size(), i + 100); ++k) {
          EXPECT_EQ(j.Bool({"duplicates", std::to_string(k - i)}), true) << ids[k];
        }
      }
    }
  };
  republish(acked, true);
  republish(std::vector<std::string>(unanswered.begin(), unanswered.end()), false);
  EXPECT_EQ(CountEvents(kType), static_cast<int64_t>(acked.size() + unanswered.size()));
}

}  // namespace
}  // namespace eragon::testing
