// Helpers of the producer tests: a real eragond (ServerProcess, optionally on a fixed
// port so it can come back at the same address), admin set-up calls, and reading the
// stored events back through GET /v1/events.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "http/http_client.h"
#include "testing/server_process.h"

namespace eragon::sdk::producer_testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
int FreePort();

// Polls `cond` until it holds or `timeout` passes; returns its last value. The timeout
// bounds a failing test; it never decides a passing one.
bool WaitUntil(const std::function<bool()>& cond,
               std::chrono::milliseconds timeout = std::chrono::seconds(120));

struct StoredEvent {
  std::string id;
  std::string event_type;
  std::string entity_id;
  int64_t seq = -1;  // data.seq when the data is an object with an integer "seq"
};

class TestServer {
 public:
  // port 0: any free port (changes on restart); otherwise that port on every start.
  explicit TestServer(int port = 0);
  // eragond with `extra_args` (e.g. --tls-cert ...), called with `tls` when https.
  TestServer(std::vector<std::string> extra_args, TlsClientFiles tls);
  Status Start();
  void Kill() { process_.Kill(); }
  std::string url() const { return process_.url(); }
  ::eragon::testing::ServerProcess& process() { return process_; }

  // Start(), then the producer service "order-service" with `order_created` routed to the
  // ordered topic "orders": the set-up the producer tests share. Returns its token.
  Result<std::string> StartForOrders();

  // The token of a new service with the producer role.
  Result<std::string> CreateProducerService(const std::string& name);
  // PUT /v1/routes/{type}/producer {"producer": producer, "topic": topic, "ordered": true}.
  Status SetProducerRoute(const std::string& type, const std::string& producer,
                          const std::string& topic);
  // Every stored event of `type`, oldest first (GET /v1/events reversed, all pages).
  Result<std::vector<StoredEvent>> ListEvents(const std::string& type);
  // GET /v1/events/{id}: the HTTP status and body.
  Result<HttpReply> GetEvent(const std::string& id);

 private:
  Result<HttpReply> Admin(std::string_view method, const std::string& path,
                          std::string_view body = {});
  TlsClientFiles tls_;
  ::eragon::testing::ServerProcess process_;
};

// Checks a listing against what was published: every id in `want` exactly once, no id
// twice, at most `max_unlisted` ids that are not in `want` (events whose publish did not
// return before a crash), and each entity's events in increasing seq order. Returns ""
// or the problems.
std::string CheckExactlyOnceInOrder(const std::vector<StoredEvent>& stored,
                                    const std::vector<std::string>& want_ids,
                                    size_t max_unlisted = 0);

// A child process whose stdout the test reads line by line (the SDK helper programs).
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // kills a still-running child
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  Status Start(const std::vector<std::string>& argv);
  // Reads until `n` complete lines arrived in total, the child closed stdout, or `timeout`.
  // Returns all complete lines read so far.
  const std::vector<std::string>& ReadLines(size_t n, std::chrono::milliseconds timeout);
  // SIGKILL, then reads what the child had written before it died.
  void Kill9();
  // Waits for the exit; the exit code, or -1 when killed by a signal.
  int Wait();
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
};

}  // namespace eragon::sdk::producer_testing
