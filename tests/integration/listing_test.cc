// GET /v1/events: newest first, filters, the list convention (items + next, limit, after).
#include <set>

#include "test_util.h"

namespace eragon::testing {
namespace {

class ListingTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    CreateService("order-service", {"producer"});
    SetProducer("order_created", "order-service");
    SetProducer("order_paid", "order-service", R"("topic":"order_created")");
  }
};

TEST_F(ListingTest, NewestFirstWithDefaultLimitAndCursor) {
  for (const char* id : {"x1", "x2", "x3"}) PublishOk(EventJson("order_created", "e", "{}", id));
  HttpReply three = Admin("GET", "/v1/events?event_type=order_created&limit=3");
  ASSERT_EQ(three.status, 200) << Describe(three);
  Json j(three.body);
  ASSERT_EQ(j.Len({"items"}), 3) << Describe(three);
  EXPECT_EQ(j.Str({"items", "0", "id"}), "x3") << "newest first; " << Describe(three);
  EXPECT_EQ(j.Str({"items", "1", "id"}), "x2");
  EXPECT_EQ(j.Str({"items", "2", "id"}), "x1");

  for (int b = 0; b < 3; ++b) {
    std::string body = "{\"events\":[";
    for (int i = 0; i < 50; ++i) {
      body += (i ? "," : "") + EventJson("order_created", "e", "{}",
                                         "p" + std::to_string(b) + "-" + std::to_string(i));
    }
    PublishOk(body + "]}");
  }
  HttpReply first = Admin("GET", "/v1/events?event_type=order_created");
  ASSERT_EQ(first.status, 200) << Describe(first);
  Json f(first.body);
  ASSERT_EQ(f.Len({"items"}), 100) << "the default limit is 100";
  EXPECT_EQ(f.Str({"items", "0", "id"}).substr(0, 3), "p2-") << "newest first";
  std::string cursor = f.Str({"next"});
  ASSERT_FALSE(cursor.empty()) << "more events remain, so 'next' is a cursor; " << Describe(first);
  std::set<std::string> seen;
  for (int64_t i = 0; i < 100; ++i) seen.insert(f.Str({"items", std::to_string(i), "id"}));

  HttpReply second =
      Admin("GET", "/v1/events?event_type=order_created&limit=1000&after=" + UrlEncode(cursor));
  ASSERT_EQ(second.status, 200) << Describe(second);
  Json s(second.body);
  ASSERT_EQ(s.Len({"items"}), 53) << Describe(second);
  for (int64_t i = 0; i < 53; ++i) {
    EXPECT_TRUE(seen.insert(s.Str({"items", std::to_string(i), "id"})).second)
        << "pages overlap at " << s.Str({"items", std::to_string(i), "id"});
  }
  EXPECT_EQ(s.Str({"items", "52", "id"}), "x1") << "the oldest comes last";
  ASSERT_TRUE(s.At({"next"}).has_value() && s.At({"next"})->is_null())
      << "the last page has next: null; " << Describe(second);
}

TEST_F(ListingTest, FiltersByTypeAndEntity) {
  for (int i = 0; i < 5; ++i)
    PublishOk(EventJson("order_created", "a", "{}", "a" + std::to_string(i)));
  for (int i = 0; i < 3; ++i)
    PublishOk(EventJson("order_created", "b", "{}", "b" + std::to_string(i)));
  PublishOk(EventJson("order_paid", "b", "{}", "paid-b"));  // same topic, other type

  HttpReply r = Admin("GET", "/v1/events?event_type=order_created&entity_id=b");
  ASSERT_EQ(r.status, 200) << Describe(r);
  Json j(r.body);
  ASSERT_EQ(j.Len({"items"}), 3) << Describe(r);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(j.Str({"items", std::to_string(i), "entity_id"}), "b");
    EXPECT_EQ(j.Str({"items", std::to_string(i), "event_type"}), "order_created");
  }
  EXPECT_EQ(CountEvents("order_paid"), 1);
  EXPECT_EQ(CountEvents("order_created"), 8);
  HttpReply none = Admin("GET", "/v1/events?event_type=order_created&entity_id=zzz");
  ASSERT_EQ(none.status, 200) << Describe(none);
  EXPECT_EQ(Json(none.body).Len({"items"}), 0) << Describe(none);
  EXPECT_API_ERROR(Admin("GET", "/v1/events?event_type=order_created&limit=abc"), 400,
                   "invalid_field");
}

// A read of the log returns at most 8 MiB: with events of ~600 KB one window of 256
// offsets takes several reads, and every event must still be listed (none skipped).
TEST_F(ListingTest, LargeEventsAreAllListed) {
  const std::string data = "\"" + std::string(600 * 1024, 'x') + "\"";
  for (int i = 0; i < 30; ++i) {
    PublishOk(EventJson("order_created", "one-entity", data, "big" + std::to_string(i)));
  }
  HttpReply r = Admin("GET", "/v1/events?event_type=order_created&limit=100");
  ASSERT_EQ(r.status, 200) << r.status;
  Json j(r.body);
  ASSERT_EQ(j.Len({"items"}), 30) << "18 MB of events in one partition: each listed once";
  EXPECT_EQ(j.Str({"items", "0", "id"}), "big29") << "newest first";
  EXPECT_EQ(j.Str({"items", "29", "id"}), "big0");
}

}  // namespace
}  // namespace eragon::testing
