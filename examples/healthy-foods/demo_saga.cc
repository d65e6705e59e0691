#include "demo_saga.h"

#include <chrono>

#include "core/json.h"
#include "demo_services.h"
#include "http/http_client.h"

namespace demo {

namespace {

struct Step {
  const char* name;
  const char* command;
  const char* success;
  const char* failure;
  const char* compensation;  // "" = none
  int64_t timeout_ms;
};

// The restaurant answers at once; the payment service may need retries (its 503s).
constexpr Step kSteps[] = {
    {"reserve", "restaurant_reserve_requested", "restaurant_reserved", "restaurant_rejected",
     "restaurant_reservation_cancelled", 30'000},
    {"charge", "payment_charge_requested", "payment_charged", "payment_declined", "", 60'000},
};
constexpr const char* kCompleted = "order_confirmed";
constexpr const char* kFailed = "order_rejected";

const Step* StepNamed(std::string_view name) {
  for (const Step& s : kSteps) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

struct Entry {
  std::string step, event_type, note;
  int64_t at = 0;
};

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view s;
  if (e[key].get_string().get(s) != simdjson::SUCCESS) return "";
  return std::string(s);
}

// The line for one history entry ("" for a command: its step's line comes with the reply).
std::string Describe(const Entry& e, size_t index, int64_t* command_at) {
  if (index == 0) return "▶ started by " + e.event_type;
  if (!e.note.empty()) {
    if (e.note == "timeout") return "✗ step " + e.step + " timed out";
    return "· " + e.event_type + " ignored (" + e.note + ")";
  }
  if (e.event_type == kCompleted) return "✔ completed → " + e.event_type;
  if (e.event_type == kFailed) return "✘ failed → " + e.event_type;
  const Step* s = StepNamed(e.step);
  if (s == nullptr) return e.event_type;
  if (e.event_type == s->command) {
    *command_at = e.at;
    return "";
  }
  if (e.event_type == s->compensation) return "↩ compensate " + e.step + ": " + e.event_type;
  const bool ok = e.event_type == s->success;
  return std::string(ok ? "✓" : "✗") + " step " + e.step + ": " + s->command + " → " +
         e.event_type + "  (" + std::to_string(e.at - *command_at) + " ms)";
}

}  // namespace

const std::vector<TypeProducer>& OrderTypes() {
  static const std::vector<TypeProducer> kTypes = {
      {"order_created", "order-service"},
      {"restaurant_reserve_requested", "saga-order"},
      {"restaurant_reserved", "restaurant-service"},
      {"restaurant_rejected", "restaurant-service"},
      {"restaurant_reservation_cancelled", "saga-order"},
      {"payment_charge_requested", "saga-order"},
      {"payment_charged", "payment-service"},
      {"payment_declined", "payment-service"},
      {"order_confirmed", "saga-order"},
      {"order_rejected", "saga-order"},
      {"order_ready", "restaurant-service"},
      {"order_delivered", "courier-service"},
  };
  return kTypes;
}

std::string OrderSagaBody() {
  std::string out;
  eragon::JsonWriter w(&out);
  w.BeginObject().Key("trigger").String("order_created").Key("steps").BeginArray();
  for (const Step& s : kSteps) {
    w.BeginObject().Key("name").String(s.name).Key("command").String(s.command);
    w.Key("success").BeginArray().String(s.success).EndArray();
    w.Key("failure").BeginArray().String(s.failure).EndArray();
    if (*s.compensation != '\0') w.Key("compensation").String(s.compensation);
    w.Key("timeout_ms").Int(s.timeout_ms).EndObject();
  }
  w.EndArray().Key("completed").String(kCompleted).Key("failed").String(kFailed).EndObject();
  return out;
}

SagaWatcher::SagaWatcher(std::string url, std::string token)
    : url_(std::move(url)), token_(std::move(token)), thread_([this] { Run(); }) {}

SagaWatcher::~SagaWatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SagaWatcher::Track(const std::string& order) {
  ++unfinished_;
  std::lock_guard lock(mu_);
  incoming_.push_back(order);
}

void SagaWatcher::Run() {
  eragon::HttpClient api(url_);
  std::unique_lock lock(mu_);
  while (!stop_) {
    for (std::string& id : incoming_) tracked_.push_back({std::move(id)});
    incoming_.clear();
    lock.unlock();
    for (size_t i = 0; i < tracked_.size();) {
      if (Poll(api, tracked_[i])) {
        tracked_.erase(tracked_.begin() + static_cast<std::ptrdiff_t>(i));
        --unfinished_;
      } else {
        ++i;
      }
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; });
  }
}

bool SagaWatcher::Poll(eragon::HttpClient& api, Tracked& t) {
  auto r = api.Request("GET", std::string("/v1/sagas/") + kSagaName + "/instances/" + t.id, "",
                       {{"Authorization", "Bearer " + token_}});
  if (!r.ok() || r->status != 200) return false;  // not started yet (404), or eragond busy
  simdjson::dom::parser parser;
  auto doc = eragon::ParseJson(r->body, parser);
  simdjson::dom::array history;
  if (!doc.ok() || (*doc)["history"].get_array().get(history) != simdjson::SUCCESS) return false;
  size_t index = 0;
  for (simdjson::dom::element h : history) {
    if (index++ < t.shown) continue;
    int64_t at = 0;
    if (h["at"].get_int64().get(at) != simdjson::SUCCESS) at = 0;
    std::string line = Describe({Str(h, "step"), Str(h, "event_type"), Str(h, "note"), at},
                                index - 1, &t.command_at);
    if (!line.empty()) Show(std::string("saga-") + kSagaName, "══", t.id + "  " + line);
  }
  t.shown = index;
  const std::string state = Str(*doc, "state");
  if (state == "completed") ++confirmed_;
  if (state == "failed") ++rejected_;
  return state == "completed" || state == "failed";
}

}  // namespace demo
