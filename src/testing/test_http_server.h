// Test-only: a small real HTTP/1.1 server on 127.0.0.1 (plain sockets, optional TLS with
// OpenSSL, one thread per connection) whose answers the test scripts per request:
// status, headers, body, delay, no answer at all, connection reset or close.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace eragon::dispatch::testing {

struct TestRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  uint64_t connection = 0;     // 1-based index of the accepted connection
  uint64_t on_connection = 0;  // 1-based index of the request on its connection
  // The first header of that name (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
};

struct TestAnswer {
  enum class Action {
    kAnswer,    // send the answer (after `delay`)
    kNoAnswer,  // read on, never answer; the connection stays open until the client leaves
    kReset,     // close with RST (SO_LINGER 0) instead of answering
    kClose,     // close cleanly (FIN) instead of answering
  };
  Action action = Action::kAnswer;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds delay{0};
  bool close_after = false;  // close the connection after answering (without saying so)
};

using TestHandler = std::function<TestAnswer(const TestRequest&)>;

class TestHttpServer {
 public:
  struct Tls {
    std::string cert_file;
    std::string key_file;
  };
  // Listens on 127.0.0.1 on an ephemeral port at once. `record`: keep every request for
  // requests() (turn off for throughput runs).
  explicit TestHttpServer(TestHandler handler, std::optional<Tls> tls = std::nullopt,
                          bool record = true);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port><path>" (https with Tls).
  std::string Url(std::string_view path = "/") const;
  uint64_t accepted() const { return accepted_.load(); }
  uint64_t request_count() const { return request_count_.load(); }
  std::vector<TestRequest> requests() const;
  // Closes the listener and every connection, joins every thread. Idempotent.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int fd, uint64_t index);

  TestHandler handler_;
  bool record_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, or null for plain http
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> request_count_{0};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<std::thread> threads_;
  std::vector<TestRequest> requests_;
};

}  // namespace eragon::dispatch::testing
