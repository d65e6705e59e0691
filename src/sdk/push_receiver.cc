// PushReceiver (eragon/push_receiver.h): signature check, event parsing, handler, answer.
#include "eragon/push_receiver.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/json.h"
#include "core/webhook_signature.h"
#include "http/http_error.h"
#include "sdk/consumer_event.h"

namespace eragon {
namespace {

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The first header called `name`, or "".
std::string_view HeaderOf(const PushHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (SameName(k, name)) return v;
  }
  return {};
}

PushAnswer Error(int status, std::string_view code, std::string_view message) {
  PushAnswer a;
  a.status = status;
  JsonWriter w(&a.body);
  w.BeginObject().Key("error").BeginObject();
  w.Key("code").String(code).Key("message").String(message);
  w.EndObject().EndObject();
  return a;
}

PushAnswer Error(const Status& st) {
  http::HttpError e = http::MapStatus(st.code());
  return Error(e.status, e.code, st.message());
}

sdk::EventFormat FormatOf(const PushHeaders& headers) {
  std::string_view type = HeaderOf(headers, "Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return SameName(type, "application/cloudevents+json") ? sdk::EventFormat::kCloudEvents
                                                        : sdk::EventFormat::kEragon;
}

uint32_t AttemptOf(const PushHeaders& headers) {
  std::string_view v = HeaderOf(headers, "Eragon-Attempt");
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && end == v.data() + v.size() && n > 0 ? n : 1;
}

}  // namespace

PushReceiver::PushReceiver(PushReceiverOptions options) : options_(std::move(options)) {
  if (options_.clock == nullptr) options_.clock = Clock::System();
}

void PushReceiver::On(std::string event_type, Handler handler) {
  handlers_.On(std::move(event_type), std::move(handler));
}

void PushReceiver::OnAny(Handler handler) { handlers_.OnAny(std::move(handler)); }

Status PushReceiver::Verify(const PushHeaders& headers, std::string_view body) const {
  if (options_.secret.empty()) return Status::Ok();
  std::string_view id = HeaderOf(headers, "webhook-id");
  std::string_view ts = HeaderOf(headers, "webhook-timestamp");
  std::string_view sig = HeaderOf(headers, "webhook-signature");
  if (id.empty() || ts.empty() || sig.empty()) {
    return Status::Unauthenticated(
        "webhook-id, webhook-timestamp and webhook-signature: required (the push is not signed)");
  }
  const int64_t now_s = options_.clock->WallMs() / 1000;
  Status st = VerifyWebhookSignature(options_.secret, id, ts, sig, body, now_s,
                                     options_.timestamp_tolerance_s);
  if (st.code() == Code::kUnauthenticated && !options_.previous_secret.empty()) {
    Status old = VerifyWebhookSignature(options_.previous_secret, id, ts, sig, body, now_s,
                                        options_.timestamp_tolerance_s);
    if (old.ok()) return old;
  }
  // A malformed timestamp is the sender's fault (401 like any bad signature); a malformed
  // secret is ours (500: eragond retries until the receiver is fixed).
  if (st.code() == Code::kInvalidArgument && st.message().starts_with("webhook-timestamp")) {
    return Status::Unauthenticated(st.message());
  }
  if (st.code() == Code::kInvalidArgument) {
    return Status::Internal("the receiver's secret is malformed: " + st.message());
  }
  return st;
}

PushAnswer PushReceiver::Handle(std::string_view method, const PushHeaders& headers,
                                std::string_view body) const {
  if (method != "POST") return Error(405, "method_not_allowed", "pushes are POST requests");
  if (Status st = Verify(headers, body); !st.ok()) return Error(st);
  Result<Event> event = sdk::ParseDeliveredEvent(body, FormatOf(headers));
  if (!event.ok()) return Error(event.status());
  Delivery d;
  d.event = std::move(*event);
  d.attempt = AttemptOf(headers);
  Status st = handlers_.Run(d);
  if (!st.ok()) return Error(st);
  return PushAnswer{200, "{}"};
}

}  // namespace eragon
