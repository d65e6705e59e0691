#include "demo_services.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

namespace demo {

namespace {

std::mutex print_mu;

const char* ColourOf(const std::string& service) {
  if (service.starts_with("order")) return "\033[36m";
  if (service.starts_with("payment")) return "\033[32m";
  if (service.starts_with("restaurant")) return "\033[33m";
  if (service.starts_with("notification")) return "\033[35m";
  if (service.starts_with("courier")) return "\033[34m";
  if (service.starts_with("saga")) return "\033[1;37m";
  return "\033[0m";
}

}  // namespace

int StageOf(const std::string& event_type) {
  static const std::map<std::string, int> kStages = {{"order_created", 1},
                                                     {"restaurant_reserve_requested", 2},
                                                     {"restaurant_reserved", 3},
                                                     {"restaurant_rejected", 3},
                                                     {"payment_charge_requested", 4},
                                                     {"payment_charged", 5},
                                                     {"payment_declined", 5},
                                                     {"restaurant_reservation_cancelled", 6},
                                                     {"order_confirmed", 6},
                                                     {"order_rejected", 7},
                                                     {"order_ready", 7},
                                                     {"order_delivered", 8}};
  auto it = kStages.find(event_type);
  return it == kStages.end() ? 0 : it->second;
}

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

bool OrderChecker::See(const std::string& entity, int64_t stage) {
  ++seen_;
  std::lock_guard lock(mu_);
  int64_t& last = last_[entity];
  if (stage < last) {
    ++out_of_order_;
    Show(service_, "!!",
         "OUT OF ORDER: " + entity + " stage " + std::to_string(stage) + " after " +
             std::to_string(last));
    return false;
  }
  last = stage;
  return true;
}

PushService::PushService(std::string name, std::string secret, int fail_every, Reaction react)
    : name_(std::move(name)), fail_every_(fail_every), react_(std::move(react)), checker_(name_) {
  eragon::PushReceiverOptions ro;
  ro.secret = std::move(secret);
  receiver_ = std::make_unique<eragon::PushReceiver>(ro);
  receiver_->OnAny([this](const eragon::Delivery& d) { return Handle(d); });
  eragon::PushServerOptions so;  // 127.0.0.1, a free port, POST /events
  so.threads = 1;
  server_ = std::make_unique<eragon::PushServer>(so, receiver_.get());
  eragon::Status st = server_->Start();
  if (!st.ok()) {
    fprintf(stderr, "%s: cannot listen: %s\n", name_.c_str(), st.ToString().c_str());
    std::exit(1);
  }
}

PushService::~PushService() { server_->Stop(1'000); }

eragon::Status PushService::Handle(const eragon::Delivery& d) {
  const eragon::Event& e = d.event;
  if (fail_every_ > 0 && ++pushes_ % fail_every_ == 0) {
    Show(name_, "✗ ",
         "503 on purpose (" + e.event_type + " " + e.entity_id + ") — Eragon will retry");
    return eragon::Status::Unavailable("busy (on purpose)");
  }
  eragon::Status st = react_(d);
  if (st.ok()) checker_.See(e.entity_id, StageOf(e.event_type));
  return st;
}

PullService::PullService(std::string name, std::string url, std::string token)
    : name_(std::move(name)), checker_(name_) {
  eragon::ConsumerOptions o;
  o.endpoint = std::move(url);
  o.token = std::move(token);
  o.consumer = name_;
  o.concurrency = 4;  // per-entity order holds at any concurrency
  o.max_messages = 50;
  o.wait_ms = 500;
  o.on_error = [this](const eragon::Status& st) { Show(name_, "!!", st.ToString()); };
  consumer_ = std::make_unique<eragon::Consumer>(o);
  consumer_->OnAny([this](const eragon::Delivery& d) {
    checker_.See(d.event.entity_id, StageOf(d.event.event_type));
    Show(name_, "◀┄┄", d.event.event_type + "  " + d.event.entity_id + "  (pulled)");
    return eragon::Status::Ok();
  });
  eragon::Status st = consumer_->Start();
  if (!st.ok()) {
    fprintf(stderr, "%s: %s\n", name_.c_str(), st.ToString().c_str());
    std::exit(1);
  }
}

PullService::~PullService() { consumer_->Stop(); }

KafkaService::KafkaService(std::string name, std::string bootstrap, std::string topic,
                           std::string group)
    : name_(std::move(name)), checker_(name_) {
  eragon::KafkaConsumerOptions o;
  o.bootstrap = std::move(bootstrap);
  o.topic = std::move(topic);
  o.group = std::move(group);
  o.concurrency = 4;       // per-entity order holds at any concurrency
  o.from_earliest = true;  // a new group reads what was published before it joined
  o.dedup_capacity = 100'000;
  o.on_error = [this](const eragon::Status& st) { Show(name_, "!!", st.ToString()); };
  consumer_ = std::make_unique<eragon::KafkaConsumer>(o);
  consumer_->OnAny([this](const eragon::Delivery& d) {
    checker_.See(d.event.entity_id, StageOf(d.event.event_type));
    Show(name_, "◀≈≈", d.event.event_type + "  " + d.event.entity_id + "  (from Kafka)");
    return eragon::Status::Ok();
  });
  eragon::Status st = consumer_->Start();
  if (!st.ok()) {
    fprintf(stderr, "%s: %s\n", name_.c_str(), st.ToString().c_str());
    std::exit(1);
  }
}

KafkaService::~KafkaService() { consumer_->Stop(); }

}  // namespace demo
