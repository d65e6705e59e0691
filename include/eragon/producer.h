// Producer: publishes events to eragond (POST /v1/events) from a C++ service.
//
//   eragon::ProducerOptions o;
//   o.endpoint = "http://127.0.0.1:7070";
//   o.token = "ert_...";                       // a service with the producer role
//   o.queue = eragon::QueueKind::kFile;        // local event backup, survives a crash
//   o.backup_dir = "/var/lib/order-service/eragon-backup";
//   auto producer = eragon::Producer::Open(o);
//   auto ack = (*producer)->Publish({.event_type = "order_created", .entity_id = "o-1",
//                                    .data = R"({"total":12.5})"});
//   ack.get();  // Result<PublishAck>: ok once the server stored the event durably
//
// How it works: Publish validates the event, gives it a UUIDv7 id when it has none (and
// occurred_at = now when 0), and appends it to the queue. Background threads take events
// from the queue and POST them in batches. An entity id always maps to the same "lane"
// (murmur2 of the entity id, as the server partitions), and each lane sends one batch at a
// time, in order, retrying it until it is answered: events of one entity reach the server
// in publish order. Every retry sends the same ids, and the server's publish dedup turns
// a retried, already-stored event into a duplicate ack: the outcome is exactly-once.
//
// Outcomes: a 202 resolves each event with its id (duplicate = true when the server had
// it already). 408, 429, 5xx, timeouts and connection failures are retried with
// exponential backoff and full jitter (at least Retry-After when the server sends it). Any
// other 4xx fails for good: a batch is split in halves until the offending event is
// alone, which then fails with the server's error (kInvalidArgument, kUnauthenticated,
// kPermissionDenied, kUnknownEventType, kConflict, kTooLarge...), and the others go on.
//
// Thread safety: all methods may be called from any thread at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include "eragon/env.h"
#include "eragon/event.h"
#include "eragon/event_queue.h"
#include "eragon/status.h"
#include "eragon/tls.h"

namespace eragon {

enum class PublishMode {
  // Publish returns once the server acknowledged the event as durable (or it failed for
  // good): the returned future is ready, the callback has run.
  kSync,
  // Publish returns once the event is in the queue (file queue: stored per backup_fsync);
  // the future / callback resolves later, on the server's ack or a final failure.
  kAsync,
};

enum class QueueKind {
  kMemory,  // bounded, in memory: events not yet acknowledged are lost if the process dies
  kFile,    // the local event backup in backup_dir, replayed by the next Open after a crash
};

struct ProducerOptions {
  // "http://HOST:PORT" or "https://HOST:PORT" of eragond (optionally with a path prefix).
  // Required.
  std::string endpoint;
  // For an https endpoint: extra CAs, a client certificate (eragon/tls.h).
  TlsClientFiles tls;
  // Bearer token of a service with the producer role for the published types (or admin).
  std::string token;
  PublishMode mode = PublishMode::kAsync;

  QueueKind queue = QueueKind::kMemory;
  // kFile: the backup directory (created when missing; one producer per directory).
  std::string backup_dir;
  // kFile: when an appended event is durable; see BackupFsync in event_queue.h.
  BackupFsync backup_fsync = BackupFsync::kGroup;
  int64_t backup_fsync_interval_ms = 100;  // for BackupFsync::kInterval
  uint64_t backup_segment_bytes = 16ull << 20;
  // The file system for the backup; nullptr means Env::Default(). Must outlive the producer.
  Env* env = nullptr;

  // Capacity of the queue: events published and not yet acknowledged (or failed).
  uint64_t queue_max_events = 100'000;
  uint64_t queue_max_bytes = 64ull << 20;
  // When the queue is full, Publish waits this long for space, then fails with
  // kResourceExhausted. 0 fails at once.
  int64_t queue_full_block_ms = 10'000;

  // A batch is sent when it has batch_max_events events or batch_max_bytes of event JSON,
  // or (async mode) when its oldest event has waited linger_ms. The server takes at most
  // 1000 events and 8 MiB per request. In sync mode batches form from concurrent callers
  // while a request is in flight; nothing waits for linger.
  size_t batch_max_events = 500;
  uint64_t batch_max_bytes = 4ull << 20;
  int64_t linger_ms = 5;
  // Ordered pipelines, each with its own keep-alive connection. An entity always uses the
  // same lane; more lanes mean more requests in flight.
  int lanes = 4;

  // Retries of one batch after its first attempt; -1 retries until the event is
  // acknowledged or the producer closes (then a file queue keeps it for the next Open).
  int max_retries = -1;
  // Backoff before retry n (from 0): uniform in [0, min(max, initial * 2^n)] ms.
  int64_t retry_backoff_initial_ms = 100;
  int64_t retry_backoff_max_ms = 10'000;
  int64_t connect_timeout_ms = 5'000;
  int64_t request_timeout_ms = 30'000;

  // Close() waits up to this long for the queue to drain; see Close.
  int64_t close_timeout_ms = 30'000;

  // Called (from a publisher thread; several may call at once) when an event replayed from
  // the backup — which has no caller waiting for it — fails for good. May be empty.
  std::function<void(const std::string& event_id, const Status& error)> on_replayed_failure;

  // Instead of `queue`: a queue of your own (any EventQueue implementation). The producer
  // closes it on Close() and keeps it alive as long as needed.
  std::shared_ptr<EventQueue> custom_queue;
};

struct PublishAck {
  std::string id;          // the event's id (assigned by the producer when it had none)
  bool duplicate = false;  // the server had already stored this id (a retry succeeded earlier)
};

using PublishFuture = std::future<Result<PublishAck>>;
// Runs on a publisher thread: keep it short; do not call Flush or Close from it, nor a
// Publish that may block (sync mode, or a full queue) — the lane waits for the callback.
using PublishCallback = std::function<void(const Result<PublishAck>&)>;

struct ProducerStats {
  uint64_t acked = 0;     // events the server acknowledged (duplicates included)
  uint64_t failed = 0;    // events that failed for good
  uint64_t requests = 0;  // POST /v1/events attempts
  uint64_t retries = 0;   // attempts that were retries
  QueueStats queue;
};

class Producer {
 public:
  // Validates the options, opens the queue (for kFile: recovers the backup, whose
  // unacknowledged events are published again) and starts the publisher threads.
  static Result<std::unique_ptr<Producer>> Open(ProducerOptions options);
  // Close().
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Publishes `event` (see PublishMode). Errors before the event is queued resolve the
  // future at once: kInvalidArgument / kInvalidJson for a bad event (nothing queued),
  // kResourceExhausted when the queue stayed full for queue_full_block_ms, kUnavailable
  // after Close(), kReadOnly once the backup failed (a failed fsync is never retried).
  PublishFuture Publish(Event event);
  // The same with a callback. Returns the error when the event was not queued; then
  // `done` is not called. Otherwise `done` is called exactly once.
  Status Publish(Event event, PublishCallback done);

  // Publishes several events with one queue append: for the file queue one write and one
  // fsync for all of them (the way to reach disk bandwidth from few threads). All or
  // none: when an event is invalid (the error names its index) or the queue has no room
  // for all within queue_full_block_ms, nothing is queued and the error is returned.
  // Otherwise one future per event, in order (sync mode: all resolved on return).
  Result<std::vector<PublishFuture>> PublishBatch(std::vector<Event> events);

  // Waits until every event published before the call is resolved (acknowledged or
  // failed; their futures ready, callbacks run), sending batches without linger meanwhile.
  // kUnavailable when `timeout` passes first.
  Status Flush(std::chrono::milliseconds timeout);

  // Stops accepting events, waits up to close_timeout_ms for the queue to drain, then
  // stops the publisher threads (a request in flight finishes or times out first). Events
  // still unacknowledged then resolve with kUnavailable: a memory queue drops them; a file
  // queue keeps them on disk and the next Open publishes them (same ids). Returns
  // kUnavailable when events were left, the backup's error when it failed, else Ok.
  // Idempotent.
  Status Close();

  ProducerStats Stats() const;

  struct Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eragon
