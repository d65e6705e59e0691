#include "config/route_codec.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/hash.h"
#include "core/names.h"
#include "core/push_url.h"
#include "filter/filter.h"

namespace eragon::config {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

template <typename E>
struct EnumNames;
template <>
struct EnumNames<ChannelKind> {
  static constexpr std::string_view kNames[] = {"embedded", "kafka"};
};
template <>
struct EnumNames<DeliveryType> {
  static constexpr std::string_view kNames[] = {"http", "pull", "kafka"};
};
template <>
struct EnumNames<DedupMode> {
  static constexpr std::string_view kNames[] = {"none", "entity_event", "event_id"};
};
template <>
struct EnumNames<PushFormat> {
  static constexpr std::string_view kNames[] = {"eragon", "cloudevents"};
};
template <>
struct EnumNames<StartAt> {
  static constexpr std::string_view kNames[] = {"latest", "earliest"};
};

// Typed, optional reads from one JSON object; messages start with prefix + field name.
class Fields {
 public:
  Fields(simdjson::dom::object object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  // The value, or nullopt when absent or null.
  std::optional<element> Get(std::string_view key) const {
    element e;
    if (object_.at_key(key).get(e) || e.is_null()) return std::nullopt;
    return e;
  }

  Status Invalid(std::string_view key, std::string_view why) const {
    return Status::InvalidArgument(prefix_ + std::string(key) + ": " + std::string(why));
  }

  Status String(std::string_view key, std::string* out) const {
    std::optional<element> e = Get(key);
    if (!e) return Status::Ok();
    std::string_view s;
    if (e->get_string().get(s)) return Invalid(key, "must be a string");
    *out = s;
    return Status::Ok();
  }

  Status Bool(std::string_view key, bool* out) const {
    std::optional<element> e = Get(key);
    if (!e) return Status::Ok();
    if (e->get_bool().get(*out)) return Invalid(key, "must be true or false");
    return Status::Ok();
  }

  template <typename T>
  Status Int(std::string_view key, int64_t min, int64_t max, T* out) const {
    std::optional<element> e = Get(key);
    if (!e) return Status::Ok();
    int64_t v = 0;
    const bool integer = e->type() == element_type::INT64 || e->type() == element_type::UINT64;
    if (!integer || e->get_int64().get(v) || v < min || v > max) {
      return Invalid(key,
                     "must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
    }
    *out = static_cast<T>(v);
    return Status::Ok();
  }

  // One of the enum's API names (EnumNames); absent or null keeps *out.
  template <typename E>
  Status Enum(std::string_view key, E* out) const {
    std::string v(RouteEnumName(*out));
    ERAGON_RETURN_IF_ERROR(String(key, &v));
    if (!ParseRouteEnum(v, out)) {
      std::string list;
      for (std::string_view a : EnumNames<E>::kNames) {
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      return Invalid(key, "must be one of " + list + " (got \"" + v + "\")");
    }
    return Status::Ok();
  }

  // A body field naming the same object as the path must agree with it.
  Status MatchesPath(std::string_view key, const std::string& from_path) const {
    std::string v = from_path;
    ERAGON_RETURN_IF_ERROR(String(key, &v));
    if (v != from_path) return Invalid(key, "does not match the path (\"" + from_path + "\")");
    return Status::Ok();
  }

 private:
  simdjson::dom::object object_;
  std::string prefix_;
};

Result<simdjson::dom::object> BodyObject(std::string_view body) {
  ERAGON_ASSIGN_OR_RETURN(element root, ParseJson(body));
  simdjson::dom::object object;
  if (root.get_object().get(object)) return Status::InvalidArgument("body: must be a JSON object");
  ERAGON_RETURN_IF_ERROR(CheckUniqueKeys(root));
  return object;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsTchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Status ParseHeaders(const Fields& f, ConsumerRoute* r) {
  std::optional<element> e = f.Get("headers");
  if (!e) return Status::Ok();
  simdjson::dom::object headers;
  if (e->get_object().get(headers)) return f.Invalid("headers", "must be an object of strings");
  for (simdjson::dom::key_value_pair kv : headers) {
    std::string_view value;
    if (kv.value.get_string().get(value)) {
      return f.Invalid("headers." + std::string(kv.key), "must be a string");
    }
    if (Status st = ValidateRouteHeader(kv.key, value); !st.ok()) {
      return f.Invalid("headers." + std::string(kv.key), st.message());
    }
    r->headers[std::string(kv.key)] = value;
  }
  if (r->headers.size() > kMaxHeaders) {
    return f.Invalid("headers", "at most " + std::to_string(kMaxHeaders) + " headers");
  }
  return Status::Ok();
}

// retry.schedule_ms: 1..kMaxRetrySchedule delays; max_attempts follows from it (a
// max_attempts given too must agree).
Status ParseSchedule(const Fields& r, RetryPolicy* retry) {
  std::optional<element> e = r.Get("schedule_ms");
  if (!e) return Status::Ok();
  simdjson::dom::array list;
  const std::string usage = "must be a list of 1 to " + std::to_string(kMaxRetrySchedule) +
                            " delays in ms, each an integer in 0.." + std::to_string(kMaxBackoffMs);
  if (e->get_array().get(list) || list.size() == 0 || list.size() > kMaxRetrySchedule) {
    return r.Invalid("schedule_ms", usage);
  }
  for (element d : list) {
    int64_t ms = 0;
    const bool integer = d.type() == element_type::INT64 || d.type() == element_type::UINT64;
    if (!integer || d.get_int64().get(ms) || ms < 0 || ms > kMaxBackoffMs) {
      return r.Invalid("schedule_ms", usage);
    }
    retry->schedule_ms.push_back(ms);
  }
  const auto implied = static_cast<uint32_t>(list.size() + 1);
  if (r.Get("max_attempts") && retry->max_attempts != implied) {
    return r.Invalid("max_attempts", "must be retry.schedule_ms's length + 1 (" +
                                         std::to_string(implied) + ") when both are given");
  }
  retry->max_attempts = implied;
  return Status::Ok();
}

Status ParseRetry(const Fields& f, RetryPolicy* retry) {
  std::optional<element> e = f.Get("retry");
  if (!e) return Status::Ok();
  simdjson::dom::object object;
  if (e->get_object().get(object)) return f.Invalid("retry", "must be an object");
  Fields r(object, "retry.");
  ERAGON_RETURN_IF_ERROR(r.Int("max_attempts", 1, kMaxAttempts, &retry->max_attempts));
  ERAGON_RETURN_IF_ERROR(ParseSchedule(r, retry));
  ERAGON_RETURN_IF_ERROR(r.Int("initial_backoff_ms", 1, kMaxBackoffMs, &retry->initial_backoff_ms));
  ERAGON_RETURN_IF_ERROR(r.Int("max_backoff_ms", 1, kMaxBackoffMs, &retry->max_backoff_ms));
  if (retry->initial_backoff_ms > retry->max_backoff_ms) {
    return r.Invalid("initial_backoff_ms", "must not exceed retry.max_backoff_ms (" +
                                               std::to_string(retry->max_backoff_ms) + ")");
  }
  return Status::Ok();
}

// "filter": an object compiled by src/filter; stored as its minified text.
Status ParseFilter(const Fields& f, ConsumerRoute* r) {
  std::optional<element> e = f.Get("filter");
  if (!e) return Status::Ok();
  if (!e->is_object()) return f.Invalid("filter", "must be an object (an event pattern)");
  std::string text = simdjson::minify(*e);
  Result<filter::Filter> compiled = filter::Filter::Compile(text);
  if (!compiled.ok()) return f.Invalid("filter", compiled.status().message());
  r->filter = std::move(text);
  return Status::Ok();
}

void WriteMeta(int64_t created_at, int64_t updated_at, JsonWriter& w) {
  w.Key("created_at").Int(created_at);
  w.Key("updated_at").Int(updated_at);
}

// The echo form of a route as a string, from the writer overload `write`.
template <typename Route>
std::string JsonOf(const Route& r, void (*write)(const Route&, JsonWriter&)) {
  std::string out;
  JsonWriter w(&out);
  write(r, w);
  return out;
}

}  // namespace

template <typename E>
std::string_view RouteEnumName(E value) {
  const auto i = static_cast<size_t>(value);
  return i < std::size(EnumNames<E>::kNames) ? EnumNames<E>::kNames[i] : "?";
}

template <typename E>
bool ParseRouteEnum(std::string_view name, E* out) {
  const auto& names = EnumNames<E>::kNames;
  for (size_t i = 0; i < std::size(names); ++i) {
    if (names[i] == name) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

#define ERAGON_ROUTE_ENUM(E)                        \
  template std::string_view RouteEnumName(E value); \
  template bool ParseRouteEnum(std::string_view name, E* out);
ERAGON_ROUTE_ENUM(ChannelKind)
ERAGON_ROUTE_ENUM(DeliveryType)
ERAGON_ROUTE_ENUM(DedupMode)
ERAGON_ROUTE_ENUM(PushFormat)
ERAGON_ROUTE_ENUM(StartAt)
#undef ERAGON_ROUTE_ENUM

bool IsValidWebhookSecret(std::string_view secret) {
  if (!secret.starts_with("whsec_")) return false;
  std::optional<std::string> key = Base64Decode(secret.substr(6));
  return key.has_value() && !key->empty();
}

Status ValidateHttpUrl(std::string_view url) {
  if (url.size() > kMaxUrlBytes) {
    return Status::InvalidArgument("longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  }
  Result<PushUrl> parsed = ParsePushUrl(url);  // its messages never repeat the URL
  return parsed.ok() ? Status::Ok() : parsed.status();
}

Status ValidateRouteHeader(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTchar)) {
    return Status::InvalidArgument("not a valid header name");
  }
  const std::string lower = Lower(name);
  static constexpr std::string_view kReserved[] = {
      "host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade",
      "te",   "trailer",        "keep-alive",   "traceparent",       "tracestate", "expect"};
  if (lower.starts_with("eragon-") || lower.starts_with("webhook-") ||
      std::find(std::begin(kReserved), std::end(kReserved), lower) != std::end(kReserved)) {
    return Status::InvalidArgument("is set by the server and cannot be overridden");
  }
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) {
      return Status::InvalidArgument("value must not contain control characters");
    }
  }
  if (value.size() > 4096) return Status::InvalidArgument("value longer than 4096 bytes");
  return Status::Ok();
}

Result<ProducerRoute> ParseProducerRoute(std::string_view body, std::string event_type) {
  if (!IsValidEventType(event_type)) {
    return Status::InvalidArgument("event_type: must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  }
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::object object, BodyObject(body));
  Fields f(object, "");
  ProducerRoute r;
  r.event_type = std::move(event_type);
  ERAGON_RETURN_IF_ERROR(f.MatchesPath("event_type", r.event_type));
  if (!f.Get("producer")) return f.Invalid("producer", "required (the owning service's name)");
  ERAGON_RETURN_IF_ERROR(f.String("producer", &r.producer));
  if (!IsValidServiceName(r.producer)) {
    return f.Invalid("producer", "must match ^[a-z0-9][a-z0-9-]{0,63}$");
  }
  ERAGON_RETURN_IF_ERROR(f.Enum("channel", &r.channel));
  r.topic = r.event_type;
  ERAGON_RETURN_IF_ERROR(f.String("topic", &r.topic));
  if (!IsValidTopic(r.topic)) return f.Invalid("topic", "must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  ERAGON_RETURN_IF_ERROR(f.Bool("ordered", &r.ordered));
  ERAGON_RETURN_IF_ERROR(f.Int("partitions", 1, kMaxPartitions, &r.partitions));
  return r;
}

Result<ConsumerRoute> ParseConsumerRoute(std::string_view body, std::string event_type,
                                         std::string consumer) {
  if (!IsValidEventType(event_type)) {
    return Status::InvalidArgument("event_type: must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  }
  if (!IsValidServiceName(consumer)) {
    return Status::InvalidArgument("consumer: must match ^[a-z0-9][a-z0-9-]{0,63}$");
  }
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::object object, BodyObject(body));
  Fields f(object, "");
  ConsumerRoute r;
  r.event_type = std::move(event_type);
  r.consumer = std::move(consumer);
  ERAGON_RETURN_IF_ERROR(f.MatchesPath("event_type", r.event_type));
  ERAGON_RETURN_IF_ERROR(f.MatchesPath("consumer", r.consumer));
  ERAGON_RETURN_IF_ERROR(f.Enum("type", &r.type));
  ERAGON_RETURN_IF_ERROR(f.String("url", &r.url));
  if (r.type == DeliveryType::kHttp) {
    if (r.url.empty()) return f.Invalid("url", "required for type http");
    if (Status st = ValidateHttpUrl(r.url); !st.ok()) return f.Invalid("url", st.message());
  } else {
    r.url.clear();
  }
  ERAGON_RETURN_IF_ERROR(f.Int("timeout_ms", 1, kMaxTimeoutMs, &r.timeout_ms));
  ERAGON_RETURN_IF_ERROR(ParseHeaders(f, &r));
  ERAGON_RETURN_IF_ERROR(f.Int("max_in_flight", 1, kMaxInFlight, &r.max_in_flight));
  ERAGON_RETURN_IF_ERROR(f.Int("rate_limit_per_s", 0, kMaxRateLimitPerS, &r.rate_limit_per_s));
  ERAGON_RETURN_IF_ERROR(ParseRetry(f, &r.retry));
  ERAGON_RETURN_IF_ERROR(f.Enum("dedup", &r.dedup));
  ERAGON_RETURN_IF_ERROR(f.Int("dedup_ttl_hours", 0, kMaxDedupTtlHours, &r.dedup_ttl_hours));
  ERAGON_RETURN_IF_ERROR(f.Enum("format", &r.format));
  ERAGON_RETURN_IF_ERROR(f.String("secret", &r.secret));
  if (!r.secret.empty() && !IsValidWebhookSecret(r.secret)) {
    return f.Invalid("secret", "must be \"whsec_\" followed by base64 (Standard Webhooks)");
  }
  ERAGON_RETURN_IF_ERROR(f.Int("secret_overlap_ms", 0, kMaxSecretOverlapMs, &r.secret_overlap_ms));
  ERAGON_RETURN_IF_ERROR(f.Enum("start", &r.start));
  ERAGON_RETURN_IF_ERROR(f.Bool("enabled", &r.enabled));
  ERAGON_RETURN_IF_ERROR(f.Int("disable_after_ms", 0, kMaxDisableAfterMs, &r.disable_after_ms));
  if (r.disable_after_ms > 0 && r.type == DeliveryType::kKafka) {
    return f.Invalid("disable_after_ms", "not for type kafka (eragond delivers nothing itself)");
  }
  ERAGON_RETURN_IF_ERROR(ParseFilter(f, &r));
  return r;
}

Result<std::vector<std::string>> ParseServiceRoles(std::string_view body) {
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::object object, BodyObject(body));
  Fields f(object, "");
  std::optional<element> e = f.Get("roles");
  if (!e) return f.Invalid("roles", "required: a list of producer, consumer, admin");
  simdjson::dom::array array;
  if (e->get_array().get(array)) return f.Invalid("roles", "must be an array of strings");
  std::vector<std::string> roles;
  for (element role : array) {
    std::string_view s;
    if (role.get_string().get(s) || (s != "producer" && s != "consumer" && s != "admin")) {
      return f.Invalid("roles", "each role must be one of producer, consumer, admin");
    }
    roles.emplace_back(s);
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  if (roles.empty())
    return f.Invalid("roles", "must hold at least one of producer, consumer, admin");
  return roles;
}

void ProducerRouteToJson(const ProducerRoute& r, JsonWriter& w) {
  w.BeginObject();
  w.Key("event_type").String(r.event_type);
  w.Key("producer").String(r.producer);
  w.Key("channel").String(RouteEnumName(r.channel));
  w.Key("topic").String(r.topic);
  w.Key("ordered").Bool(r.ordered);
  w.Key("partitions").Uint(r.partitions);
  WriteMeta(r.created_at, r.updated_at, w);
  w.EndObject();
}

std::string ProducerRouteToJson(const ProducerRoute& r) {
  return JsonOf<ProducerRoute>(r, ProducerRouteToJson);
}

void ConsumerRouteToJson(const ConsumerRoute& r, JsonWriter& w) {
  w.BeginObject();
  w.Key("event_type").String(r.event_type);
  w.Key("consumer").String(r.consumer);
  w.Key("type").String(RouteEnumName(r.type));
  if (r.type == DeliveryType::kHttp) w.Key("url").String(r.url);
  w.Key("timeout_ms").Int(r.timeout_ms);
  w.Key("headers").BeginObject();
  for (const auto& [name, value] : r.headers) w.Key(name).String("***");
  w.EndObject();
  w.Key("max_in_flight").Uint(r.max_in_flight);
  w.Key("rate_limit_per_s").Uint(r.rate_limit_per_s);
  w.Key("retry").BeginObject();
  w.Key("max_attempts").Uint(r.retry.max_attempts);
  w.Key("initial_backoff_ms").Int(r.retry.initial_backoff_ms);
  w.Key("max_backoff_ms").Int(r.retry.max_backoff_ms);
  if (!r.retry.schedule_ms.empty()) {
    w.Key("schedule_ms").BeginArray();
    for (int64_t ms : r.retry.schedule_ms) w.Int(ms);
    w.EndArray();
  }
  w.EndObject();
  w.Key("dedup").String(RouteEnumName(r.dedup));
  w.Key("dedup_ttl_hours").Int(r.dedup_ttl_hours);
  w.Key("format").String(RouteEnumName(r.format));
  w.Key("has_secret").Bool(!r.secret.empty());
  if (r.secret_overlap_ms != ConsumerRoute{}.secret_overlap_ms || !r.previous_secret.empty()) {
    w.Key("secret_overlap_ms").Int(r.secret_overlap_ms);
  }
  if (!r.previous_secret.empty()) w.Key("previous_secret_until").Int(r.previous_secret_until);
  w.Key("start").String(RouteEnumName(r.start));
  w.Key("enabled").Bool(r.enabled);
  if (r.disable_after_ms > 0) w.Key("disable_after_ms").Int(r.disable_after_ms);
  if (!r.disabled_reason.empty()) {
    w.Key("disabled_reason").String(r.disabled_reason);
    w.Key("disabled_at").Int(r.disabled_at);
  }
  if (!r.filter.empty()) w.Key("filter").Raw(r.filter);
  WriteMeta(r.created_at, r.updated_at, w);
  w.EndObject();
}

std::string ConsumerRouteToJson(const ConsumerRoute& r) {
  return JsonOf<ConsumerRoute>(r, ConsumerRouteToJson);
}

}  // namespace eragon::config
