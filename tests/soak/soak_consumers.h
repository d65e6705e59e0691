// The soak's consumers: push endpoints that behave well, fail, hang and flap (the real
// test HTTP server), and a pull consumer (the SDK's Consumer). Each accepted delivery goes
// to the ledger; refused ones (an error status, no answer, a reset) do not.
#pragma once

#include <atomic>
#include <memory>
#include <random>
#include <string>

#include "eragon/consumer.h"
#include "soak_ledger.h"
#include "testing/test_http_server.h"

namespace eragon::soak {

enum class Behaviour {
  kSteady,    // always 200
  kFlaky,     // 15 % 500, 1 % no answer (the route's timeout passes), else 200
  kFlapping,  // connection reset for 4 s of every 12 s, else 200
};

class PushConsumer {
 public:
  PushConsumer(std::string name, Behaviour behaviour, Ledger* ledger);
  const std::string& name() const { return name_; }
  std::string url() const { return server_->Url("/events"); }
  void Stop() { server_->Stop(); }

 private:
  dispatch::testing::TestAnswer Handle(const dispatch::testing::TestRequest& r);
  bool Refuse(dispatch::testing::TestAnswer* a);

  std::string name_;
  Behaviour behaviour_;
  Ledger* ledger_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
  std::unique_ptr<dispatch::testing::TestHttpServer> server_;
};

class PullConsumer {
 public:
  PullConsumer(std::string name, std::string url, std::string token, Ledger* ledger);
  ~PullConsumer();
  std::atomic<uint64_t> errors{0};  // errors the SDK recovered from (server killed, ...)

 private:
  std::string name_;
  std::unique_ptr<Consumer> consumer_;
};

}  // namespace eragon::soak
