// Pull delivery end to end (API.md "Pull"): the real eragond, fetch and ack over HTTP,
// through a kill -9.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "test_util.h"

namespace eragon::testing {
namespace {

class PullTest : public ServerTest {
 protected:
  struct Message {
    std::string ack_id;
    std::string event_id;
  };

  // One fetch of up to `max` messages (long poll up to wait_ms), leased for 10 minutes.
  std::vector<Message> Fetch(HttpClient& c, int max, int wait_ms) {
    std::string body = "{\"max\":" + std::to_string(max) +
                       ",\"wait_ms\":" + std::to_string(wait_ms) + ",\"ack_timeout_ms\":600000}";
    auto r = c.Request("POST", "/v1/consumers/worker/fetch", body, Auth());
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? Describe(*r) : r.status().ToString());
    std::vector<Message> out;
    if (!r.ok()) return out;
    Json j(r->body);
    for (int64_t i = 0, n = j.Len({"messages"}); i < n; ++i) {
      std::string k = std::to_string(i);
      out.push_back({j.Str({"messages", k, "ack_id"}), j.Str({"messages", k, "event", "id"})});
    }
    return out;
  }

  // Acks the messages in one request; returns the "acked" count (-1 on a failed request).
  int64_t Ack(HttpClient& c, const std::vector<Message>& msgs) {
    std::string body = "{\"ack_ids\":[";
    for (size_t i = 0; i < msgs.size(); ++i) body += (i ? "," : "") + Quote(msgs[i].ack_id);
    body += "]}";
    auto r = c.Request("POST", "/v1/consumers/worker/ack", body, Auth());
    if (!r.ok() || r->status != 200) return -1;
    return Json(r->body).Int({"acked"}).value_or(-1);
  }

  HttpHeaders Auth() { return {{"Authorization", "Bearer " + server_->admin_token()}}; }
};

// An ack answered 200 is durable: after a kill -9 the acked messages never come back and
// every unacked one does. Acks go out from two connections at once, so concurrent acks
// share their fsyncs (DeliveryStore::Sync) and each must still be covered by one.
TEST_F(PullTest, AckAnsweredBeforeKillSurvivesItAndUnackedMessagesComeBack) {
  SetProducer("job_created", "jobs", R"("topic":"jobs")");
  HttpReply route = Admin("PUT", "/v1/routes/job_created/consumers/worker",
                          R"({"type":"pull","start":"earliest"})");
  ASSERT_TRUE(route.status == 201 || route.status == 200) << Describe(route);
  std::set<std::string> published;
  for (int b = 0; b < 4; ++b) {
    std::string body = "{\"events\":[";
    for (int i = 0; i < 100; ++i) {
      std::string id = "job-" + std::to_string(b * 100 + i);
      body += (i ? "," : "") + EventJson("job_created", "e" + std::to_string(i % 7), "{}", id);
    }
    for (const std::string& id : PublishOk(body + "]}")) published.insert(id);
  }
  ASSERT_EQ(published.size(), 400u);

  // Two fetchers, each acking every other batch it gets, until all 400 were fetched once.
  std::set<std::string> acked, unacked;
  std::mutex mu;
  std::atomic<size_t> fetched{0};
  std::atomic<bool> failed{false};
  auto fetcher = [&] {
    HttpClient c(server_->url());
    for (int round = 0; fetched.load() < 400 && !failed && round < 100; ++round) {
      std::vector<Message> got = Fetch(c, 30, 2000);
      fetched += got.size();
      if (got.empty()) continue;
      if (round % 2 == 0) {
        int64_t n = Ack(c, got);
        EXPECT_EQ(n, static_cast<int64_t>(got.size()));
        if (n != static_cast<int64_t>(got.size())) failed = true;
        std::lock_guard lock(mu);
        for (const Message& m : got) acked.insert(m.event_id);
      } else {
        std::lock_guard lock(mu);
        for (const Message& m : got) unacked.insert(m.event_id);
      }
    }
  };
  std::thread t1(fetcher), t2(fetcher);
  t1.join();
  t2.join();
  ASSERT_EQ(fetched.load(), 400u);
  ASSERT_EQ(acked.size() + unacked.size(), 400u);
  ASSERT_FALSE(acked.empty());
  ASSERT_FALSE(unacked.empty());

  Restart(/*kill=*/true);
  // The leases died with the process: every unacked message is fetched again, no acked one.
  std::set<std::string> again;
  for (int round = 0; again.size() < unacked.size() && round < 200; ++round) {
    for (const Message& m : Fetch(*client_, 100, 2000)) {
      EXPECT_EQ(acked.count(m.event_id), 0u) << m.event_id << " was acked before the kill";
      again.insert(m.event_id);
    }
  }
  EXPECT_EQ(again, unacked);
}

// Acks of one request are counted per current delivery: a repeated id, a stale id and
// garbage count nothing, and the answer says how many were acked.
TEST_F(PullTest, AckCountsEachCurrentDeliveryOnceWithinOneRequest) {
  SetProducer("job_created", "jobs", R"("topic":"jobs")");
  HttpReply route = Admin("PUT", "/v1/routes/job_created/consumers/worker",
                          R"({"type":"pull","start":"earliest"})");
  ASSERT_TRUE(route.status == 201 || route.status == 200) << Describe(route);
  PublishOk("{\"events\":[" + EventJson("job_created", "a", "{}", "j1") + "," +
            EventJson("job_created", "b", "{}", "j2") + "]}");
  std::vector<Message> got;
  for (int round = 0; got.size() < 2 && round < 50; ++round) {
    for (const Message& m : Fetch(*client_, 10, 2000)) got.push_back(m);
  }
  ASSERT_EQ(got.size(), 2u);
  std::vector<Message> mixed = {got[0], got[0], {"0.1.2.nope", ""}, {"garbage", ""}, got[1]};
  EXPECT_EQ(Ack(*client_, mixed), 2);
  EXPECT_EQ(Ack(*client_, got), 0);  // both stale now
}

}  // namespace
}  // namespace eragon::testing
