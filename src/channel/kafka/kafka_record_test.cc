// The Kafka record layout of an event (value = the event's JSON, data byte-for-byte) and
// how records other producers wrote are read.
#include "channel/kafka/kafka_record.h"

#include <gtest/gtest.h>

#include <cstring>

namespace eragon::channel::kafka {
namespace {

rd_kafka_message_t Message(const std::string& value, const std::string& key = "",
                           int64_t offset = 7) {
  rd_kafka_message_t m;
  std::memset(&m, 0, sizeof(m));
  m.payload = const_cast<char*>(value.data());
  m.len = value.size();
  m.key = key.empty() ? nullptr : const_cast<char*>(key.data());
  m.key_len = key.size();
  m.partition = 3;
  m.offset = offset;
  return m;
}

Event Sample() {
  Event e;
  e.id = "evt-1";
  e.event_type = "order_created";
  e.entity_id = "b093-\xc3\xa9";
  e.producer = "order-service";
  e.occurred_at = 1543309287000;
  e.data = R"({ "order" : {"id": 30, "total": 1e2 } })";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  return e;
}

TEST(KafkaRecordTest, EventRoundTripsThroughTheRecordValueWithDataByteForByte) {
  const Event e = Sample();
  const std::string value = KafkaValueOf(e);
  rd_kafka_message_t m = Message(value);
  Result<Event> back = EventOfKafkaRecord(m);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, e);
}

TEST(KafkaRecordTest, ValueIsTheEventAsJson) {
  const std::string value = KafkaValueOf(Sample());
  EXPECT_EQ(value.front(), '{');
  EXPECT_NE(value.find(R"("event_type":"order_created")"), std::string::npos);
  EXPECT_NE(value.find(R"("data":{ "order" : {"id": 30, "total": 1e2 } })"), std::string::npos);
}

TEST(KafkaRecordTest, HeadersNameTheEvent) {
  rd_kafka_headers_t* h = KafkaHeadersOf(Sample());
  const void* v = nullptr;
  size_t n = 0;
  ASSERT_EQ(rd_kafka_header_get_last(h, "eragon-event-id", &v, &n), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(std::string(static_cast<const char*>(v), n), "evt-1");
  ASSERT_EQ(rd_kafka_header_get_last(h, "eragon-event-type", &v, &n), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(std::string(static_cast<const char*>(v), n), "order_created");
  ASSERT_EQ(rd_kafka_header_get_last(h, "eragon-producer", &v, &n), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(std::string(static_cast<const char*>(v), n), "order-service");
  ASSERT_EQ(rd_kafka_header_get_last(h, "traceparent", &v, &n), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_headers_destroy(h);
}

TEST(KafkaRecordTest, ForeignRecordGetsIdFromPositionAndEntityFromKey) {
  const std::string value = R"({"event_type":"order_paid","data":[1,2]})";
  const std::string key = "order-9";
  rd_kafka_message_t m = Message(value, key, 42);
  Result<Event> e = EventOfKafkaRecord(m);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->id, "kafka-3-42");
  EXPECT_EQ(e->entity_id, "order-9");
  EXPECT_EQ(e->data, "[1,2]");
}

TEST(KafkaRecordTest, RecordsThatAreNotEventsAreCorruption) {
  for (const std::string value :
       {"", "not json", "[1,2]", R"({"entity_id":"x"})", R"({"event_type":5,"entity_id":"x"})",
        R"({"event_type":"a","entity_id":"x","occurred_at":"soon"})"}) {
    rd_kafka_message_t m = Message(value);
    Result<Event> e = EventOfKafkaRecord(m);
    ASSERT_FALSE(e.ok()) << value;
    EXPECT_EQ(e.status().code(), Code::kCorruption) << value;
  }
}

}  // namespace
}  // namespace eragon::channel::kafka
