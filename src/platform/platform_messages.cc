#include "platform/platform_messages.h"

#include <string>

#include "core/json.h"

namespace eragon::platform {

namespace {

std::string KeyOf(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (std::string_view p : parts) {
    if (!key.empty()) key.push_back('/');
    key += p;
  }
  return key;
}

}  // namespace

PlatformEvent DeadLettered(const DeadLetterFacts& f) {
  PlatformEvent e;
  e.event_type = std::string(kDeadLettered);
  e.entity_id = std::string(f.consumer);
  JsonWriter w(&e.data);
  w.BeginObject();
  w.Key("consumer").String(f.consumer);
  w.Key("event_id").String(f.event_id);
  w.Key("event_type").String(f.event_type);
  w.Key("producer").String(f.producer);
  w.Key("entity_id").String(f.entity_id);
  w.Key("topic").String(f.topic);
  w.Key("attempts").Uint(f.attempts);
  w.Key("last_status").Int(f.last_status);
  w.Key("last_error").String(f.last_error);
  w.Key("dead_at").Int(f.dead_at);
  w.EndObject();
  e.key = KeyOf({f.consumer, f.event_type, f.producer, f.event_id, std::to_string(f.dead_at)});
  e.occurred_at = f.dead_at;
  return e;
}

PlatformEvent CircuitChanged(bool open, std::string_view consumer, std::string_view topic,
                             int64_t at_ms, std::string_view last_error) {
  PlatformEvent e;
  e.event_type = std::string(open ? kCircuitOpened : kCircuitClosed);
  e.entity_id = std::string(consumer);
  JsonWriter w(&e.data);
  w.BeginObject();
  w.Key("consumer").String(consumer);
  w.Key("topic").String(topic);
  w.Key("state").String(open ? "open" : "closed");
  w.Key("at").Int(at_ms);
  if (open) w.Key("last_error").String(last_error);
  w.EndObject();
  e.key = KeyOf({consumer, topic, std::to_string(at_ms)});
  e.occurred_at = at_ms;
  return e;
}

PlatformEvent ConsumerDisabled(const config::ConsumerRoute& route) {
  PlatformEvent e;
  e.event_type = std::string(kConsumerDisabled);
  e.entity_id = route.consumer;
  JsonWriter w(&e.data);
  w.BeginObject();
  w.Key("consumer").String(route.consumer);
  w.Key("event_type").String(route.event_type);
  w.Key("reason").String(route.disabled_reason);
  w.Key("disabled_at").Int(route.disabled_at);
  w.Key("disable_after_ms").Int(route.disable_after_ms);
  w.EndObject();
  e.key = KeyOf({route.event_type, route.consumer, std::to_string(route.disabled_at)});
  e.occurred_at = route.disabled_at;
  return e;
}

}  // namespace eragon::platform
