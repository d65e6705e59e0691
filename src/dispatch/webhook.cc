#include "dispatch/webhook.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "core/event_codec.h"
#include "core/hash.h"
#include "core/names.h"
#include "dispatch/push_parse.h"

namespace eragon::dispatch {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// Names a route's custom header may not use: ours and HTTP framing.
bool IsReservedHeader(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kReserved = {
      "content-type",   "user-agent",        "traceparent", "host",
      "content-length", "transfer-encoding", "connection"};
  for (auto r : kReserved) {
    if (EqualsIgnoreCase(name, r)) return true;
  }
  return StartsWithIgnoreCase(name, "eragon-") || StartsWithIgnoreCase(name, "webhook-");
}

}  // namespace

Result<PushRequest> BuildPush(const Event& event, const config::ConsumerRoute& route,
                              uint32_t attempt, int64_t now_ms) {
  if (!IsSafeHeaderValue(event.id) || !IsSafeHeaderValue(event.event_type)) {
    return Status::InvalidArgument("event id and type must be header-safe");
  }
  PushRequest req;
  req.url = route.url;
  req.timeout = std::chrono::milliseconds(route.timeout_ms);
  std::string_view content_type;
  switch (route.format) {
    case config::PushFormat::kEragon:
      req.body = EventToJson(event);
      content_type = "application/json";
      break;
    case config::PushFormat::kCloudEvents:
      req.body = CloudEventToJson(event);
      content_type = "application/cloudevents+json";
      break;
    default:
      return Status::InvalidArgument("format: must be eragon or cloudevents");
  }

  auto& h = req.headers;
  h.reserve(10 + route.headers.size());
  h.emplace_back("Content-Type", content_type);
  h.emplace_back("User-Agent", "Eragon-Push/1");
  h.emplace_back("Eragon-Event-Id", event.id);
  h.emplace_back("Eragon-Event-Type", event.event_type);
  h.emplace_back("Eragon-Entity-Id", PercentEncodeHeaderValue(event.entity_id));
  h.emplace_back("Eragon-Attempt", std::to_string(attempt));
  if (!event.traceparent.empty() && IsValidTraceparent(event.traceparent)) {
    h.emplace_back("traceparent", event.traceparent);
  }
  if (!route.secret.empty()) {
    int64_t ts = now_ms / 1000;
    ERAGON_ASSIGN_OR_RETURN(std::string signature,
                            SignWebhook(route.secret, event.id, ts, req.body));
    if (!route.previous_secret.empty() && now_ms < route.previous_secret_until) {
      // Rotation overlap: the old secret signs too (Standard Webhooks: space-separated).
      ERAGON_ASSIGN_OR_RETURN(std::string old,
                              SignWebhook(route.previous_secret, event.id, ts, req.body));
      signature += ' ';
      signature += old;
    }
    h.emplace_back("webhook-id", event.id);
    h.emplace_back("webhook-timestamp", std::to_string(ts));
    h.emplace_back("webhook-signature", std::move(signature));
  }
  for (const auto& [name, value] : route.headers) {
    if (IsReservedHeader(name) || !IsValidHeaderName(name) || !IsSafeHeaderValue(value)) continue;
    h.emplace_back(name, value);
  }
  return req;
}

}  // namespace eragon::dispatch
