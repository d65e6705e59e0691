// Test helpers for the consumer and push receiver tests: one real eragond (ServerProcess)
// with admin calls to set routes up and publish, and a wait-for-condition loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/http_client.h"
#include "testing/server_process.h"

namespace eragon::sdk::testing {

// Polls `cond` every few milliseconds until it holds or `timeout` passes; returns its
// last value. Timeouts are generous (sanitizer builds): they bound a failing test's run
// time, they never decide a passing one.
bool WaitFor(const std::function<bool()>& cond,
             std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
uint16_t FreePort();

class SdkServer {
 public:
  // `extra_args` go to eragond (e.g. {"--listen", "127.0.0.1:PORT"} to keep the address
  // across restarts).
  explicit SdkServer(std::vector<std::string> extra_args = {});
  ~SdkServer();
  // Starts eragond; an error when it cannot.
  Status Start();
  const std::string& url() const { return server_->url(); }
  ::eragon::testing::ServerProcess& process() { return *server_; }

  // One admin request; a transport failure yields status 0 with the error in body.
  HttpReply Admin(std::string_view method, const std::string& path, std::string_view body = {});
  // PUT /v1/services/{name}; returns the token ("" on failure).
  std::string CreateService(const std::string& name, const std::string& roles_json);
  // PUT the producer destination of `type` (owned by "order-service"); true on 2xx.
  bool SetProducer(const std::string& type, const std::string& topic, bool ordered);
  // PUT /v1/routes/{type}/consumers/{consumer} with `route_json`; true on 2xx.
  bool SetConsumer(const std::string& type, const std::string& consumer,
                   const std::string& route_json);
  // POST /v1/events as admin with `body` (one event or {"events": [...]}); the ids, or
  // empty on failure.
  std::vector<std::string> Publish(const std::string& body);
  // The state of `consumer`'s delivery of event `id` ("" when not found).
  std::string DeliveryState(const std::string& id, const std::string& consumer);

 private:
  std::unique_ptr<::eragon::testing::ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace eragon::sdk::testing
