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
// Issue 16: limit=1000 over large events built pages of tens of MB (64 MB with 1 MiB
// events). A page now stops at 4 MiB (plus the event that crossed it) and `next` leads on:
// 18 MB of events come in several pages, each listed once, newest first.
TEST_F(ListingTest, LargeEventsComeInPagesOfBoundedBytes) {
  const std::string data = "\"" + std::string(600 * 1024, 'x') + "\"";
  for (int i = 0; i < 30; ++i) {
    PublishOk(EventJson("order_created", i % 2 ? "odd" : "even", data, "big" + std::to_string(i)));
  }
  std::vector<std::string> ids;
  std::string after;
  int pages = 0;
  for (; pages < 40; ++pages) {
    HttpReply r = Admin("GET", "/v1/events?event_type=order_created&limit=1000" +
                                   (after.empty() ? "" : "&after=" + after));
    ASSERT_EQ(r.status, 200) << r.status;
    EXPECT_LE(r.body.size(), (4u << 20) + data.size() + 4096) << "page " << pages;
    Json j(r.body);
    for (int64_t i = 0; i < j.Len({"items"}); ++i)
      ids.push_back(j.Str({"items", std::to_string(i), "id"}));
    if (!j.At({"next"}) || j.At({"next"})->is_null()) break;
    after = j.Str({"next"});
  }
  EXPECT_GE(pages, 3) << "18 MB must not come in one page";
  ASSERT_EQ(ids.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(ids[i], "big" + std::to_string(29 - i)) << "newest first";
}

}  // namespace
}  // namespace eragon::testing
