// The publish body codec (core/event_codec.h): the first byte picks the content type
// (Eragon JSON, CloudEvents, CloudEvents batch), the rest is the body. Whatever parses
// must survive the JSON, CloudEvents and binary record round trips.
#include <cstddef>
#include <cstdint>

#include "core/event_codec.h"
#include "fuzz/fuzz_util.h"

using eragon::fuzz::AsView;
using eragon::fuzz::Check;

namespace {

constexpr std::string_view kTypes[] = {"application/json", "application/cloudevents+json",
                                       "application/cloudevents-batch+json",
                                       "application/json; charset=utf-8"};

void CheckRoundTrips(const eragon::Event& e) {
  std::string record;
  eragon::EncodeEventRecord(e, &record);
  auto back = eragon::DecodeEventRecord(record);
  Check(back.ok(), "an encoded record decodes");
  Check(back->id == e.id && back->event_type == e.event_type && back->entity_id == e.entity_id &&
            back->data == e.data && back->occurred_at == e.occurred_at &&
            back->traceparent == e.traceparent,
        "record round trip keeps every field");
  // Ids and timestamps are filled by the server before an event is written out.
  eragon::Event full = e;
  if (full.id.empty()) full.id = "fuzz-id";
  std::string json = eragon::EventToJson(full);
  std::string ce = eragon::CloudEventToJson(full);
  Check(!json.empty() && !ce.empty(), "events serialize");
  auto again = eragon::ParsePublishBody(json);
  Check(again.ok(), "EventToJson output is a valid publish body");
  Check(again->events.size() == 1 && again->events[0].data == full.data,
        "EventToJson round trip keeps data");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view type = kTypes[data[0] % std::size(kTypes)];
  std::string_view body = AsView(data + 1, size - 1);
  eragon::PublishLimits limits;
  limits.max_batch_events = 16;
  limits.max_event_bytes = 4096;
  auto parsed = eragon::ParsePublishBody(body, type, limits);
  if (!parsed.ok()) return 0;
  Check(!parsed->events.empty() || parsed->batch, "a single event parses to one event");
  Check(parsed->events.size() <= limits.max_batch_events, "batch limit holds");
  for (const eragon::Event& e : parsed->events) CheckRoundTrips(e);
  // The stored record format, from arbitrary bytes too.
  (void)eragon::DecodeEventRecord(body);
  return 0;
}
