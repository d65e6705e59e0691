#include "config/route_codec.h"

#include <gtest/gtest.h>

namespace eragon::config {
namespace {

void ExpectInvalid(const Status& st, std::string_view prefix) {
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(st.message().rfind(prefix, 0), 0u) << "message: " << st.message();
}

Status Producer(std::string_view body, std::string type = "order_created") {
  return ParseProducerRoute(body, std::move(type)).status();
}

Status Consumer(std::string_view body) {
  return ParseConsumerRoute(body, "order_created", "payment-service").status();
}

TEST(RouteCodec, ProducerDefaults) {
  Result<ProducerRoute> r = ParseProducerRoute(R"({"producer":"order-service"})", "order_created");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->event_type, "order_created");
  EXPECT_EQ(r->producer, "order-service");
  EXPECT_EQ(RouteEnumName(r->channel), "embedded");
  EXPECT_EQ(r->topic, "order_created");
  EXPECT_FALSE(r->ordered);
  EXPECT_EQ(r->partitions, 8u);
}

TEST(RouteCodec, ProducerAllFields) {
  Result<ProducerRoute> r = ParseProducerRoute(
      R"({"producer":"order-service","channel":"embedded","topic":"orders","ordered":true,"partitions":16,"unknown":1})",
      "order_created");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->topic, "orders");
  EXPECT_TRUE(r->ordered);
  EXPECT_EQ(r->partitions, 16u);
}

// The codec parses kafka; whether this eragond has Kafka, and whether the type's topic is
// on it, the route admin decides (server/route_admin.cc).
TEST(RouteCodec, KafkaChannelAndConsumerTypeParse) {
  Result<ProducerRoute> p = ParseProducerRoute(R"({"producer":"p","channel":"kafka"})", "t");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->channel, ChannelKind::kKafka);
  Result<ConsumerRoute> c = ParseConsumerRoute(R"({"type":"kafka"})", "t", "c");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->type, DeliveryType::kKafka);
}

TEST(RouteCodec, ProducerRejections) {
  ExpectInvalid(Producer(R"({})"), "producer: required");
  ExpectInvalid(Producer(R"({"producer":"Order_Service"})"), "producer: must match");
  ExpectInvalid(Producer(R"({"producer":7})"), "producer: must be a string");
  ExpectInvalid(Producer(R"({"producer":"p","channel":"rabbit"})"), "channel: must be one of");
  ExpectInvalid(Producer(R"({"producer":"p","topic":"Bad Topic"})"), "topic: must match");
  ExpectInvalid(Producer(R"({"producer":"p","ordered":"yes"})"), "ordered: must be true or false");
  ExpectInvalid(Producer(R"({"producer":"p","partitions":0})"),
                "partitions: must be an integer in 1..1024");
  ExpectInvalid(Producer(R"({"producer":"p","partitions":1025})"), "partitions:");
  ExpectInvalid(Producer(R"({"producer":"p","partitions":8.5})"), "partitions:");
  ExpectInvalid(Producer(R"({"producer":"p","partitions":"8"})"), "partitions:");
  ExpectInvalid(Producer(R"({"producer":"p","partitions":1e400})"), "partitions:");
  ExpectInvalid(Producer(R"({"producer":"p","event_type":"other"})"), "event_type: does not match");
  ExpectInvalid(Producer(R"({"producer":"p"})", "Bad"), "event_type: must match");
  ExpectInvalid(Producer(R"([])"), "body: must be a JSON object");
  EXPECT_EQ(Producer(R"({"producer":tru})").code(), Code::kInvalidJson);
  EXPECT_EQ(Producer("").code(), Code::kInvalidJson);
  EXPECT_TRUE(Producer(R"({"producer":"p","event_type":"order_created","topic":null})").ok());
}

TEST(RouteCodec, ConsumerDefaults) {
  Result<ConsumerRoute> r = ParseConsumerRoute(R"({"url":"https://payments.internal/events"})",
                                               "order_created", "payment-service");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ConsumerRoute want;
  want.event_type = "order_created";
  want.consumer = "payment-service";
  want.url = "https://payments.internal/events";
  EXPECT_EQ(*r, want);
  EXPECT_EQ(RouteEnumName(r->type), "http");
  EXPECT_EQ(r->timeout_ms, 5000);
  EXPECT_EQ(r->max_in_flight, 64u);
  EXPECT_EQ(r->retry.max_attempts, 12u);
  EXPECT_EQ(r->retry.initial_backoff_ms, 500);
  EXPECT_EQ(r->retry.max_backoff_ms, 3'600'000);
  EXPECT_EQ(RouteEnumName(r->dedup), "none");
  EXPECT_EQ(RouteEnumName(r->format), "eragon");
  EXPECT_EQ(RouteEnumName(r->start), "latest");
  EXPECT_TRUE(r->enabled);
}

TEST(RouteCodec, ConsumerAllFieldsFromApiExample) {
  Result<ConsumerRoute> r = ParseConsumerRoute(R"(
    { "type": "http", "url": "https://payments.internal/events", "timeout_ms": 5000,
      "headers": {"X-Team": "payments"}, "max_in_flight": 64, "rate_limit_per_s": 0,
      "retry": { "max_attempts": 12, "initial_backoff_ms": 500, "max_backoff_ms": 3600000 },
      "dedup": "entity_event", "dedup_ttl_hours": 24, "format": "cloudevents",
      "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "start": "earliest", "enabled": false })",
                                               "order_created", "payment-service");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->headers.at("X-Team"), "payments");
  EXPECT_EQ(RouteEnumName(r->dedup), "entity_event");
  EXPECT_EQ(r->dedup_ttl_hours, 24);
  EXPECT_EQ(RouteEnumName(r->format), "cloudevents");
  EXPECT_EQ(r->secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(RouteEnumName(r->start), "earliest");
  EXPECT_FALSE(r->enabled);
}

TEST(RouteCodec, PullConsumerNeedsNoUrl) {
  Result<ConsumerRoute> r =
      ParseConsumerRoute(R"({"type":"pull","url":"ignored"})", "order_created", "payment-service");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(RouteEnumName(r->type), "pull");
  EXPECT_EQ(r->url, "");
}

// Route PUT accepted URLs the push client then refused: 201, the circuit opened forever
// and events stayed pending. Now the same parser decides at PUT, and the message never
// repeats the URL (its user info is a secret).
TEST(RouteCodec, ConsumerUrlsThePushClientCannotUseAreRejectedWithoutEchoingThem) {
  ExpectInvalid(Consumer(R"({"url":"http://h:99999/e"})"), "url: invalid url: bad port");
  ExpectInvalid(Consumer(R"({"url":"http://h:0/e"})"), "url: invalid url: bad port");
  ExpectInvalid(Consumer(R"({"url":"https://user:pass@h/e"})"),
                "url: invalid url: user info is not supported");
  Status st = Consumer(R"({"url":"https://user:s3cret@h:99999/e"})");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find("s3cret"), std::string::npos) << st.ToString();
  ExpectInvalid(Consumer("{\"url\":\"http://h/" + std::string(8200, 'a') + "\"}"),
                "url: longer than 8192 bytes");
  EXPECT_TRUE(Consumer(R"({"url":"http://h:65535/e"})").ok());
}

TEST(RouteCodec, ConsumerRejections) {
  ExpectInvalid(Consumer(R"({})"), "url: required for type http");
  ExpectInvalid(Consumer(R"({"url":"ftp://x/y"})"),
                "url: invalid url: scheme must be http or https");
  ExpectInvalid(Consumer(R"({"url":"https://"})"), "url:");
  ExpectInvalid(Consumer(R"({"url":"https://a b/"})"), "url:");
  ExpectInvalid(Consumer(R"({"url":"http"})"), "url:");
  ExpectInvalid(Consumer(R"({"type":"smtp","url":"http://x"})"),
                "type: must be one of http, pull, kafka");
  ExpectInvalid(Consumer(R"({"url":"http://x","timeout_ms":0})"),
                "timeout_ms: must be an integer in 1..300000");
  ExpectInvalid(Consumer(R"({"url":"http://x","timeout_ms":300001})"), "timeout_ms:");
  ExpectInvalid(Consumer(R"({"url":"http://x","max_in_flight":0})"),
                "max_in_flight: must be an integer in 1..10000");
  ExpectInvalid(Consumer(R"({"url":"http://x","max_in_flight":10001})"), "max_in_flight:");
  ExpectInvalid(Consumer(R"({"url":"http://x","rate_limit_per_s":-1})"), "rate_limit_per_s:");
  ExpectInvalid(Consumer(R"({"url":"http://x","retry":5})"), "retry: must be an object");
  ExpectInvalid(Consumer(R"({"url":"http://x","retry":{"max_attempts":0}})"),
                "retry.max_attempts:");
  ExpectInvalid(Consumer(R"({"url":"http://x","retry":{"initial_backoff_ms":0}})"),
                "retry.initial_backoff_ms:");
  ExpectInvalid(Consumer(R"({"url":"http://x","retry":{"max_backoff_ms":-5}})"),
                "retry.max_backoff_ms:");
  ExpectInvalid(
      Consumer(R"({"url":"http://x","retry":{"initial_backoff_ms":2000,"max_backoff_ms":1000}})"),
      "retry.initial_backoff_ms: must not exceed retry.max_backoff_ms");
  ExpectInvalid(Consumer(R"({"url":"http://x","dedup":"always"})"),
                "dedup: must be one of none, entity_event, event_id");
  ExpectInvalid(Consumer(R"({"url":"http://x","dedup_ttl_hours":-1})"), "dedup_ttl_hours:");
  ExpectInvalid(Consumer(R"({"url":"http://x","format":"xml"})"),
                "format: must be one of eragon, cloudevents");
  ExpectInvalid(Consumer(R"({"url":"http://x","secret":"hunter2"})"), "secret: must be \"whsec_\"");
  ExpectInvalid(Consumer(R"({"url":"http://x","secret":"whsec_"})"), "secret:");
  ExpectInvalid(Consumer(R"({"url":"http://x","secret":"whsec_not base64!"})"), "secret:");
  ExpectInvalid(Consumer(R"({"url":"http://x","start":"middle"})"),
                "start: must be one of latest, earliest");
  ExpectInvalid(Consumer(R"({"url":"http://x","enabled":1})"), "enabled: must be true or false");
  ExpectInvalid(Consumer(R"({"url":"http://x","headers":[]})"),
                "headers: must be an object of strings");
  ExpectInvalid(Consumer(R"({"url":"http://x","headers":{"X-A":1}})"),
                "headers.X-A: must be a string");
  ExpectInvalid(Consumer(R"({"url":"http://x","headers":{"Bad Name":"v"}})"), "headers.Bad Name:");
  ExpectInvalid(Consumer(R"({"url":"http://x","headers":{"X-A":"a\r\nInjected: yes"}})"),
                "headers.X-A:");
  ExpectInvalid(Consumer(R"({"url":"http://x","headers":{"Content-Length":"5"}})"),
                "headers.Content-Length:");
  ExpectInvalid(Consumer(R"({"url":"http://x","headers":{"eragon-event-id":"x"}})"),
                "headers.eragon-event-id:");
  ExpectInvalid(Consumer(R"({"url":"http://x","headers":{"Webhook-Signature":"x"}})"),
                "headers.Webhook-Signature:");
  ExpectInvalid(Consumer(R"({"url":"http://x","consumer":"someone-else"})"),
                "consumer: does not match");
  ExpectInvalid(ParseConsumerRoute("{}", "order_created", "Bad_Name").status(),
                "consumer: must match");
  ExpectInvalid(ParseConsumerRoute("{}", "", "c").status(), "event_type: must match");
  EXPECT_EQ(Consumer(R"({"url":"http://x","retry":{"max_attempts":[1,,2]}})").code(),
            Code::kInvalidJson);
}

TEST(RouteCodec, ServiceRoles) {
  Result<std::vector<std::string>> r =
      ParseServiceRoles(R"({"roles":["producer","admin","producer"]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"admin", "producer"}));
  ExpectInvalid(ParseServiceRoles(R"({})").status(), "roles: required");
  ExpectInvalid(ParseServiceRoles(R"({"roles":"admin"})").status(), "roles: must be an array");
  ExpectInvalid(ParseServiceRoles(R"({"roles":[]})").status(), "roles: must hold at least one");
  ExpectInvalid(ParseServiceRoles(R"({"roles":["root"]})").status(),
                "roles: each role must be one of");
  ExpectInvalid(ParseServiceRoles(R"({"roles":[1]})").status(), "roles:");
  EXPECT_EQ(ParseServiceRoles(R"({"roles":[)").status().code(), Code::kInvalidJson);
}

TEST(RouteCodec, ProducerEchoHasEveryField) {
  ProducerRoute r;
  r.event_type = "order_created";
  r.producer = "order-service";
  r.topic = "orders";
  r.ordered = true;
  r.created_at = 5;
  r.updated_at = 6;
  EXPECT_EQ(ProducerRouteToJson(r),
            R"({"event_type":"order_created","producer":"order-service","channel":"embedded",)"
            R"("topic":"orders","ordered":true,"partitions":8,"created_at":5,"updated_at":6})");
}

TEST(RouteCodec, ConsumerEchoHidesSecretAndHeaderValues) {
  ConsumerRoute r;
  r.event_type = "order_created";
  r.consumer = "payment-service";
  r.url = "https://payments.internal/events";
  r.headers = {{"Authorization", "Bearer s3cr3t"}, {"X-Team", "payments"}};
  r.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  std::string json = ConsumerRouteToJson(r);
  EXPECT_EQ(json.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(json.find("whsec_"), std::string::npos);
  EXPECT_EQ(json.find("payments\""), std::string::npos);
  EXPECT_EQ(json,
            R"({"event_type":"order_created","consumer":"payment-service","type":"http",)"
            R"("url":"https://payments.internal/events","timeout_ms":5000,)"
            R"("headers":{"Authorization":"***","X-Team":"***"},"max_in_flight":64,)"
            R"("rate_limit_per_s":0,"retry":{"max_attempts":12,"initial_backoff_ms":500,)"
            R"("max_backoff_ms":3600000},"dedup":"none","dedup_ttl_hours":0,"format":"eragon",)"
            R"("has_secret":true,"start":"latest","enabled":true,"created_at":0,"updated_at":0})");
  // The echo parses back (what a client may PUT again), minus what it hides.
  Result<ConsumerRoute> back = ParseConsumerRoute(json, r.event_type, r.consumer);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->url, r.url);
  EXPECT_EQ(back->secret, "");
  r.secret.clear();
  EXPECT_EQ(ConsumerRouteToJson(r).find("\"has_secret\":false") != std::string::npos, true);
}

TEST(RouteCodec, EveryRouteEnumNameParsesBackToItsValue) {
  auto round_trip = [](auto first, int count) {
    using E = decltype(first);
    for (int i = 0; i < count; ++i) {
      const E value = static_cast<E>(i);
      E back = static_cast<E>(count);  // not a value of the enum
      ASSERT_TRUE(ParseRouteEnum(RouteEnumName(value), &back)) << RouteEnumName(value);
      EXPECT_EQ(back, value);
    }
    EXPECT_EQ(RouteEnumName(static_cast<E>(count)), "?");
    E untouched = first;
    EXPECT_FALSE(ParseRouteEnum("HTTP", &untouched));  // names are exact, lower case
    EXPECT_EQ(untouched, first);
  };
  round_trip(ChannelKind::kEmbedded, 2);
  round_trip(DeliveryType::kHttp, 3);
  round_trip(DedupMode::kNone, 3);
  round_trip(PushFormat::kEragon, 2);
  round_trip(StartAt::kLatest, 2);
  EXPECT_EQ(RouteEnumName(DedupMode::kEntityEvent), "entity_event");
  EXPECT_EQ(RouteEnumName(PushFormat::kCloudEvents), "cloudevents");
}

TEST(RouteCodec, ConsumerFilterIsCompiledAndEchoed) {
  Result<ConsumerRoute> r = ParseConsumerRoute(
      R"({"type":"pull","filter":{"data.total": [{"numeric": [">=", 100]}],
          "data": {"city": ["jakarta"]}}})",
      "order_created", "payment-service");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->filter, R"({"data.total":[{"numeric":[">=",100]}],"data":{"city":["jakarta"]}})");
  EXPECT_NE(ConsumerRouteToJson(*r).find(R"("filter":{"data.total")"), std::string::npos);
  Result<ConsumerRoute> none = ParseConsumerRoute(R"({"type":"pull"})", "t", "c");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->filter, "");
  EXPECT_EQ(ConsumerRouteToJson(*none).find("filter"), std::string::npos);
}

TEST(RouteCodec, BadFilterIsInvalidFieldNamingFilter) {
  ExpectInvalid(Consumer(R"({"type":"pull","filter":[1]})"), "filter: must be an object");
  ExpectInvalid(Consumer(R"({"type":"pull","filter":{}})"), "filter: must name");
  ExpectInvalid(Consumer(R"({"type":"pull","filter":{"data.x":[{"numeric":["~",1]}]}})"),
                "filter: data.x: numeric");
  ExpectInvalid(Consumer(R"({"type":"pull","filter":{"colour":["red"]}})"), "filter: colour");
}

TEST(RouteCodec, RetryScheduleSetsMaxAttemptsAndIsEchoed) {
  Result<ConsumerRoute> r =
      ParseConsumerRoute(R"({"type":"pull","retry":{"schedule_ms":[1000,5000,60000]}})", "t", "c");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->retry.schedule_ms, (std::vector<int64_t>{1000, 5000, 60000}));
  EXPECT_EQ(r->retry.max_attempts, 4u);
  EXPECT_NE(ConsumerRouteToJson(*r).find(R"("schedule_ms":[1000,5000,60000])"), std::string::npos);
  Result<ConsumerRoute> agree = ParseConsumerRoute(
      R"({"type":"pull","retry":{"schedule_ms":[0],"max_attempts":2}})", "t", "c");
  ASSERT_TRUE(agree.ok()) << agree.status().ToString();
  EXPECT_EQ(agree->retry.max_attempts, 2u);
}

TEST(RouteCodec, BadRetryScheduleRejections) {
  ExpectInvalid(Consumer(R"({"type":"pull","retry":{"schedule_ms":[]}})"), "retry.schedule_ms:");
  ExpectInvalid(Consumer(R"({"type":"pull","retry":{"schedule_ms":5}})"), "retry.schedule_ms:");
  ExpectInvalid(Consumer(R"({"type":"pull","retry":{"schedule_ms":[-1]}})"), "retry.schedule_ms:");
  ExpectInvalid(Consumer(R"({"type":"pull","retry":{"schedule_ms":[1.5]}})"), "retry.schedule_ms:");
  ExpectInvalid(Consumer(R"({"type":"pull","retry":{"schedule_ms":["1s"]}})"),
                "retry.schedule_ms:");
  ExpectInvalid(Consumer(R"({"type":"pull","retry":{"schedule_ms":[1,2],"max_attempts":5}})"),
                "retry.max_attempts: must be retry.schedule_ms's length + 1 (3)");
}

TEST(RouteCodec, SecretOverlapIsParsedAndEchoedWithThePreviousSecretsEnd) {
  Result<ConsumerRoute> r =
      ParseConsumerRoute(R"({"url":"http://h/x","secret_overlap_ms":60000})", "t", "c");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->secret_overlap_ms, 60000);
  EXPECT_TRUE(r->previous_secret.empty());  // only the server sets it
  r->previous_secret = "whsec_c2VjcmV0LW9mLXNvbWVib2R5LWVsc2U=";
  r->previous_secret_until = 1234;
  const std::string json = ConsumerRouteToJson(*r);
  EXPECT_NE(json.find(R"("secret_overlap_ms":60000,"previous_secret_until":1234)"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("whsec_"), std::string::npos) << "no secret in the echo";
  ExpectInvalid(Consumer(R"({"url":"http://h/x","secret_overlap_ms":-1})"), "secret_overlap_ms:");
  ExpectInvalid(Consumer(R"({"url":"http://h/x","secret_overlap_ms":"1d"})"), "secret_overlap_ms:");
}

}  // namespace
}  // namespace eragon::config
