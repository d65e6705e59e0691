// Publishing and reading events back: round trip, batches, CloudEvents, idempotency.
#include <sys/stat.h>

#include <chrono>
#include <regex>
#include <set>

#include "test_util.h"

namespace eragon::testing {
namespace {

class PublishTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (HasFatalFailure()) return;
    producer_token_ = CreateService("order-service", {"producer"});
    SetProducer("order_created", "order-service");
  }

  // Publishes `event` and checks the stored copy field by field, `data` byte for byte.
  void ExpectRoundTrip(const std::string& id, const std::string& data) {
    SCOPED_TRACE("data: " + data);
    const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    HttpReply r = Call(producer_token_, "POST", "/v1/events",
                       EventJson("order_created", "entity-1", data, id));
    ASSERT_EQ(r.status, 202) << Describe(r);
    Json answer(r.body);
    EXPECT_EQ(answer.Str({"ids", "0"}), id) << Describe(r);
    EXPECT_EQ(answer.Bool({"duplicates", "0"}), false) << Describe(r);

    HttpReply got = Admin("GET", "/v1/events/" + id);
    ASSERT_EQ(got.status, 200) << Describe(got);
    Json j(got.body);
    ASSERT_TRUE(j.ok()) << Describe(got);
    EXPECT_EQ(j.Str({"event", "id"}), id);
    EXPECT_EQ(j.Str({"event", "event_type"}), "order_created");
    EXPECT_EQ(j.Str({"event", "entity_id"}), "entity-1");
    EXPECT_EQ(j.Str({"event", "producer"}), "order-service");
    auto occurred = j.Int({"event", "occurred_at"});
    ASSERT_TRUE(occurred.has_value()) << Describe(got);
    EXPECT_GE(*occurred, before - 5'000) << "occurred_at defaults to the ingest time";
    EXPECT_LE(*occurred, before + 120'000) << "occurred_at defaults to the ingest time";
    EXPECT_GE(j.Len({"deliveries"}), 0) << "deliveries must be an array; " << Describe(got);
    auto raw = RawEventData(got.body);
    ASSERT_TRUE(raw.has_value()) << "no event.data in " << Describe(got);
    EXPECT_EQ(*raw, data) << "data must be stored byte for byte";
  }

  std::string producer_token_;
};

TEST_F(PublishTest, RoundTripKeepsDataByteForByte) {
  const std::vector<std::string> datas = {
      R"({ "order" : { "id" : 30 ,  "status" : "created" } })",
      "{\n\t\"a\" :\r\n [ 1 ,\t2 ]\n}",
      R"("caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t \u0000")",
      R"([18446744073709551616, 123456789012345678901234567890, -0, 1.0E+2, 1e-7, 0.1000000000000000055511151231257827, -9223372036854775808])",
      "{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\",\"deep\":{\"b\":{\"c\":[[[[{}]]]]}}}",
      "null",
      "true",
      "42",
      "-1.5e300",
      "\"plain\"",
      "{}",
      "[]",
  };
  for (size_t i = 0; i < datas.size(); ++i) {
    ExpectRoundTrip("rt-" + std::to_string(i), datas[i]);
  }
}

TEST_F(PublishTest, ServerAssignsUuidV7AndKeepsGivenOccurredAt) {
  HttpReply r = Call(
      producer_token_, "POST", "/v1/events",
      R"({"event_type":"order_created","entity_id":"e","occurred_at":1543309287000,"data":{"x":1}})");
  ASSERT_EQ(r.status, 202) << Describe(r);
  std::string id = Json(r.body).Str({"ids", "0"});
  static const std::regex kUuidV7(
      "^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  EXPECT_TRUE(std::regex_match(id, kUuidV7)) << "not a UUIDv7: '" << id << "'";
  HttpReply got = Admin("GET", "/v1/events/" + id);
  ASSERT_EQ(got.status, 200) << Describe(got);
  Json j(got.body);
  EXPECT_EQ(j.Str({"event", "id"}), id);
  EXPECT_EQ(j.Int({"event", "occurred_at"}), 1543309287000);
  EXPECT_EQ(RawEventData(got.body), R"({"x":1})");
}

TEST_F(PublishTest, GetUnknownIdIs404NotFound) {
  EXPECT_API_ERROR(Admin("GET", "/v1/events/no-such-id"), 404, "not_found");
}

TEST_F(PublishTest, BatchStoresAllInOrder) {
  std::string body = "{\"events\":[" + EventJson("order_created", "a", "{\"n\":1}", "b-1") + "," +
                     EventJson("order_created", "b", "[1, 2]", "b-2") + "," +
                     EventJson("order_created", "a", "\"three\"", "b-3") + "]}";
  HttpReply r = Call(producer_token_, "POST", "/v1/events", body);
  ASSERT_EQ(r.status, 202) << Describe(r);
  Json j(r.body);
  ASSERT_EQ(j.Len({"ids"}), 3) << Describe(r);
  ASSERT_EQ(j.Len({"duplicates"}), 3) << Describe(r);
  EXPECT_EQ(j.Str({"ids", "0"}), "b-1");
  EXPECT_EQ(j.Str({"ids", "1"}), "b-2");
  EXPECT_EQ(j.Str({"ids", "2"}), "b-3");
  for (const char* i : {"0", "1", "2"}) EXPECT_EQ(j.Bool({"duplicates", i}), false);
  HttpReply got = Admin("GET", "/v1/events/b-2");
  ASSERT_EQ(got.status, 200) << Describe(got);
  EXPECT_EQ(RawEventData(got.body), "[1, 2]");
  EXPECT_EQ(CountEvents("order_created"), 3);
}

TEST_F(PublishTest, BatchIsAllOrNothing) {
  const std::string good1 = EventJson("order_created", "a", "{}", "ok-1");
  const std::string good2 = EventJson("order_created", "b", "{}", "ok-2");
  struct Case {
    std::string name, bad_event;
    int status;
    std::string code;
  };
  PublishOk(EventJson("order_created", "z", "{\"v\":1}", "existing"));
  const std::vector<Case> cases = {
      {"missing entity_id", R"({"id":"bad-1","event_type":"order_created","data":{}})", 400,
       "invalid_field"},
      {"bad id", EventJson("order_created", "c", "{}", "bad id!"), 400, "invalid_field"},
      {"unrouted type", EventJson("no_route_type", "c", "{}", "bad-2"), 404, "unknown_event_type"},
      {"id reused with other data", EventJson("order_created", "z", "{\"v\":2}", "existing"), 409,
       "conflict"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string body = "{\"events\":[" + good1 + "," + c.bad_event + "," + good2 + "]}";
    EXPECT_API_ERROR(Call(producer_token_, "POST", "/v1/events", body), c.status, c.code);
    EXPECT_API_ERROR(Admin("GET", "/v1/events/ok-1"), 404, "not_found");
    EXPECT_API_ERROR(Admin("GET", "/v1/events/ok-2"), 404, "not_found");
  }
  EXPECT_EQ(CountEvents("order_created"), 1) << "only 'existing' may be stored";
}

TEST_F(PublishTest, CloudEventsStructuredInput) {
  const std::string ce = R"({"specversion":"1.0","type":"order_created","source":"/orders",)"
                         R"("id":"ce-1","subject":"order-77","time":"2018-11-27T09:01:27Z",)"
                         R"("datacontenttype":"application/json","data":{"order": {"id": 77}}})";
  HttpReply r = Call(producer_token_, "POST", "/v1/events", ce,
                     {{"Content-Type", "application/cloudevents+json"}});
  ASSERT_EQ(r.status, 202) << Describe(r);
  EXPECT_EQ(Json(r.body).Str({"ids", "0"}), "ce-1");
  HttpReply got = Admin("GET", "/v1/events/ce-1");
  ASSERT_EQ(got.status, 200) << Describe(got);
  Json j(got.body);
  EXPECT_EQ(j.Str({"event", "event_type"}), "order_created");
  EXPECT_EQ(j.Str({"event", "entity_id"}), "order-77");
  EXPECT_EQ(j.Str({"event", "producer"}), "order-service");
  EXPECT_EQ(j.Int({"event", "occurred_at"}), 1543309287000);
  EXPECT_EQ(RawEventData(got.body), R"({"order": {"id": 77}})");

  // A CloudEvent without `type` has no event type.
  EXPECT_API_ERROR(
      Call(producer_token_, "POST", "/v1/events",
           R"({"specversion":"1.0","source":"/o","id":"ce-2","subject":"s","data":{}})",
           {{"Content-Type", "application/cloudevents+json"}}),
      400, "invalid_field");
  EXPECT_API_ERROR(Admin("GET", "/v1/events/ce-2"), 404, "not_found");
}

TEST_F(PublishTest, DedupById) {
  const std::string e = EventJson("order_created", "ent", R"({"total": 10})", "dup-1");
  HttpReply first = Call(producer_token_, "POST", "/v1/events", e);
  ASSERT_EQ(first.status, 202) << Describe(first);
  EXPECT_EQ(Json(first.body).Bool({"duplicates", "0"}), false);

  HttpReply again = Call(producer_token_, "POST", "/v1/events", e);
  ASSERT_EQ(again.status, 202) << Describe(again);
  EXPECT_EQ(Json(again.body).Str({"ids", "0"}), "dup-1");
  EXPECT_EQ(Json(again.body).Bool({"duplicates", "0"}), true) << Describe(again);

  // The admin publishing the same content publishes as the owner: still a duplicate.
  HttpReply as_admin = Admin("POST", "/v1/events", e);
  ASSERT_EQ(as_admin.status, 202) << Describe(as_admin);
  EXPECT_EQ(Json(as_admin.body).Bool({"duplicates", "0"}), true) << Describe(as_admin);

  EXPECT_API_ERROR(Call(producer_token_, "POST", "/v1/events",
                        EventJson("order_created", "ent", R"({"total": 11})", "dup-1")),
                   409, "conflict");
  EXPECT_API_ERROR(Call(producer_token_, "POST", "/v1/events",
                        EventJson("order_created", "other-ent", R"({"total": 10})", "dup-1")),
                   409, "conflict");

  // In a batch: the known id is a duplicate, the new one is stored.
  HttpReply batch =
      Call(producer_token_, "POST", "/v1/events",
           "{\"events\":[" + e + "," + EventJson("order_created", "ent", "{}", "dup-2") + "]}");
  ASSERT_EQ(batch.status, 202) << Describe(batch);
  EXPECT_EQ(Json(batch.body).Bool({"duplicates", "0"}), true) << Describe(batch);
  EXPECT_EQ(Json(batch.body).Bool({"duplicates", "1"}), false) << Describe(batch);
  EXPECT_EQ(CountEvents("order_created"), 2);

  HttpReply got = Admin("GET", "/v1/events/dup-1");
  EXPECT_EQ(RawEventData(got.body), R"({"total": 10})") << "the first content stays";
}

// Ids are scoped per producer (issue 16): another service publishing the same id first
// neither blocks nor conflicts with the owner's publish; both are stored and delivered;
// each producer's own retry is still a duplicate or a conflict; GET picks by caller or
// ?producer= and is 409 naming the holders when ambiguous.
TEST_F(PublishTest, SameIdFromTwoProducersIsTwoEvents) {
  std::string billing = CreateService("billing-service", {"producer"});
  SetProducer("invoice_sent", "billing-service");
  ASSERT_EQ(Admin("PUT", "/v1/routes/order_created/consumers/reader",
                  R"({"type":"pull","start":"earliest"})")
                .status,
            201);
  ASSERT_EQ(Admin("PUT", "/v1/routes/invoice_sent/consumers/reader",
                  R"({"type":"pull","start":"earliest"})")
                .status,
            201);
  const std::string squat = EventJson("invoice_sent", "ent", R"({"squat":1})", "shared-1");
  const std::string own = EventJson("order_created", "ent", R"({"total":10})", "shared-1");
  ASSERT_EQ(Call(billing, "POST", "/v1/events", squat).status, 202);
  HttpReply first = Call(producer_token_, "POST", "/v1/events", own);
  ASSERT_EQ(first.status, 202) << Describe(first);
  EXPECT_EQ(Json(first.body).Bool({"duplicates", "0"}), false) << Describe(first);
  HttpReply retry = Call(producer_token_, "POST", "/v1/events", own);
  ASSERT_EQ(retry.status, 202) << Describe(retry);
  EXPECT_EQ(Json(retry.body).Bool({"duplicates", "0"}), true) << Describe(retry);
  EXPECT_API_ERROR(Call(producer_token_, "POST", "/v1/events",
                        EventJson("order_created", "ent", R"({"total":11})", "shared-1")),
                   409, "conflict");
  EXPECT_EQ(CountEvents("order_created"), 1);
  EXPECT_EQ(CountEvents("invoice_sent"), 1);

  HttpReply mine = Call(producer_token_, "GET", "/v1/events/shared-1");
  ASSERT_EQ(mine.status, 200) << Describe(mine);
  EXPECT_EQ(Json(mine.body).Str({"event", "producer"}), "order-service");
  HttpReply theirs = Call(billing, "GET", "/v1/events/shared-1");
  EXPECT_EQ(Json(theirs.body).Str({"event", "producer"}), "billing-service") << Describe(theirs);
  HttpReply ambiguous = Admin("GET", "/v1/events/shared-1");
  EXPECT_API_ERROR(ambiguous, 409, "conflict");
  EXPECT_NE(ambiguous.body.find("billing-service"), std::string::npos) << Describe(ambiguous);
  EXPECT_NE(ambiguous.body.find("order-service"), std::string::npos) << Describe(ambiguous);
  HttpReply picked = Admin("GET", "/v1/events/shared-1?producer=billing-service");
  EXPECT_EQ(Json(picked.body).Str({"event", "producer"}), "billing-service") << Describe(picked);
  EXPECT_API_ERROR(Admin("GET", "/v1/events/shared-1?producer=nobody"), 404, "not_found");
  EXPECT_API_ERROR(Admin("GET", "/v1/events/shared-1?producer=Bad!"), 400, "invalid_field");
  // A consumer with no event of its own: the only holder answers, several are ambiguous.
  std::string reader = CreateService("reader", {"consumer"});
  EXPECT_API_ERROR(Call(reader, "GET", "/v1/events/shared-1"), 409, "conflict");
  ASSERT_EQ(
      Call(billing, "POST", "/v1/events", EventJson("invoice_sent", "ent", "{}", "only-billing"))
          .status,
      202);
  EXPECT_EQ(Call(reader, "GET", "/v1/events/only-billing").status, 200);
  EXPECT_EQ(GetStatus("only-billing"), 200);

  std::multiset<std::string> types;
  for (int i = 0; i < 50 && types.size() < 3; ++i) {
    HttpReply f = Call(reader, "POST", "/v1/consumers/reader/fetch",
                       R"({"max":10,"wait_ms":200,"ack_timeout_ms":600000})");
    ASSERT_EQ(f.status, 200) << Describe(f);
    Json j(f.body);
    for (int64_t k = 0, n = j.Len({"messages"}); k < n; ++k) {
      types.insert(j.Str({"messages", std::to_string(k), "event", "event_type"}) + "/" +
                   j.Str({"messages", std::to_string(k), "event", "id"}));
    }
  }
  EXPECT_EQ(types, (std::multiset<std::string>{"invoice_sent/only-billing", "invoice_sent/shared-1",
                                               "order_created/shared-1"}));
}

TEST_F(PublishTest, DedupByIdSurvivesRestartAndKill) {
  const std::string e = EventJson("order_created", "ent", R"({"total": 10})", "dup-r");
  PublishOk(e);
  for (bool kill : {false, true}) {
    SCOPED_TRACE(kill ? "after kill -9" : "after SIGTERM");
    Restart(kill);
    if (HasFatalFailure()) return;
    HttpReply again = Call(producer_token_, "POST", "/v1/events", e);
    ASSERT_EQ(again.status, 202) << Describe(again);
    EXPECT_EQ(Json(again.body).Bool({"duplicates", "0"}), true) << Describe(again);
    EXPECT_API_ERROR(Call(producer_token_, "POST", "/v1/events",
                          EventJson("order_created", "ent", R"({"total": 12})", "dup-r")),
                     409, "conflict");
    EXPECT_EQ(CountEvents("order_created"), 1);
  }
}

TEST_F(PublishTest, RestartKeepsRoutesTokensAndEvents) {
  HttpReply put =
      Admin("PUT", "/v1/routes/order_created/consumers/payment-service", R"({"type":"pull"})");
  ASSERT_EQ(put.status, 201) << Describe(put);
  const std::string revoked = CreateService("old-service", {"producer"});
  EXPECT_EQ(Admin("DELETE", "/v1/services/old-service").status, 204);
  PublishOk(EventJson("order_created", "e1", R"({"kept": true})", "kept-1"));
  HttpReply routes_before = Admin("GET", "/v1/routes");
  const std::string admin_before = server_->admin_token();

  Restart();
  if (HasFatalFailure()) return;

  EXPECT_EQ(server_->admin_token(), admin_before) << "admin.token must not change on restart";
  HttpReply routes_after = Admin("GET", "/v1/routes");
  ASSERT_EQ(routes_after.status, 200) << Describe(routes_after);
  EXPECT_EQ(Json(WithoutPlatformRoutes(routes_after.body)).Len({"producers"}), 1)
      << Describe(routes_after);
  EXPECT_EQ(Json(WithoutPlatformRoutes(routes_after.body)).Len({"consumers"}), 1)
      << Describe(routes_after);
  EXPECT_EQ(Json(WithoutPlatformRoutes(routes_after.body)).Str({"consumers", "0", "consumer"}),
            "payment-service");
  EXPECT_EQ(Json(WithoutPlatformRoutes(routes_after.body)).Str({"producers", "0", "producer"}),
            "order-service");

  HttpReply got = Admin("GET", "/v1/events/kept-1");
  ASSERT_EQ(got.status, 200) << Describe(got);
  EXPECT_EQ(RawEventData(got.body), R"({"kept": true})");
  EXPECT_EQ(Json(got.body).Str({"event", "producer"}), "order-service");

  HttpReply pub = Call(producer_token_, "POST", "/v1/events",
                       EventJson("order_created", "e2", "{}", "after-restart"));
  EXPECT_EQ(pub.status, 202) << "the producer token must survive a restart; " << Describe(pub);
  EXPECT_API_ERROR(Call(revoked, "POST", "/v1/events", EventJson("order_created", "e", "{}")), 401,
                   "unauthenticated");
  EXPECT_EQ(CountEvents("order_created"), 2);
}

TEST_F(PublishTest, SecondServerOnSameDataDirIsRefused) {
  ProcessResult second = RunProcess({server_->binary(), "--data-dir", server_->data_dir(),
                                     "--listen", "127.0.0.1:0", "--fsync", "always"},
                                    "", {}, std::chrono::seconds(30));
  EXPECT_NE(second.exit_code, 0) << "a second eragond on a locked data dir must exit non-zero";
  EXPECT_NE(second.exit_code, -1) << "it must exit by itself, promptly (it was killed)";
  EXPECT_FALSE(second.err.empty() && second.out.empty()) << "and say why";
  // The first server is unaffected.
  EXPECT_EQ(GetStatus("nothing-here"), 404);
}

TEST_F(PublishTest, AdminTokenFileIsPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat((server_->data_dir() + "/admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(PublishTest, SigtermExitsZero) {
  auto code = server_->Stop();
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 0) << "eragond must exit 0 on SIGTERM";
}

}  // namespace
}  // namespace eragon::testing
