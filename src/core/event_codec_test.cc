#include "core/event_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace eragon {
namespace {

Result<ParsedPublish> Parse(std::string_view body, std::string_view ct = "application/json") {
  return ParsePublishBody(body, ct);
}

// The data value of a single-event body.
std::string DataOf(const std::string& data_text) {
  std::string body = R"({"event_type":"t","entity_id":"e","data":)" + data_text + "}";
  Result<ParsedPublish> r = Parse(body);
  EXPECT_TRUE(r.ok()) << body << " -> " << r.status().ToString();
  return r.ok() ? r->events[0].data : "";
}

TEST(EventCodec, ParsesASingleEvent) {
  Result<ParsedPublish> r = Parse(R"({
    "id": "01938f6e-8a1c-7cc2-9a53-5d0c2b7f7e10", "event_type": "order_created",
    "entity_id": "b093b94f", "producer": "someone-else", "occurred_at": 1543309287000,
    "data": { "order": { "id": 30, "status": "created" } }, "extra": [1,2] })");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_FALSE(r->batch);
  const Event& e = r->events[0];
  EXPECT_EQ(e.id, "01938f6e-8a1c-7cc2-9a53-5d0c2b7f7e10");
  EXPECT_EQ(e.event_type, "order_created");
  EXPECT_EQ(e.entity_id, "b093b94f");
  EXPECT_EQ(e.producer, "");  // ignored: the server sets it
  EXPECT_EQ(e.occurred_at, 1543309287000);
  EXPECT_EQ(e.data, R"({ "order": { "id": 30, "status": "created" } })");
}

TEST(EventCodec, AbsentIdAndOccurredAtStayEmpty) {
  Result<ParsedPublish> r = Parse(R"({"event_type":"t","entity_id":"e","data":null})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events[0].id, "");
  EXPECT_EQ(r->events[0].occurred_at, 0);
  EXPECT_EQ(r->events[0].data, "null");
}

TEST(EventCodec, DataIsKeptByteForByte) {
  for (std::string data : {
           std::string("{ \"a\" :\t[ 1 ,\n 2 ] }"),
           std::string("\"\\u00e9\\ud83c\\udf89\\n\\\"\""),
           std::string("1e400"),
           std::string("12345678901234567890"),
           std::string("123456789012345678901234567890"),
           std::string("[-1e400, 1E+999, 1e-400, -123456789012345678901234567890.5e1]"),
           std::string("-0.000000000000000000000000001"),
           std::string("{\"deep\":{\"deeper\":[[[{\"x\":\"}]\"}]]]}}"),
           std::string("\"Zürich 日本\""),
           std::string("[]"),
           std::string("true"),
       }) {
    EXPECT_EQ(DataOf(data), data);
    EXPECT_EQ(DataOf("  \n" + data + " \r\n\t"), data) << "surrounding whitespace is trimmed";
  }
}

TEST(EventCodec, InvalidJsonIsInvalidJson) {
  for (const char* bad :
       {"{\"event_type\":\"t\",\"entity_id\":\"e\",\"data\":{\"x\":tru}}",
        "{\"event_type\":\"t\",\"entity_id\":\"e\",\"data\":[1,,2]}",
        "{\"event_type\":\"t\",\"entity_id\":\"e\",\"data\":01}",
        "{\"event_type\":\"t\",\"entity_id\":\"e\",\"data\":1} trailing",
        "{\"event_type\":\"t\",\"entity_id\":\"e\",\"data\":{",
        "{\"event_type\":\"t\",\"entity_id\":\"e\",\"data\":\"\xff\"}", "", "not json"}) {
    EXPECT_EQ(Parse(bad).status().code(), Code::kInvalidJson) << bad;
  }
  std::string deep = "{\"event_type\":\"t\",\"entity_id\":\"e\",\"data\":" + std::string(100, '[') +
                     std::string(100, ']') + "}";
  Status st = Parse(deep).status();
  EXPECT_EQ(st.code(), Code::kInvalidJson);
  EXPECT_NE(st.message().find("nested deeper than 64 levels"), std::string::npos);
}

void ExpectInvalidField(std::string_view body, std::string_view field_prefix) {
  Status st = Parse(body).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument) << body << " -> " << st.ToString();
  EXPECT_EQ(st.message().rfind(field_prefix, 0), 0u) << body << " -> " << st.message();
}

TEST(EventCodec, MissingAndWrongFieldsNameTheField) {
  ExpectInvalidField(R"({"entity_id":"e","data":1})", "event_type: required");
  ExpectInvalidField(R"({"event_type":"t","data":1})", "entity_id: required");
  ExpectInvalidField(R"({"event_type":"t","entity_id":"e"})", "data: required");
  ExpectInvalidField(R"({"event_type":7,"entity_id":"e","data":1})",
                     "event_type: must be a string");
  ExpectInvalidField(R"({"event_type":"Bad","entity_id":"e","data":1})", "event_type: must match");
  ExpectInvalidField(R"({"event_type":"t","entity_id":"","data":1})", "entity_id: must be 1..256");
  ExpectInvalidField(R"({"event_type":"t","entity_id":"a\u0000b","data":1})", "entity_id:");
  ExpectInvalidField(R"({"event_type":"t","entity_id":"a\u007f","data":1})", "entity_id:");
  ExpectInvalidField(R"({"event_type":"t","entity_id":"a\u0085","data":1})", "entity_id:");
  ExpectInvalidField(R"({"event_type":"t","entity_id":["e"],"data":1})",
                     "entity_id: must be a string");
  ExpectInvalidField(R"({"id":"a b","event_type":"t","entity_id":"e","data":1})", "id: must match");
  ExpectInvalidField(R"({"id":"","event_type":"t","entity_id":"e","data":1})", "id: must match");
  ExpectInvalidField(R"({"id":5,"event_type":"t","entity_id":"e","data":1})",
                     "id: must be a string");
  ExpectInvalidField(R"({"occurred_at":1.5,"event_type":"t","entity_id":"e","data":1})",
                     "occurred_at:");
  ExpectInvalidField(R"({"occurred_at":"1","event_type":"t","entity_id":"e","data":1})",
                     "occurred_at:");
  ExpectInvalidField(R"({"occurred_at":-1,"event_type":"t","entity_id":"e","data":1})",
                     "occurred_at:");
  ExpectInvalidField(
      R"({"occurred_at":18446744073709551615,"event_type":"t","entity_id":"e","data":1})",
      "occurred_at:");
  ExpectInvalidField(R"({"event_type":"t","event_type":"u","entity_id":"e","data":1})",
                     "event_type: appears more than once");
  ExpectInvalidField(R"([{"event_type":"t","entity_id":"e","data":1}])",
                     "body: must be a JSON object");
  ExpectInvalidField(R"("str")", "body:");
}

TEST(EventCodec, OutOfRangeOccurredAtIsInvalidNotZero) {
  ExpectInvalidField(R"({"occurred_at":1e400,"event_type":"t","entity_id":"e","data":1})",
                     "occurred_at:");
  ExpectInvalidField(
      R"({"occurred_at":123456789012345678901234567890,"event_type":"t","entity_id":"e","data":1})",
      "occurred_at:");
}

TEST(EventCodec, EntityIdMayUseUnicodeEscapes) {
  Result<ParsedPublish> r = Parse(R"({"event_type":"t","entity_id":"Z\u00fcrich","data":1})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events[0].entity_id, "Zürich");
}

std::string Batch(int n,
                  const std::string& event = R"({"event_type":"t","entity_id":"e","data":1})") {
  std::string body = "{\"events\":[";
  for (int i = 0; i < n; ++i) body += (i ? "," : "") + event;
  return body + "]}";
}

TEST(EventCodec, ParsesABatch) {
  Result<ParsedPublish> r = Parse(R"({"events":[
      {"event_type":"a","entity_id":"1","data":{"k": 1}},
      {"event_type":"b","entity_id":"2","data":[ 2 ],"id":"x:1"}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->batch);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(r->events[0].data, "{\"k\": 1}");
  EXPECT_EQ(r->events[1].data, "[ 2 ]");
  EXPECT_EQ(r->events[1].id, "x:1");
}

TEST(EventCodec, BatchLimits) {
  EXPECT_TRUE(Parse(Batch(1000)).ok());
  EXPECT_EQ(Parse(Batch(1001)).status().code(), Code::kTooLarge);
  ExpectInvalidField(Batch(0), "events: must hold 1..1000 events");
  ExpectInvalidField(R"({"events":{}})", "events: must be an array");
  // 413 wins over 400 (API.md): an over-long batch with a bad event is still too large.
  EXPECT_EQ(Parse(Batch(1001, R"({"event_type":"BAD","entity_id":"e","data":1})")).status().code(),
            Code::kTooLarge);
}

TEST(EventCodec, BatchErrorsNameTheEventIndex) {
  std::string body = R"({"events":[{"event_type":"t","entity_id":"e","data":1},)"
                     R"({"event_type":"t","entity_id":"e","data":1},)"
                     R"({"event_type":"t","entity_id":"e","data":1},)"
                     R"({"event_type":"t","entity_id":"","data":1}]})";
  Status st = Parse(body).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "events[3].entity_id: must be 1..256 bytes of UTF-8 without control characters");
  ExpectInvalidField(R"({"events":[{"event_type":"t","entity_id":"e","data":1}, 5]})",
                     "events[1]: must be a JSON object");
}

TEST(EventCodec, EventOverOneMebibyteIsTooLarge) {
  const std::string big(1 << 20, 'x');
  std::string body = R"({"event_type":"t","entity_id":"e","data":")" + big + "\"}";
  EXPECT_EQ(Parse(body).status().code(), Code::kTooLarge);
  std::string ok_body =
      R"({"event_type":"t","entity_id":"e","data":")" + std::string((1 << 20) - 100, 'x') + "\"}";
  EXPECT_TRUE(Parse(ok_body).ok());
  EXPECT_EQ(Parse(Batch(1, R"({"event_type":"t","entity_id":"e","data":")" + big + "\"}"))
                .status()
                .code(),
            Code::kTooLarge);
  PublishLimits small;
  small.max_body_bytes = 10;
  EXPECT_EQ(ParsePublishBody(Batch(1), "application/json", small).status().code(), Code::kTooLarge);
}

TEST(EventCodec, CloudEventsStructuredMapsFields) {
  Result<ParsedPublish> r = Parse(R"({"specversion":"1.0","type":"order_created","source":"/orders",
      "subject":"o-17","id":"ce-1","time":"2018-11-27T09:01:27.5Z","datacontenttype":"application/json",
      "data": {"total": 12.50},
      "traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})",
                                  "application/cloudevents+json; charset=utf-8");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->events.size(), 1u);
  const Event& e = r->events[0];
  EXPECT_EQ(e.event_type, "order_created");
  EXPECT_EQ(e.entity_id, "o-17");
  EXPECT_EQ(e.id, "ce-1");
  EXPECT_EQ(e.occurred_at, 1543309287500);
  EXPECT_EQ(e.data, "{\"total\": 12.50}");
  EXPECT_EQ(e.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

TEST(EventCodec, CloudEventsValidation) {
  auto ce = [](std::string_view body) {
    return ParsePublishBody(body, "Application/CloudEvents+JSON").status();
  };
  EXPECT_EQ(ce(R"({"specversion":"0.3","type":"t","subject":"s","data":1})").message(),
            "specversion: must be \"1.0\"");
  EXPECT_EQ(ce(R"({"type":"t","subject":"s","data":1})").message(),
            "specversion: required (\"1.0\")");
  EXPECT_EQ(ce(R"({"specversion":"1.0","subject":"s"})").message(), "type: required");
  EXPECT_EQ(ce(R"({"specversion":"1.0","type":"t"})").message().rfind("subject: required", 0), 0u);
  EXPECT_EQ(ce(R"({"specversion":"1.0","type":"t","subject":"s","time":"yesterday"})")
                .message()
                .rfind("time:", 0),
            0u);
  EXPECT_EQ(ce(R"({"specversion":"1.0","type":"t","subject":"s","data_base64":"AA=="})").code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ce(R"({"specversion":"1.0","type":"t","subject":"s","data":tru})").code(),
            Code::kInvalidJson);
  Result<ParsedPublish> no_data = ParsePublishBody(
      R"({"specversion":"1.0","type":"t","subject":"s"})", "application/cloudevents+json");
  ASSERT_TRUE(no_data.ok());
  EXPECT_EQ(no_data->events[0].data, "null");
}

TEST(EventCodec, CloudEventsBatch) {
  Result<ParsedPublish> r = ParsePublishBody(
      R"([{"specversion":"1.0","type":"a","subject":"1","data":1},
          {"specversion":"1.0","type":"b","subject":"2","data":"two"}])",
      "application/cloudevents-batch+json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->batch);
  ASSERT_EQ(r->events.size(), 2u);
  EXPECT_EQ(r->events[1].data, "\"two\"");
  Status st = ParsePublishBody(R"([{"specversion":"1.0","type":"a","subject":"1"}, {"type":"b"}])",
                               "application/cloudevents-batch+json")
                  .status();
  EXPECT_EQ(st.message().rfind("[1].specversion", 0), 0u) << st.message();
}

Event SampleEvent() {
  Event e;
  e.id = "01938f6e-8a1c-7cc2-9a53-5d0c2b7f7e10";
  e.event_type = "order_created";
  e.entity_id = "b093b94f \"quoted\" é";
  e.producer = "order-service";
  e.occurred_at = 1543309287000;
  e.data = R"({ "order": { "id": 30 } })";
  return e;
}

TEST(EventCodec, EventToJsonMatchesTheApiShape) {
  Event e = SampleEvent();
  EXPECT_EQ(EventToJson(e),
            R"({"id":"01938f6e-8a1c-7cc2-9a53-5d0c2b7f7e10","event_type":"order_created",)"
            R"("entity_id":"b093b94f \"quoted\" é","producer":"order-service",)"
            R"("occurred_at":1543309287000,"data":{ "order": { "id": 30 } }})");
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  std::string json = EventToJson(e);
  EXPECT_NE(json.find(R"(,"traceparent":"00-4bf92f)"), std::string::npos);
  // What we write parses back to the same event (producer aside, which input ignores).
  Result<ParsedPublish> back = Parse(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->events[0].data, e.data);
  EXPECT_EQ(back->events[0].entity_id, e.entity_id);
}

TEST(EventCodec, CloudEventToJsonMatchesTheSpecShape) {
  Event e = SampleEvent();
  EXPECT_EQ(CloudEventToJson(e),
            R"({"specversion":"1.0","id":"01938f6e-8a1c-7cc2-9a53-5d0c2b7f7e10",)"
            R"("source":"/eragon/order-service","type":"order_created",)"
            R"("subject":"b093b94f \"quoted\" é","time":"2018-11-27T09:01:27.000Z",)"
            R"("datacontenttype":"application/json","data":{ "order": { "id": 30 } }})");
  Result<ParsedPublish> back =
      ParsePublishBody(CloudEventToJson(e), "application/cloudevents+json");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->events[0].occurred_at, e.occurred_at);
  EXPECT_EQ(back->events[0].id, e.id);
}

TEST(EventCodec, RecordRoundTrip) {
  Event e = SampleEvent();
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  for (int64_t t : {int64_t{0}, int64_t{-1}, int64_t{1543309287000}, INT64_MAX, INT64_MIN}) {
    e.occurred_at = t;
    std::string rec = "prefix";
    EncodeEventRecord(e, &rec);
    Result<Event> back = DecodeEventRecord(std::string_view(rec).substr(6));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, e);
  }
  Event empty;
  std::string rec;
  EncodeEventRecord(empty, &rec);
  EXPECT_EQ(DecodeEventRecord(rec).value(), empty);
}

TEST(EventCodec, CorruptRecordsAreCorruptionNeverACrash) {
  Event e = SampleEvent();
  std::string rec;
  EncodeEventRecord(e, &rec);
  EXPECT_EQ(DecodeEventRecord("").status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeEventRecord(std::string("\x02", 1) + rec.substr(1)).status().code(),
            Code::kCorruption);
  for (size_t n = 0; n < rec.size(); ++n) {
    EXPECT_EQ(DecodeEventRecord(std::string_view(rec).substr(0, n)).status().code(),
              Code::kCorruption)
        << "truncated to " << n;
  }
  EXPECT_EQ(DecodeEventRecord(rec + "x").status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeEventRecord(std::string("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12))
                .status()
                .code(),
            Code::kCorruption);
  // Random bit flips and random bytes: decoding either fails cleanly or yields an event.
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = rec;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      mutated[rng() % mutated.size()] ^= static_cast<char>(1 << (rng() % 8));
    Result<Event> r = DecodeEventRecord(mutated);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kCorruption);
    }
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    Result<Event> j = DecodeEventRecord(junk);
    if (!j.ok()) {
      EXPECT_EQ(j.status().code(), Code::kCorruption);
    }
  }
}

}  // namespace
}  // namespace eragon
