// Consumer: a loop over eragond's pull API (API.md "Pull"): fetch (long-poll), run a
// handler per event type on N threads, ack what succeeded, nack with a delay what failed.
//
//   eragon::ConsumerOptions o;
//   o.endpoint = "http://127.0.0.1:7070";
//   o.token = token;                      // the consumer service's token
//   o.consumer = "notification-service";
//   o.concurrency = 8;
//   eragon::Consumer consumer(o);
//   consumer.On("order_created", [](const eragon::Delivery& d) { ...; return eragon::Status::Ok();
//   }); if (eragon::Status st = consumer.Start(); !st.ok()) ...;
//   ...
//   consumer.Stop();                      // finishes running handlers, acks them
//
// Ordering: the consumer never runs two events of one entity id at the same time, and
// runs one entity's events in the order they were fetched. With eragond's guarantee for
// ordered topics (at most one unacked message per entity), each entity's events reach
// the handlers in publish order, across event types, at any concurrency.
//
// Delivery is at-least-once: an event is handled again when its ack was lost (server
// unreachable, ack timeout passed) or its handler failed. Handlers that must not repeat
// work dedupe on the event id, or the route uses `dedup`.
//
// Thread safety: On/OnAny before Start; Start, Stop and stats from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "eragon/handler.h"
#include "eragon/status.h"
#include "eragon/tls.h"

namespace eragon {

struct ConsumerOptions {
  // eragond's base URL, "http://HOST:PORT" or "https://HOST:PORT".
  std::string endpoint = "http://127.0.0.1:7070";
  // For an https endpoint: extra CAs, a client certificate (eragon/tls.h).
  TlsClientFiles tls;
  // A token of the consumer service (role consumer), or an admin token.
  std::string token;
  // The consumer's service name (^[a-z0-9][a-z0-9-]{0,63}$); its pull routes are fetched.
  std::string consumer;

  // Messages per fetch (1..1000). Also the most messages held at once, fetched but not
  // yet handled: the loop fetches only as many as that leaves room for.
  int max_messages = 100;
  // How long one fetch waits for a first message (0..60000 ms). Stop() waits for a fetch
  // in progress, so this also bounds how long Stop() takes beyond running handlers.
  int wait_ms = 2'000;
  // eragond redelivers a message not acked within this (1 ms .. 12 h). Must cover the
  // time a message waits here for a handler thread plus the handler itself.
  int ack_timeout_ms = 30'000;
  // Handler threads (1..1024).
  int concurrency = 1;
  // A failed handler's event is nacked with this delay before eragond offers it again.
  int nack_delay_ms = 1'000;

  // While eragond is unreachable or answers 429/5xx, fetches, acks and nacks are retried
  // after a delay that starts here and doubles (with jitter) up to the maximum.
  int retry_initial_backoff_ms = 100;
  int retry_max_backoff_ms = 10'000;
  // Connecting, and reading one answer beyond the fetch's wait_ms.
  int connect_timeout_ms = 5'000;
  int request_timeout_ms = 30'000;
  // Stop(): how long it keeps trying to deliver the last acks and nacks when eragond is
  // unreachable. Anything not acked by then is delivered again later.
  int stop_timeout_ms = 10'000;

  // Called for every error the loop recovers from by itself (eragond unreachable, an
  // unexpected answer, an event that could not be parsed, a handler failure), from the
  // consumer's threads. Must be thread-safe and quick. Null: errors are not reported.
  std::function<void(const Status&)> on_error;
};

// Counters since Start; each read is a consistent-enough snapshot (individual atomics).
struct ConsumerStats {
  uint64_t fetched = 0;       // messages received from fetches
  uint64_t succeeded = 0;     // handler returned Ok
  uint64_t failed = 0;        // handler failed, threw, or no handler for the type
  uint64_t acked = 0;         // acks eragond counted ({"acked": n})
  uint64_t nacked = 0;        // nacks eragond counted
  uint64_t fetch_errors = 0;  // fetches that failed (transport or non-200)
};

class Consumer {
 public:
  explicit Consumer(ConsumerOptions options);
  // Stops (gracefully) if still running.
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Registers the handler for one event type / for every other type. REQUIRES: before Start.
  void On(std::string event_type, Handler handler);
  void OnAny(Handler handler);

  // Validates the options (InvalidArgument naming the field; also when no handler is
  // registered) and starts the fetch, handler and ack threads. Does not wait for eragond:
  // while it is unreachable the loop retries with backoff and reports through on_error.
  // REQUIRES: called once.
  Status Start();

  // Graceful stop: no new fetches; a fetch in progress finishes (at most wait_ms);
  // running handlers finish and their results are acked / nacked; messages fetched but
  // not started are nacked with no delay so eragond offers them again at once. Returns
  // when the last acks were answered or stop_timeout_ms passed. Idempotent.
  void Stop();

  ConsumerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eragon
