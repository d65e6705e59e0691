// The event: the unit Eragon stores and delivers (API.md "The event").
#pragma once

#include <cstdint>
#include <string>

namespace eragon {

struct Event {
  std::string id;           // ^[A-Za-z0-9._:-]{1,128}$; server assigns a UUIDv7 when absent
  std::string event_type;   // ^[a-z0-9][a-z0-9_.-]{0,127}$
  std::string entity_id;    // 1..256 bytes of UTF-8, no control characters
  std::string producer;     // the owning service; set by the server
  int64_t occurred_at = 0;  // ms since the Unix epoch; defaults to ingest time
  std::string data;         // the `data` JSON value, byte-for-byte as published (validated)
  std::string traceparent;  // W3C traceparent header from the publish, or empty

  bool operator==(const Event&) const = default;
};

}  // namespace eragon
