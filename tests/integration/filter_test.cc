// Consumer route filters end to end (API.md "Consumer routes: more settings"): a bad
// pattern is 400 invalid_field naming `filter`; a pull consumer gets only matching events,
// the others show state `filtered` and count in /metrics.
#include <chrono>
#include <thread>

#include "test_util.h"

namespace eragon::testing {
namespace {

class FilterTest : public ServerTest {
 protected:
  // Ids of the events one fetch returns (long poll up to wait_ms), acked at once.
  std::vector<std::string> FetchAndAck(int wait_ms) {
    HttpReply r = Admin("POST", "/v1/consumers/big-orders/fetch",
                        R"({"max":100,"wait_ms":)" + std::to_string(wait_ms) + "}");
    EXPECT_EQ(r.status, 200) << Describe(r);
    Json j(r.body);
    std::vector<std::string> ids;
    std::string acks;
    for (int64_t i = 0, n = j.Len({"messages"}); i < n; ++i) {
      std::string k = std::to_string(i);
      ids.push_back(j.Str({"messages", k, "event", "id"}));
      acks += (acks.empty() ? "" : ",") + Quote(j.Str({"messages", k, "ack_id"}));
    }
    if (!acks.empty())
      Admin("POST", "/v1/consumers/big-orders/ack", "{\"ack_ids\":[" + acks + "]}");
    return ids;
  }
};

TEST_F(FilterTest, BadFilterIsInvalidFieldNamingFilterAndStoresNothing) {
  SetProducer("order_created", "order-service");
  const char* bad[] = {
      R"({"type":"pull","filter":{"data.total":[{"numeric":["~",1]}]}})",
      R"({"type":"pull","filter":{"data.total":100}})",
      R"({"type":"pull","filter":"data.total > 1"})",
      R"({"type":"pull","filter":{"colour":["red"]}})",
      R"({"type":"pull","filter":{}})",
  };
  for (const char* body : bad) {
    HttpReply r = Admin("PUT", "/v1/routes/order_created/consumers/big-orders", body);
    EXPECT_API_ERROR(r, 400, "invalid_field");
    EXPECT_EQ(Json(r.body).Str({"error", "message"}).rfind("filter: ", 0), 0u) << Describe(r);
  }
  EXPECT_EQ(Admin("GET", "/v1/routes/order_created/consumers/big-orders").status, 404);
}

TEST_F(FilterTest, PullGetsOnlyMatchingEventsOthersShowFilteredAndCount) {
  SetProducer("order_created", "order-service");
  HttpReply put = Admin(
      "PUT", "/v1/routes/order_created/consumers/big-orders",
      R"({"type":"pull","start":"earliest","filter":{"data.total":[{"numeric":[">=",100]}],"data.city":["jakarta","bandung"]}})");
  ASSERT_EQ(put.status, 201) << Describe(put);
  EXPECT_EQ(Json(put.body).Str({"filter", "data.city", "0"}), "jakarta") << Describe(put);
  PublishOk(EventJson("order_created", "o-1", R"({"total":150,"city":"jakarta"})", "big-1"));
  PublishOk(EventJson("order_created", "o-2", R"({"total":1e2,"city":"bandung"})", "big-2"));
  PublishOk(EventJson("order_created", "o-3", R"({"total":99,"city":"jakarta"})", "small-1"));
  PublishOk(EventJson("order_created", "o-4", R"({"total":500,"city":"surabaya"})", "elsewhere-1"));
  std::vector<std::string> got;
  for (int i = 0; i < 20 && got.size() < 2; ++i) {
    for (const std::string& id : FetchAndAck(500)) got.push_back(id);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"big-1", "big-2"}));
  EXPECT_TRUE(FetchAndAck(300).empty());
  for (const char* id : {"small-1", "elsewhere-1"}) {
    HttpReply ev = Admin("GET", std::string("/v1/events/") + id);
    EXPECT_EQ(Json(ev.body).Str({"deliveries", "0", "state"}), "filtered") << Describe(ev);
  }
  HttpReply metrics = Call("", "GET", "/metrics");
  EXPECT_NE(
      metrics.body.find(R"(eragon_deliveries_total{consumer="big-orders",outcome="filtered"} 2)"),
      std::string::npos)
      << metrics.body.substr(0, 4000);
}

}  // namespace
}  // namespace eragon::testing
