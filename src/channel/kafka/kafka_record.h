// An Eragon event as one Kafka record (API.md "Channels: Kafka"): key = entity id,
// value = the event as JSON (the `eragon` push body), headers eragon-event-id,
// eragon-event-type, eragon-producer and traceparent when present. Above the seam a
// record's payload is the binary event record of core/event_codec.h; the Kafka topic
// converts on the way in and out.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>

#include "eragon/event.h"
#include "eragon/status.h"

namespace eragon::channel::kafka {

// The record value for `event`.
std::string KafkaValueOf(const Event& event);

// The headers to produce with `event` (the caller owns the result: it is handed to
// rd_kafka_producev with RD_KAFKA_V_HEADERS, which takes it over on success).
rd_kafka_headers_t* KafkaHeadersOf(const Event& event);

// The event a Kafka record holds. The value must be a JSON object with at least
// event_type and entity_id (the key stands in for a missing entity_id); `data` is kept
// byte-for-byte. A record without `id` (written by another producer) gets
// "kafka-<partition>-<offset>", without occurred_at the record's timestamp.
// kCorruption when the value is not such an object.
Result<Event> EventOfKafkaRecord(const rd_kafka_message_t& msg);

}  // namespace eragon::channel::kafka
