// KafkaConsumer: for a consumer route with "type": "kafka" (API.md "Channels: Kafka"): the
// application reads the route's Kafka topic itself, with its own consumer group, and runs
// the same handlers as the pull Consumer (eragon/handler.h).
//
//   eragon::KafkaConsumerOptions o;       // from the route's echo "kafka": {...}
//   o.bootstrap = "127.0.0.1:9092";
//   o.topic = "eragon.orders";
//   o.group = "notification-service";
//   o.concurrency = 8;
//   eragon::KafkaConsumer consumer(o);
//   consumer.On("order_created", [](const eragon::Delivery& d) { ...; return eragon::Status::Ok();
//   }); if (eragon::Status st = consumer.Start(); !st.ok()) ...;
//   ...
//   consumer.Stop();                      // finishes running handlers, commits, leaves the group
//
// Over librdkafka's high-level consumer: group `group`, subscribed to `topic`, offsets
// committed by this class only (enable.auto.commit=false).
//
// Ordering: never two events of one entity at once; one entity's events run in partition
// order (Eragon puts all of an entity's events in one partition). Entities run in parallel
// on `concurrency` threads.
//
// Failures: a handler that fails (an error, an exception, no handler for the type) is run
// again with the same event after a backoff, in place: the entity's later events wait, the
// consumer never skips ahead. It is retried until it succeeds, or until Stop() or a
// rebalance takes its partition away (then it is not committed, and whoever reads the
// partition next gets it again). A retrying event occupies its handler thread.
//
// Commits: a partition's offset is committed only up to the first record whose handler has
// not succeeded yet (the contiguous done offset), every `commit_interval_ms`, on a
// rebalance and at Stop(). A record that is not an Eragon event (written by another
// client) is reported through on_error and passed over.
//
// Delivery is at-least-once: after a crash, a kill or a lost commit, the events handled
// since the last commit are handled again (by this or another instance of the group).
//
// Thread safety: On/OnAny before Start; Start, Stop and stats from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "eragon/handler.h"
#include "eragon/status.h"

namespace eragon {

struct KafkaConsumerOptions {
  // Where to read: the route echo's kafka.bootstrap ("host:port[,host:port...]"),
  // kafka.topic (the Kafka topic, e.g. "eragon.orders") and kafka.group.
  std::string bootstrap;
  std::string topic;
  std::string group;

  // Handler threads (1..1024).
  int concurrency = 1;
  // Records held at once, received but not yet handled (1..1000000); above it the consumer
  // pauses its partitions (it keeps polling, so the group membership stays alive).
  int max_records = 1'000;
  // Where a partition without a committed offset of the group starts: the oldest record
  // (auto.offset.reset=earliest) or only records that arrive after the start (latest).
  bool from_earliest = true;
  // How often done offsets are committed while running (1..3600000 ms).
  int commit_interval_ms = 1'000;
  // A failed handler runs again after a delay that starts here and doubles (with jitter)
  // up to the maximum.
  int retry_initial_backoff_ms = 100;
  int retry_max_backoff_ms = 10'000;

  // Dedup by event id: the ids of the last `dedup_capacity` events whose handler succeeded
  // in this KafkaConsumer object (an LRU in memory; 0 = off, up to 10,000,000). A record
  // whose event id is among them is not handled again, only committed. It covers copies of
  // an event read by this same instance since Start: an event stored twice by a retried
  // publish (API.md "Known limitations"), and records read again after a rebalance gave a
  // partition back to this instance before its commit landed. It does NOT cover events
  // handled by another instance of the group, before a restart, or more than
  // `dedup_capacity` distinct events ago: handlers that must never repeat work still
  // dedupe on event.id in their own store.
  size_t dedup_capacity = 0;

  // Extra librdkafka properties (TLS, SASL, session.timeout.ms, ...). bootstrap.servers,
  // group.id, enable.auto.commit, enable.auto.offset.store and auto.offset.reset come from
  // the fields above and cannot be overridden here.
  std::vector<std::pair<std::string, std::string>> config;

  // Called for every error the consumer recovers from by itself (a handler failure, a
  // record that is not an event, a failed commit, a broker error), from its threads.
  // Must be thread-safe and quick. Null: errors are not reported.
  std::function<void(const Status&)> on_error;
};

// Counters since Start (individual atomics).
struct KafkaConsumerStats {
  uint64_t received = 0;    // records polled from Kafka
  uint64_t succeeded = 0;   // handler returned Ok
  uint64_t failed = 0;      // handler runs that failed (each retry counts)
  uint64_t duplicates = 0;  // records passed over by dedup
  uint64_t skipped = 0;     // records that were not Eragon events
  uint64_t commits = 0;     // offset commits the group coordinator accepted
  uint64_t commit_errors = 0;
  uint64_t rebalances = 0;  // assignments and revocations
};

class KafkaConsumer {
 public:
  explicit KafkaConsumer(KafkaConsumerOptions options);
  // Stops (gracefully) if still running.
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Registers the handler for one event type / for every other type. REQUIRES: before Start.
  void On(std::string event_type, Handler handler);
  void OnAny(Handler handler);

  // Validates the options (InvalidArgument naming the field; also when no handler is
  // registered), creates the Kafka consumer, subscribes and starts the threads. Does not
  // wait for the brokers: librdkafka connects and joins the group in the background,
  // reporting errors through on_error. REQUIRES: called once.
  Status Start();

  // Graceful stop: nothing new starts; running handlers finish (a retrying one after its
  // current attempt); done offsets are committed; the consumer leaves the group at once,
  // so the others take its partitions over without waiting for a session timeout. Records
  // received but not started are not committed: the group reads them again. Idempotent.
  void Stop();

  KafkaConsumerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eragon
