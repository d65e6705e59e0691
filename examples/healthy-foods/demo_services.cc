#include "demo_services.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/json.h"

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

// data.order.seq of a demo event (-1 when absent).
int64_t SeqOf(const eragon::Event& e) {
  simdjson::dom::parser parser;
  auto doc = eragon::ParseJson(e.data, parser);
  int64_t seq = -1;
  if (!doc.ok() || (*doc)["order"]["seq"].get_int64().get(seq) != simdjson::SUCCESS) return -1;
  return seq;
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

PushService::PushService(std::string name, std::string secret, int fail_every, int decline_every)
    : name_(std::move(name)),
      fail_every_(fail_every),
      decline_every_(decline_every),
      checker_(name_) {
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

bool PushService::Declines(const std::string& event_id) {
  std::lock_guard<std::mutex> lock(decline_mu_);
  if (declined_ids_.count(event_id) != 0) return false;  // redriven: charge it now
  if (++created_ % static_cast<uint64_t>(decline_every_) != 0) return false;
  declined_ids_.insert(event_id);
  return true;
}

eragon::Status PushService::Handle(const eragon::Delivery& d) {
  const eragon::Event& e = d.event;
  if (decline_every_ > 0 && e.event_type == "order_created" && Declines(e.id)) {
    Show(name_, "✗ ",
         "400 card declined on purpose (" + e.entity_id +
             ") — not retried: a dead letter; Redrive it in the dashboard");
    return eragon::Status::InvalidArgument("card declined (on purpose): redrive it");
  }
  if (fail_every_ > 0 && ++pushes_ % fail_every_ == 0) {
    Show(name_, "✗ ",
         "503 on purpose (" + e.event_type + " " + e.entity_id + ") — Eragon will retry");
    return eragon::Status::Unavailable("busy (on purpose)");
  }
  checker_.See(e.entity_id, SeqOf(e));
  Show(name_, "◀──",
       e.event_type + "  " + e.entity_id +
           (d.attempt > 1 ? "  (attempt " + std::to_string(d.attempt) + ")" : ""));
  return eragon::Status::Ok();
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
    checker_.See(d.event.entity_id, SeqOf(d.event));
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
    checker_.See(d.event.entity_id, SeqOf(d.event));
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
