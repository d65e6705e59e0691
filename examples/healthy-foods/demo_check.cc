#include "demo_check.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <tuple>

#include "core/json.h"
#include "http/http_client.h"

namespace eragon::testing {

namespace {

constexpr int kOrders = 12;
constexpr int kDeclineEvery = 5;  // the demo's default: orders 5 and 10 are declined

// The summary's numbers after `pattern` (its groups), or empty when it is missing.
std::vector<int> Numbers(const std::string& out, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(pattern))) {
    ADD_FAILURE() << "no '" << pattern << "' in: " << out;
    return {};
  }
  std::vector<int> v;
  for (size_t i = 1; i < m.size(); ++i) v.push_back(std::stoi(m[i]));
  return v;
}

void CheckSummary(const std::string& out) {
  std::vector<int> s =
      Numbers(out, R"(published 12 orders \((\d+) failed\); sagas: (\d+) confirmed, (\d+) )"
                   R"(rejected, (\d+) unfinished; reservations cancelled (\d+), order_ready )"
                   R"((\d+), delivered (\d+))");
  const int rejected = kOrders / kDeclineEvery, confirmed = kOrders - rejected;
  EXPECT_EQ(s, (std::vector<int>{0, confirmed, rejected, 0, rejected, confirmed, confirmed}));
  std::vector<int> r =
      Numbers(out, R"(received: payment (\d+), restaurant (\d+), courier (\d+), notification )"
                   R"((\d+) of (\d+); out of order: (\d+))");
  if (r.size() != 6) return;
  EXPECT_GE(r[0], kOrders);                         // payment: one charge each
  EXPECT_GE(r[1], kOrders + rejected + confirmed);  // reserve; cancel or confirmed
  EXPECT_GE(r[2], confirmed);                       // courier: order_ready
  EXPECT_EQ(r[4], 8 * confirmed + 7 * rejected);    // every event of every order
  EXPECT_GE(r[3], r[4]);
  EXPECT_EQ(r[5], 0);
  // 12+ pushes to the payment service: its every-7th 503 happened and was retried.
  EXPECT_NE(out.find("503 on purpose"), std::string::npos);
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\(attempt [2-9]\))"))) << out;
  // The saga's steps as they happened, one line each.
  for (const char* line :
       {"▶ started by order_created",
        "✓ step reserve: restaurant_reserve_requested → restaurant_reserved",
        "✓ step charge: payment_charge_requested → payment_charged",
        "✔ completed → order_confirmed",
        "✗ step charge: payment_charge_requested → payment_declined",
        "↩ compensate reserve: restaurant_reservation_cancelled", "✘ failed → order_rejected"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line;
  }
}

class Api {
 public:
  explicit Api(const ServerProcess& server) : client_(server.url()), token_(server.admin_token()) {}

  // GET `path` as admin: the string `field` of each element of its array `array`.
  std::vector<std::string> Strings(const std::string& path, const char* array, const char* field) {
    auto r = client_.Request("GET", path, "", {{"Authorization", "Bearer " + token_}});
    EXPECT_TRUE(r.ok() && r->status == 200) << path << ": " << (r.ok() ? r->body : "");
    std::vector<std::string> out;
    if (!r.ok()) return out;
    simdjson::dom::parser parser;
    auto doc = ParseJson(r->body, parser);
    simdjson::dom::array items;
    if (!doc.ok() || (*doc)[array].get_array().get(items) != simdjson::SUCCESS) return out;
    for (simdjson::dom::element item : items) {
      std::string_view v;
      if (item[field].get_string().get(v) == simdjson::SUCCESS) out.emplace_back(v);
    }
    return out;
  }

  std::vector<std::string> Instances(const std::string& state) {
    return Strings("/v1/sagas/order/instances?limit=1000&state=" + state, "items", "id");
  }

  size_t Count(const std::string& type, const std::string& order) {
    return Strings("/v1/events?event_type=" + type + "&entity_id=" + order, "items", "id").size();
  }

  // The event types of the instance's history, in order.
  std::vector<std::string> History(const std::string& order) {
    return Strings("/v1/sagas/order/instances/" + order, "history", "event_type");
  }

 private:
  HttpClient client_;
  std::string token_;
};

// The order's number: its id ends in it ("order-abc-0005" is 5).
int NumberOf(const std::string& order) { return std::atoi(order.c_str() + order.size() - 4); }

// Through the API: each instance ended as the payment service decided, and each order's
// events say the same — a confirmed order was cooked (order_ready, choreography) and
// delivered by the courier; a declined one had its reservation cancelled and was rejected.
void CheckSagas(const ServerProcess& server) {
  Api api(server);
  const std::vector<std::string> failed = api.Instances("failed");
  std::vector<std::string> all = api.Instances("completed");
  all.insert(all.end(), failed.begin(), failed.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kOrders));
  // Per type: how many of it a confirmed order has, and a rejected one.
  const std::vector<std::tuple<const char*, size_t, size_t>> counts = {
      {"order_confirmed", 1, 0},
      {"order_ready", 1, 0},
      {"order_delivered", 1, 0},
      {"restaurant_reservation_cancelled", 0, 1},
      {"order_rejected", 0, 1}};
  for (const std::string& id : all) {
    const bool declined = NumberOf(id) % kDeclineEvery == 0;
    EXPECT_EQ(std::count(failed.begin(), failed.end(), id), declined ? 1 : 0) << id;
    for (const auto& [type, if_confirmed, if_rejected] : counts) {
      EXPECT_EQ(api.Count(type, id), declined ? if_rejected : if_confirmed) << id << " " << type;
    }
  }
  for (const std::string& id : failed) {
    std::vector<std::string> h = api.History(id);
    const std::vector<std::string> want = {"payment_charge_requested", "payment_declined",
                                           "restaurant_reservation_cancelled", "order_rejected"};
    ASSERT_GE(h.size(), want.size()) << id;
    EXPECT_EQ(std::vector<std::string>(h.end() - 4, h.end()), want) << id;
  }
}

}  // namespace

std::string RunDemoAndCheckSummary(const ServerProcess& server,
                                   const std::vector<std::string>& extra_args) {
  char tmpl[] = "/tmp/eragon-demo-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) ADD_FAILURE() << "mkdtemp";
  const std::string backup = std::string(tmpl) + "/backup";
  std::vector<std::string> argv = {
      ERAGON_DEMO_PATH, "--url", server.url(),   "--data-dir", server.data_dir(), "--orders", "12",
      "--rate",         "20",    "--backup-dir", backup};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  ProcessResult r = RunProcess(argv, "", {}, std::chrono::seconds(120));
  std::filesystem::remove_all(tmpl);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  CheckSummary(r.out);
  CheckSagas(server);
  return r.out;
}

}  // namespace eragon::testing
