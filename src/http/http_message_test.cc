#include "http/http_message.h"

#include <gtest/gtest.h>

#include "http/http_error.h"
#include "http/responder.h"

namespace eragon::http {
namespace {

TEST(HeadersTest, LookupIsCaseInsensitive) {
  Headers h;
  h.Add("Content-Type", "application/json");
  h.Add("X-Trace", "a");
  EXPECT_EQ(h.Get("content-type"), "application/json");
  EXPECT_EQ(h.Get("X-TRACE"), "a");
  EXPECT_FALSE(h.Get("Content-Length").has_value());
  h.Set("x-trace", "b");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.Get("X-Trace"), "b");
  h.Remove("CONTENT-TYPE");
  EXPECT_FALSE(h.Contains("Content-Type"));
}

TEST(HttpRequestTest, SetTargetSplitsPathAndDecodesQuery) {
  HttpRequest r;
  r.SetTarget("/v1/events?event_type=order.created&entity_id=a%20b+c&limit=10&flag&");
  EXPECT_EQ(r.path, "/v1/events");
  ASSERT_EQ(r.query.size(), 4u);
  EXPECT_EQ(r.Query("event_type"), "order.created");
  EXPECT_EQ(r.Query("entity_id"), "a b c");
  EXPECT_EQ(r.Query("limit"), "10");
  EXPECT_EQ(r.Query("flag"), "");
  EXPECT_FALSE(r.Query("after").has_value());
}

TEST(HttpRequestTest, PercentDecodeKeepsInvalidEscapes) {
  EXPECT_EQ(PercentDecode("a%2Fb%zz%4", false), "a/b%zz%4");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("%C3%A9", false), "\xC3\xA9");
}

TEST(MethodTest, ParseAndName) {
  EXPECT_EQ(ParseMethod("DELETE"), Method::kDelete);
  EXPECT_EQ(ParseMethod("get"), Method::kOther);
  EXPECT_EQ(MethodName(Method::kPut), "PUT");
}

TEST(HttpErrorTest, MapsEveryStatusCode) {
  struct Case {
    Code code;
    int status;
    std::string_view api;
  } cases[] = {
      {Code::kInvalidJson, 400, "invalid_json"},
      {Code::kInvalidArgument, 400, "invalid_field"},
      {Code::kNotFound, 404, "not_found"},
      {Code::kConflict, 409, "conflict"},
      {Code::kUnknownEventType, 404, "unknown_event_type"},
      {Code::kAlreadyExists, 409, "conflict"},
      {Code::kPermissionDenied, 403, "forbidden"},
      {Code::kUnauthenticated, 401, "unauthenticated"},
      {Code::kTooLarge, 413, "too_large"},
      {Code::kResourceExhausted, 429, "backpressure"},
      {Code::kStorageFull, 507, "storage_full"},
      {Code::kUnavailable, 503, "unavailable"},
      {Code::kReadOnly, 503, "unavailable"},
      {Code::kIOError, 503, "unavailable"},
      {Code::kCorruption, 500, "internal"},
      {Code::kInternal, 500, "internal"},
  };
  for (const Case& c : cases) {
    HttpError e = MapStatus(c.code);
    EXPECT_EQ(e.status, c.status) << CodeName(c.code);
    EXPECT_EQ(e.code, c.api) << CodeName(c.code);
  }
}

TEST(HttpErrorTest, BodyIsEscapedJsonAndBackpressureHasRetryAfter) {
  HttpResponse r = ErrorResponse(Status::ResourceExhausted("queue \"full\"\n"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, R"({"error":{"code":"backpressure","message":"queue \"full\"\n"}})");
  EXPECT_EQ(r.headers.Get("Retry-After"), "1");

  HttpResponse c = ErrorResponse(400, "invalid_field", std::string("bad\x01", 4));
  EXPECT_EQ(c.body, R"({"error":{"code":"invalid_field","message":"bad\u0001"}})");
}

TEST(ResponderTest, CallbackReceivesResponseOnce) {
  int calls = 0;
  int status = 0;
  Responder r = Responder::ToCallback([&](HttpResponse&& resp) {
    ++calls;
    status = resp.status;
  });
  EXPECT_TRUE(static_cast<bool>(r));
  r(HttpResponse::Empty(204));
  EXPECT_FALSE(static_cast<bool>(r));
  r(HttpResponse::Empty(200));  // ignored: already answered
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, 204);
}

TEST(ResponderTest, DroppedResponderAnswers500) {
  int status = 0;
  {
    Responder r = Responder::ToCallback([&](HttpResponse&& resp) { status = resp.status; });
    Responder moved = std::move(r);
  }
  EXPECT_EQ(status, 500);
}

TEST(ResponderTest, MoveAssignOverPendingResponderAnswersIt) {
  std::vector<int> seen;
  Responder a = Responder::ToCallback([&](HttpResponse&& r) { seen.push_back(r.status); });
  Responder b = Responder::ToCallback([&](HttpResponse&& r) { seen.push_back(r.status + 1); });
  a = std::move(b);  // a's original request is dropped: 500
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], 500);
  a(HttpResponse::Empty(200));
  EXPECT_EQ(seen.back(), 201);
}

}  // namespace
}  // namespace eragon::http
