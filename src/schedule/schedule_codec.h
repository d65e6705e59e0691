// The JSON body of PUT /v1/schedules/{name} and the echo the schedule endpoints answer
// with (API.md "Schedules").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_store.h"
#include "core/json.h"
#include "eragon/status.h"

namespace eragon::schedule {

// Largest `data` a schedule may carry; well under the default 1 MiB event limit, so a
// stored schedule never fails to publish for its size.
inline constexpr size_t kMaxScheduleDataBytes = 512 * 1024;

// Parses {"event_type", "entity_id", "data", "every" | "cron"}. `name` comes from the path
// (a body field "name", when present, must match it). event_type must be a valid event
// type name, entity_id a valid entity id, data any JSON value (required; kept
// byte-for-byte), and exactly one of every / cron must be given and valid (null counts
// as absent). Unknown fields are ignored, so an echoed schedule can be PUT back.
// Errors: kInvalidJson for a body that is not JSON; kInvalidArgument naming the field.
// last_tick_ms, created_at and updated_at are left 0 for the caller to set.
Result<config::Schedule> ParseSchedule(std::string_view body, std::string name);

// The echo: name, event_type, entity_id, data (raw), every or cron (the one set),
// last_tick_ms, next_tick_ms (the first tick after max(now_ms, last_tick_ms); null when
// none), created_at, updated_at.
void ScheduleToJson(const config::Schedule& schedule, int64_t now_ms, JsonWriter& w);
std::string ScheduleToJson(const config::Schedule& schedule, int64_t now_ms);

}  // namespace eragon::schedule
