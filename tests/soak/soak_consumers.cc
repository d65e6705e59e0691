#include "soak_consumers.h"

#include <chrono>
#include <cstdio>

namespace eragon::soak {

using dispatch::testing::TestAnswer;
using dispatch::testing::TestHttpServer;
using dispatch::testing::TestRequest;

PushConsumer::PushConsumer(std::string name, Behaviour behaviour, Ledger* ledger)
    : name_(std::move(name)),
      behaviour_(behaviour),
      ledger_(ledger),
      rng_(std::random_device{}()),
      server_(std::make_unique<TestHttpServer>([this](const TestRequest& r) { return Handle(r); },
                                               std::nullopt, false)) {}

bool PushConsumer::Refuse(TestAnswer* a) {
  if (behaviour_ == Behaviour::kFlaky) {
    uint64_t roll;
    {
      std::lock_guard lock(rng_mu_);
      roll = rng_() % 100;
    }
    if (roll < 15) {
      a->status = 500;
      return true;
    }
    if (roll < 16) {
      a->action = TestAnswer::Action::kNoAnswer;
      return true;
    }
  }
  if (behaviour_ == Behaviour::kFlapping) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
    if (s % 12 < 4) {
      a->action = TestAnswer::Action::kReset;
      return true;
    }
  }
  return false;
}

TestAnswer PushConsumer::Handle(const TestRequest& r) {
  TestAnswer a;
  if (Refuse(&a)) return a;
  ledger_->Received(name_, r.Header("Eragon-Event-Id").value_or(""),
                    r.Header("Eragon-Event-Type").value_or(""));
  return a;
}

PullConsumer::PullConsumer(std::string name, std::string url, std::string token, Ledger* ledger)
    : name_(std::move(name)) {
  ConsumerOptions o;
  o.endpoint = std::move(url);
  o.token = std::move(token);
  o.consumer = name_;
  o.concurrency = 4;
  o.max_messages = 200;
  o.wait_ms = 500;
  o.ack_timeout_ms = 5'000;
  o.nack_delay_ms = 100;
  o.on_error = [this](const Status&) { ++errors; };
  consumer_ = std::make_unique<Consumer>(o);
  consumer_->OnAny([this, ledger](const Delivery& d) {
    ledger->Received(name_, d.event.id, d.event.event_type);
    return Status::Ok();
  });
  Status st = consumer_->Start();
  if (!st.ok()) fprintf(stderr, "soak: pull consumer: %s\n", st.ToString().c_str());
}

PullConsumer::~PullConsumer() { consumer_->Stop(); }

}  // namespace eragon::soak
