#include "dispatch/webhook.h"

#include <gtest/gtest.h>

#include <map>

#include "core/event_codec.h"
#include "core/json.h"
#include "core/names.h"
#include "dispatch/push_parse.h"

namespace eragon::dispatch {
namespace {

// The Standard Webhooks reference test vector (the same one the reference libraries and
// Svix's test suites use).
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr std::string_view kPayload = R"({"test": 2432232314})";
constexpr std::string_view kExpected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

std::map<std::string, std::string> HeaderMap(const PushRequest& r) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : r.headers) {
    EXPECT_TRUE(m.emplace(k, v).second) << "header sent twice: " << k;
  }
  return m;
}

Event SampleEvent() {
  Event e;
  e.id = "01938f6e-8a1c-7cc2-9a53-5d0c2b7f7e10";
  e.event_type = "order_created";
  e.entity_id = "b093b94f-6835-4815-9f40-29b13826bf39";
  e.producer = "order-service";
  e.occurred_at = 1543309287000;
  e.data = R"({"order":{"id":30,"status":"created"}})";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  return e;
}

config::ConsumerRoute SampleRoute() {
  config::ConsumerRoute r;
  r.event_type = "order_created";
  r.consumer = "payment-service";
  r.url = "https://payments.internal/events";
  r.timeout_ms = 2500;
  return r;
}

TEST(WebhookSignatureTest, MatchesTheStandardWebhooksTestVector) {
  auto sig = SignWebhook(kSecret, kMsgId, kTimestamp, kPayload);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(*sig, kExpected);
  // The prefix is optional, as in the reference libraries.
  EXPECT_EQ(*SignWebhook(kSecret.substr(6), kMsgId, kTimestamp, kPayload), kExpected);
  EXPECT_TRUE(
      VerifyWebhookSignature(kSecret, kMsgId, "1614265330", kExpected, kPayload, kTimestamp).ok());
}

TEST(WebhookSignatureTest, AcceptsOneMatchAmongSeveralSignatures) {
  std::string several = "v1,bm9wZQ== v1a,ignored " + std::string(kExpected);
  EXPECT_TRUE(
      VerifyWebhookSignature(kSecret, kMsgId, "1614265330", several, kPayload, kTimestamp).ok());
  EXPECT_FALSE(VerifyWebhookSignature(kSecret, kMsgId, "1614265330", "v1,bm9wZQ== v2,x", kPayload,
                                      kTimestamp)
                   .ok());
}

TEST(WebhookSignatureTest, RejectsTamperingAndStaleOrFutureTimestamps) {
  auto verify = [](std::string_view id, std::string_view ts, std::string_view body, int64_t now) {
    return VerifyWebhookSignature(kSecret, id, ts, kExpected, body, now);
  };
  EXPECT_EQ(verify(kMsgId, "1614265330", R"({"test": 2432232315})", kTimestamp).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(verify("msg_other", "1614265330", kPayload, kTimestamp).code(), Code::kUnauthenticated);
  EXPECT_EQ(verify(kMsgId, "1614265331", kPayload, kTimestamp).code(), Code::kUnauthenticated);
  EXPECT_TRUE(verify(kMsgId, "1614265330", kPayload, kTimestamp + 300).ok());
  EXPECT_EQ(verify(kMsgId, "1614265330", kPayload, kTimestamp + 301).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(verify(kMsgId, "1614265330", kPayload, kTimestamp - 301).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(verify(kMsgId, "16142x5330", kPayload, kTimestamp).code(), Code::kInvalidArgument);
  EXPECT_EQ(verify(kMsgId, "-1", kPayload, kTimestamp).code(), Code::kInvalidArgument);
  EXPECT_EQ(
      VerifyWebhookSignature("whsec_!!", kMsgId, "1614265330", kExpected, kPayload, kTimestamp)
          .code(),
      Code::kInvalidArgument);
}

TEST(BuildPushTest, EragonFormatWithAllHeaders) {
  Event e = SampleEvent();
  config::ConsumerRoute route = SampleRoute();
  route.headers = {{"X-Team", "payments"}};
  auto req = BuildPush(e, route, 3, 1'700'000'000'123);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->url, route.url);
  EXPECT_EQ(req->timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(req->body, EventToJson(e));
  auto h = HeaderMap(*req);
  EXPECT_EQ(h["Content-Type"], "application/json");
  EXPECT_EQ(h["Eragon-Event-Id"], e.id);
  EXPECT_EQ(h["Eragon-Event-Type"], "order_created");
  EXPECT_EQ(h["Eragon-Entity-Id"], e.entity_id);
  EXPECT_EQ(h["Eragon-Attempt"], "3");
  EXPECT_EQ(h["traceparent"], e.traceparent);
  EXPECT_EQ(h["X-Team"], "payments");
  EXPECT_EQ(h.count("webhook-signature"), 0u);  // no secret, no signature
}

TEST(BuildPushTest, SignedPushVerifiesAsAReceiverWould) {
  Event e = SampleEvent();
  config::ConsumerRoute route = SampleRoute();
  route.secret = std::string(kSecret);
  const int64_t now_ms = 1'700'000'000'999;
  auto req = BuildPush(e, route, 1, now_ms);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  auto h = HeaderMap(*req);
  EXPECT_EQ(h["webhook-id"], e.id);
  EXPECT_EQ(h["webhook-timestamp"], "1700000000");
  EXPECT_EQ(h["webhook-signature"], *SignWebhook(kSecret, e.id, 1700000000, req->body));
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, h["webhook-id"], h["webhook-timestamp"],
                                     h["webhook-signature"], req->body, now_ms / 1000)
                  .ok());

  route.secret = "whsec_not base64";
  EXPECT_EQ(BuildPush(e, route, 1, now_ms).status().code(), Code::kInvalidArgument);
}

TEST(BuildPushTest, DuringARotationBothSecretsSignAndAfterItOnlyTheNewOne) {
  constexpr std::string_view kOld = "whsec_c2VjcmV0LW9mLXNvbWVib2R5LWVsc2U=";
  Event e = SampleEvent();
  config::ConsumerRoute route = SampleRoute();
  route.secret = std::string(kSecret);
  route.previous_secret = std::string(kOld);
  route.previous_secret_until = 1'700'000'001'000;
  const int64_t now_ms = 1'700'000'000'999;
  auto req = BuildPush(e, route, 1, now_ms);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  auto h = HeaderMap(*req);
  EXPECT_EQ(h["webhook-signature"], *SignWebhook(kSecret, e.id, 1700000000, req->body) + " " +
                                        *SignWebhook(kOld, e.id, 1700000000, req->body));
  for (std::string_view secret : {kSecret, kOld}) {
    EXPECT_TRUE(VerifyWebhookSignature(secret, h["webhook-id"], h["webhook-timestamp"],
                                       h["webhook-signature"], req->body, now_ms / 1000)
                    .ok())
        << secret;
  }
  auto later = BuildPush(e, route, 1, route.previous_secret_until);  // the overlap is over
  ASSERT_TRUE(later.ok());
  auto hl = HeaderMap(*later);
  EXPECT_EQ(hl["webhook-signature"], *SignWebhook(kSecret, e.id, 1700000001, later->body));
  EXPECT_FALSE(VerifyWebhookSignature(kOld, hl["webhook-id"], hl["webhook-timestamp"],
                                      hl["webhook-signature"], later->body, now_ms / 1000)
                   .ok());
}

TEST(BuildPushTest, CloudEventsBodyCarriesEveryRequiredAttribute) {
  Event e = SampleEvent();
  config::ConsumerRoute route = SampleRoute();
  route.format = config::PushFormat::kCloudEvents;
  auto req = BuildPush(e, route, 1, 0);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(HeaderMap(*req)["Content-Type"], "application/cloudevents+json");
  auto doc = ParseJson(req->body);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  auto obj = doc->get_object();
  ASSERT_FALSE(obj.error());
  auto str = [&](const char* key) {
    std::string_view v;
    EXPECT_FALSE(obj[key].get(v)) << key;
    return std::string(v);
  };
  EXPECT_EQ(str("specversion"), "1.0");
  EXPECT_EQ(str("id"), e.id);
  EXPECT_EQ(str("source"), "/eragon/order-service");
  EXPECT_EQ(str("type"), "order_created");
  EXPECT_EQ(str("subject"), e.entity_id);
  EXPECT_EQ(str("time"), "2018-11-27T09:01:27.000Z");
  int64_t order_id = 0;
  EXPECT_FALSE(obj["data"]["order"]["id"].get(order_id));
  EXPECT_EQ(order_id, 30);

  route.format = static_cast<config::PushFormat>(7);  // not one of the enum's values
  EXPECT_EQ(BuildPush(e, route, 1, 0).status().code(), Code::kInvalidArgument);
}

TEST(BuildPushTest, EntityIdsAndRouteHeadersBecomeHeaderSafe) {
  Event e = SampleEvent();
  e.entity_id = "caf\xc3\xa9 100%\x7f";
  e.traceparent = "00-bad\r\nX: y";
  config::ConsumerRoute route = SampleRoute();
  route.headers = {{"X-Ok", "fine"},
                   {"X-Evil", "a\r\nX-Injected: 1"},
                   {"X-Nul", std::string("a\0b", 3)},
                   {"Bad Name", "x"},
                   {"eragon-event-id", "spoofed"},
                   {"Webhook-Signature", "v1,spoofed"},
                   {"content-type", "text/plain"},
                   {"Host", "elsewhere"}};
  auto req = BuildPush(e, route, 1, 0);
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  for (const auto& [k, v] : req->headers) {
    EXPECT_TRUE(IsValidHeaderName(k)) << k;
    EXPECT_TRUE(IsSafeHeaderValue(v)) << k;
    for (unsigned char c : v) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << k;
  }
  auto h = HeaderMap(*req);
  EXPECT_EQ(h["Eragon-Entity-Id"], "caf%C3%A9 100%25%7F");
  EXPECT_EQ(*PercentDecode(h["Eragon-Entity-Id"]), e.entity_id);
  EXPECT_EQ(h["Eragon-Event-Id"], e.id);
  EXPECT_EQ(h["Content-Type"], "application/json");
  EXPECT_EQ(h["X-Ok"], "fine");
  EXPECT_EQ(h.count("traceparent"), 0u);
  EXPECT_EQ(h.size(), 7u);  // ours (6 without traceparent) + X-Ok
}

}  // namespace
}  // namespace eragon::dispatch
