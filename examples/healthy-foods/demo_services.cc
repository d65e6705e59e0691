#include "demo_services.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "client/http_client.h"
#include "core/json.h"
#include "dispatch/webhook.h"

namespace demo {

namespace {

std::mutex print_mu;

const char* ColourOf(const std::string& service) {
  if (service.starts_with("order")) return "\033[36m";
  if (service.starts_with("payment")) return "\033[32m";
  if (service.starts_with("restaurant")) return "\033[33m";
  if (service.starts_with("notification")) return "\033[35m";
  return "\033[0m";
}

struct Parsed {
  std::string id, type, entity;
  int64_t seq = 0;
  bool ok = false;
};

Parsed ParseEvent(simdjson::dom::element e) {
  Parsed p;
  std::string_view s;
  if (e["id"].get_string().get(s) == simdjson::SUCCESS) p.id = s;
  if (e["event_type"].get_string().get(s) == simdjson::SUCCESS) p.type = s;
  if (e["entity_id"].get_string().get(s) == simdjson::SUCCESS) p.entity = s;
  int64_t seq = 0;
  if (e["data"]["order"]["seq"].get_int64().get(seq) == simdjson::SUCCESS) p.seq = seq;
  p.ok = !p.type.empty();
  return p;
}

}  // namespace

void Show(const std::string& service, const std::string& arrow, const std::string& what) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::lock_guard lock(print_mu);
  printf("%02d:%02d:%02d.%03d  %s%-21s\033[0m %s %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, ms,
         ColourOf(service), service.c_str(), arrow.c_str(), what.c_str());
  fflush(stdout);
}

bool OrderChecker::See(const std::string& entity, int64_t seq) {
  ++seen_;
  std::lock_guard lock(mu_);
  int64_t& last = last_[entity];
  if (seq < last) {
    ++out_of_order_;
    Show(service_, "!!",
         "OUT OF ORDER: " + entity + " seq " + std::to_string(seq) + " after " +
             std::to_string(last));
    return false;
  }
  last = seq;
  return true;
}

PushService::PushService(std::string name, std::string secret, int fail_every)
    : name_(std::move(name)), secret_(std::move(secret)), fail_every_(fail_every), checker_(name_) {
  router_.Post("/events", [this](eragon::http::HttpRequest&& req, eragon::http::Responder r) {
    r(Handle(req));
  });
  eragon::http::HttpServerOptions o;
  o.port = 0;
  o.io_threads = 1;
  server_ = std::make_unique<eragon::http::HttpServer>(o, &router_);
  eragon::Status st = server_->Start();
  if (!st.ok()) {
    fprintf(stderr, "%s: cannot listen: %s\n", name_.c_str(), st.ToString().c_str());
    std::exit(1);
  }
}

PushService::~PushService() { server_->Stop(std::chrono::seconds(1)); }

std::string PushService::url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port()) + "/events";
}

eragon::http::HttpResponse PushService::Handle(const eragon::http::HttpRequest& req) {
  using eragon::http::HttpResponse;
  if (!secret_.empty()) {
    eragon::Status st = eragon::dispatch::VerifyWebhookSignature(
        secret_, req.Header("webhook-id").value_or(""),
        req.Header("webhook-timestamp").value_or(""), req.Header("webhook-signature").value_or(""),
        req.body, std::time(nullptr));
    if (!st.ok()) {
      Show(name_, "!!", "rejected a push with a bad signature: " + st.message());
      return HttpResponse::Json(401, R"({"error":"bad signature"})");
    }
  }
  if (fail_every_ > 0 && ++requests_ % fail_every_ == 0) {
    Show(name_, "✗ ",
         "503 on purpose (" + std::string(req.Header("Eragon-Event-Type").value_or("")) + " " +
             std::string(req.Header("Eragon-Entity-Id").value_or("")) + ") — Eragon will retry");
    return HttpResponse::Json(503, R"({"error":"busy"})");
  }
  auto doc = eragon::ParseJson(req.body);
  if (!doc.ok()) return HttpResponse::Json(400, R"({"error":"bad json"})");
  Parsed p = ParseEvent(*doc);
  checker_.See(p.entity, p.seq);
  std::string attempt(req.Header("Eragon-Attempt").value_or("1"));
  Show(name_, "◀──",
       p.type + "  " + p.entity + (attempt != "1" ? "  (attempt " + attempt + ")" : ""));
  return HttpResponse::Json(200, R"({"ok":true})");
}

PullService::PullService(std::string name, std::string url, std::string token)
    : name_(std::move(name)), url_(std::move(url)), token_(std::move(token)), checker_(name_) {
  thread_ = std::thread([this] { Run(); });
}

PullService::~PullService() {
  stop_ = true;
  thread_.join();
}

void PullService::Run() {
  eragon::HttpClient client(url_);
  const eragon::HttpHeaders auth = {{"Authorization", "Bearer " + token_}};
  const std::string fetch = "/v1/consumers/" + name_ + "/fetch";
  const std::string ack = "/v1/consumers/" + name_ + "/ack";
  while (!stop_) {
    auto reply = client.Request("POST", fetch, R"({"max":50,"wait_ms":500})", auth);
    if (!reply.ok() || reply->status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    auto doc = eragon::ParseJson(reply->body);
    if (!doc.ok()) continue;
    std::string ids;
    simdjson::dom::array msgs;
    if ((*doc)["messages"].get_array().get(msgs) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element m : msgs) {
      std::string_view ack_id;
      if (m["ack_id"].get_string().get(ack_id) != simdjson::SUCCESS) continue;
      Parsed p = ParseEvent(m["event"].value_unsafe());
      checker_.See(p.entity, p.seq);
      Show(name_, "◀┄┄", p.type + "  " + p.entity + "  (pulled)");
      ids += (ids.empty() ? "\"" : ",\"") + std::string(ack_id) + "\"";
    }
    if (!ids.empty()) (void)client.Request("POST", ack, "{\"ack_ids\":[" + ids + "]}", auth);
  }
}

}  // namespace demo
