// Receiving eragond's HTTP pushes (API.md "HTTP push") in a C++ service.
//
// PushReceiver is framework-agnostic: hand it a request's method, headers and body, get
// back the status and body to answer. It verifies the Standard Webhooks signature
// (webhook-id, webhook-timestamp, webhook-signature) when a secret is set, rejects stale
// and future timestamps, parses the event (`format` eragon or cloudevents), runs the
// handler for its type and maps the handler's Status to the answer (eragon/handler.h):
// 2xx done, 4xx never retried (dead letter), 429/5xx retried by eragond.
//
// PushServer is a small embedded HTTP/1.1 server in front of a PushReceiver, for services
// without a web framework of their own.
//
//   eragon::PushReceiverOptions ro;
//   ro.secret = "whsec_...";              // the route's secret
//   eragon::PushReceiver receiver(ro);
//   receiver.On("order_created", [](const eragon::Delivery& d) { return eragon::Status::Ok(); });
//   eragon::PushServer server({.port = 9000}, &receiver);
//   if (eragon::Status st = server.Start(); !st.ok()) ...;
//   // route: {"type": "http", "url": server.url(), "secret": "whsec_..."}
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eragon/clock.h"
#include "eragon/handler.h"
#include "eragon/status.h"

namespace eragon {

struct PushReceiverOptions {
  // The route's signing secret ("whsec_" + base64). When set, every push must carry a
  // valid signature (else 401). Empty: signatures are not checked — only for a receiver
  // that nothing but eragond can reach.
  std::string secret;
  // Rotating on the receiver's side: pushes whose signatures match only this secret are
  // accepted too (set it to the old secret while the route changes to `secret`). During
  // eragond's own overlap (the route's secret_overlap_ms) every push carries both
  // signatures, so a receiver with either secret alone accepts it.
  std::string previous_secret;
  // webhook-timestamp may differ from this host's clock by at most this many seconds
  // either way (else 401): a captured push cannot be replayed later.
  int64_t timestamp_tolerance_s = 300;
  // The clock for that check. Null: Clock::System(). Must outlive the receiver.
  Clock* clock = nullptr;
};

// Header fields as received; names are matched case-insensitively.
using PushHeaders = std::vector<std::pair<std::string, std::string>>;

// What to answer. `body` is JSON: {} on success, else the API's error shape
// {"error":{"code":"...","message":"..."}}.
struct PushAnswer {
  int status = 200;
  std::string body;
};

class PushReceiver {
 public:
  // InvalidArgument from the first Handle when options.secret is set but malformed
  // (every push is then answered 500, so eragond retries until it is fixed).
  explicit PushReceiver(PushReceiverOptions options = {});

  // REQUIRES: before the first Handle.
  void On(std::string event_type, Handler handler);
  void OnAny(Handler handler);

  // Handles one push. Answers: 405 for a method other than POST; 401 for a missing,
  // wrong or stale signature (when a secret is set); 400 for a body that is not an event
  // in either format; 404 when no handler takes the event's type; else the handler's
  // verdict (200 for Ok). Thread-safe: may run on several threads at once.
  PushAnswer Handle(std::string_view method, const PushHeaders& headers,
                    std::string_view body) const;

 private:
  Status Verify(const PushHeaders& headers, std::string_view body) const;

  PushReceiverOptions options_;
  HandlerSet handlers_;
};

struct PushServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port (see port())
  // The path pushes are POSTed to; requests for other paths get 404.
  std::string path = "/events";
  // Threads serving connections; handlers run on them, so this is also the number of
  // handlers running at once (eragond pushes over up to max_in_flight connections).
  int threads = 2;
  // Larger bodies are answered 413 before they are read (eragond's events are <= 1 MiB).
  uint64_t max_body_bytes = 8u << 20;
};

class PushServer {
 public:
  // `receiver` must outlive the server.
  PushServer(PushServerOptions options, const PushReceiver* receiver);
  // Stops (with a short grace period) if still running.
  ~PushServer();
  PushServer(const PushServer&) = delete;
  PushServer& operator=(const PushServer&) = delete;

  // Binds, listens and starts the threads. An error when the address cannot be bound.
  // REQUIRES: called once.
  Status Start();
  // REQUIRES: Start() succeeded.
  uint16_t port() const;
  // "http://HOST:PORT/PATH", for the route's url. REQUIRES: Start() succeeded.
  std::string url() const;
  // Stops accepting, lets requests in progress finish for up to `grace_ms`, then closes
  // everything. Idempotent.
  void Stop(int grace_ms = 5'000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eragon
