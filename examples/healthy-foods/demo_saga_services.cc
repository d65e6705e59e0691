#include "demo_saga_services.h"

#include <cstdio>
#include <cstdlib>

#include "core/json.h"

namespace demo {

namespace {

// data.order.<field> of a demo event as an integer (-1 when absent).
int64_t OrderField(const eragon::Event& e, const char* field) {
  simdjson::dom::parser parser;
  auto doc = eragon::ParseJson(e.data, parser);
  int64_t v = -1;
  if (!doc.ok() || (*doc)["order"][field].get_int64().get(v) != simdjson::SUCCESS) return -1;
  return v;
}

std::string AttemptNote(const eragon::Delivery& d) {
  return d.attempt > 1 ? "  (attempt " + std::to_string(d.attempt) + ")" : "";
}

// "◀── <type>  <order>  <what>" for the push `d`.
void ShowReaction(const std::string& service, const eragon::Delivery& d, const std::string& what) {
  Show(service, "◀──",
       d.event.event_type + "  " + d.event.entity_id + "  " + what + AttemptNote(d));
}

}  // namespace

Replier::Replier(std::string service, const std::string& url, const std::string& token)
    : service_(std::move(service)) {
  eragon::ProducerOptions po;
  po.endpoint = url;
  po.token = token;
  po.mode = eragon::PublishMode::kSync;
  po.max_retries = 2;  // then the push fails and eragond delivers the command again
  auto p = eragon::Producer::Open(po);
  if (!p.ok()) {
    fprintf(stderr, "%s: producer: %s\n", service_.c_str(), p.status().ToString().c_str());
    std::exit(1);
  }
  producer_ = std::move(*p);
}

Replier::~Replier() { (void)producer_->Close(); }

eragon::Status Replier::Publish(const std::string& type, const std::string& order,
                                std::string data) {
  eragon::Event e;
  e.id = type + "." + order;
  e.event_type = type;
  e.entity_id = order;
  e.data = std::move(data);
  auto ack = producer_->Publish(std::move(e)).get();
  if (!ack.ok()) Show(service_, "!!", "publish " + type + " failed: " + ack.status().ToString());
  return ack.status();
}

RestaurantService::RestaurantService(const std::string& url, const std::string& token)
    : out_("restaurant-service", url, token),
      push_("restaurant-service", "", 0, [this](const eragon::Delivery& d) { return React(d); }) {}

eragon::Status RestaurantService::React(const eragon::Delivery& d) {
  const eragon::Event& e = d.event;
  if (e.event_type == "restaurant_reserve_requested") {
    eragon::Status st =
        out_.Publish("restaurant_reserved", e.entity_id,
                     R"({"table":)" + std::to_string(1 + OrderField(e, "n") % 12) + "}");
    if (st.ok()) ShowReaction("restaurant-service", d, "→ restaurant_reserved");
    return st;
  }
  if (e.event_type == "restaurant_reservation_cancelled") {
    ++cancelled_;
    ShowReaction("restaurant-service", d, "reservation cancelled, table freed");
    return eragon::Status::Ok();
  }
  if (e.event_type == "order_confirmed") {
    eragon::Status st = out_.Publish("order_ready", e.entity_id, "{}");
    if (st.ok()) {
      ++ready_;
      ShowReaction("restaurant-service", d, "cooked → order_ready");
    }
    return st;
  }
  return eragon::Status::Ok();
}

PaymentService::PaymentService(const std::string& url, const std::string& token,
                               const std::string& secret, int decline_every)
    : out_("payment-service", url, token),
      decline_every_(decline_every),
      push_("payment-service", secret, 7, [this](const eragon::Delivery& d) { return React(d); }) {}

eragon::Status PaymentService::React(const eragon::Delivery& d) {
  const eragon::Event& e = d.event;
  const int64_t n = OrderField(e, "n");
  if (decline_every_ > 0 && n > 0 && n % decline_every_ == 0) {
    eragon::Status st = out_.Publish("payment_declined", e.entity_id,
                                     R"({"reason":"card declined on purpose: every )" +
                                         std::to_string(decline_every_) + R"(th order"})");
    if (st.ok()) {
      ++declined_;
      ShowReaction("payment-service", d, "✗ card declined on purpose → payment_declined");
    }
    return st;
  }
  const std::string amount = std::to_string(OrderField(e, "total"));
  eragon::Status st = out_.Publish("payment_charged", e.entity_id, R"({"amount":)" + amount + "}");
  if (st.ok()) ShowReaction("payment-service", d, "charged " + amount + " → payment_charged");
  return st;
}

CourierService::CourierService(const std::string& url, const std::string& token,
                               int dead_letter_every)
    : out_("courier-service", url, token),
      dead_letter_every_(dead_letter_every),
      push_("courier-service", "", 0, [this](const eragon::Delivery& d) { return React(d); }) {}

bool CourierService::Refuses(const std::string& event_id) {
  if (dead_letter_every_ <= 0) return false;
  std::lock_guard<std::mutex> lock(refuse_mu_);
  if (refused_ids_.count(event_id) != 0) return false;  // redriven: deliver it now
  if (++ready_seen_ % static_cast<uint64_t>(dead_letter_every_) != 0) return false;
  refused_ids_.insert(event_id);
  return true;
}

eragon::Status CourierService::React(const eragon::Delivery& d) {
  const eragon::Event& e = d.event;
  if (Refuses(e.id)) {
    Show("courier-service", "✗ ",
         "400 no rider on purpose (" + e.entity_id +
             ") — not retried: a dead letter; Redrive it in the dashboard");
    return eragon::Status::InvalidArgument("no rider (on purpose): redrive it");
  }
  eragon::Status st = out_.Publish("order_delivered", e.entity_id, R"({"courier":"rider-7"})");
  if (st.ok()) {
    ++delivered_;
    ShowReaction("courier-service", d, "picked up and delivered → order_delivered");
  }
  return st;
}

}  // namespace demo
