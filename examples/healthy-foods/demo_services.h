// The Healthy Foods demo's consumer services and its terminal view.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/http/http_server.h"
#include "server/http/router.h"

namespace demo {

// Prints one line per event flowing, with a timestamp and the service's colour.
void Show(const std::string& service, const std::string& arrow, const std::string& what);

// Per consumer: each order's events must arrive in publish order (data.order.seq grows).
class OrderChecker {
 public:
  explicit OrderChecker(std::string service) : service_(std::move(service)) {}
  // Returns false (and prints a warning) when `seq` is older than what was seen.
  bool See(const std::string& entity, int64_t seq);
  uint64_t seen() const { return seen_; }
  uint64_t out_of_order() const { return out_of_order_; }

 private:
  std::string service_;
  std::mutex mu_;
  std::map<std::string, int64_t> last_;
  std::atomic<uint64_t> seen_{0};
  std::atomic<uint64_t> out_of_order_{0};
};

// A consumer that Eragon pushes to: a real HTTP server on 127.0.0.1.
class PushService {
 public:
  // fail_every: answer 503 to every n-th request (0: never), to show retries.
  PushService(std::string name, std::string secret, int fail_every);
  ~PushService();
  std::string url() const;
  const OrderChecker& checker() const { return checker_; }

 private:
  eragon::http::HttpResponse Handle(const eragon::http::HttpRequest& req);

  std::string name_;
  std::string secret_;
  int fail_every_;
  std::atomic<uint64_t> requests_{0};
  OrderChecker checker_;
  eragon::http::Router router_;
  std::unique_ptr<eragon::http::HttpServer> server_;
};

// A consumer that pulls: fetch (long-poll), show, ack.
class PullService {
 public:
  PullService(std::string name, std::string url, std::string token);
  ~PullService();
  const OrderChecker& checker() const { return checker_; }

 private:
  void Run();

  std::string name_;
  std::string url_;
  std::string token_;
  OrderChecker checker_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace demo
