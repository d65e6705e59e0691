// ConsumerWorker: the delivery state machine of one consumer on one topic, covering every
// event type of the topic the consumer is routed to.
//
// It reads the topic's partitions from the consumer's committed position (the log is the
// queue: nothing is handed over by the publish path), keeps a bounded window of events
// not yet done, and delivers them by HTTP push (PushClient) or hands them to pull
// fetches. Ordered topics: only the oldest not-done event of an entity is eligible, so one
// entity's events go strictly one after another across types, and a failing entity holds
// back only itself. Unordered topics: every event in the window is eligible, up to
// max_in_flight at once.
//
// Durable state: the committed position (lowest not-done offset per partition) is
// committed by the Dispatcher; every finished or retrying event has a DeliveryState in
// the DeliveryStore, so a restart skips what was done above the committed position and
// resumes retries with their attempt counts and times.
//
// Circuit breaker: retryable failures on kCircuitEntities different entities in a row
// open the circuit: attempts of that streak are refunded, no more attempts are made, and
// one probe (not counted) goes out with exponential backoff until a 2xx closes it.
//
// Structure: the worker is the composition of four plain state objects, called under its
// one mutex (as LevelDB's VersionSet under DBImpl's): DeliveryWindow (slots, queues,
// positions), RetryScheduler (timers, backoff, circuit breaker), DedupGate (keys in
// flight) and PullLeases (leases, ack ids); plus the I/O: log reads through the
// RecordCache, pushes through the PushClient, writes to the DeliveryStore.
//
// Thread-safety: every public method takes the worker's mutex; push completions arrive
// on the PushClient's threads. Memory: at most kMaxWindow events per worker.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "channel/channel.h"
#include "config/config_store.h"
#include "dispatch/dedup_gate.h"
#include "dispatch/delivery_store.h"
#include "dispatch/delivery_window.h"
#include "dispatch/pull_leases.h"
#include "dispatch/push_client.h"
#include "dispatch/record_cache.h"
#include "dispatch/retry_scheduler.h"
#include "eragon/clock.h"
#include "eragon/event.h"
#include "filter/filter.h"

namespace eragon::dispatch {

// What the dispatcher reports to metrics and platform events; every member may be empty.
// They are called while a worker's mutex is held (from the dispatcher's loop or a push
// answer): each must return at once, never block, and never call into the dispatcher.
struct DeliveryObserver {
  // `count` events of the consumer had this outcome: delivered | retry | dead |
  // skipped_duplicate | filtered (filtered ones are reported once per log read).
  std::function<void(const std::string& consumer, const char* outcome, uint64_t count)> outcome;
  // Seconds from the event's append to the log to its 2xx/ack.
  std::function<void(const std::string& consumer, double seconds)> latency;
  // An event went dead for the consumer (its dead letter is in the worker's pending batch).
  std::function<void(const std::string& consumer, const DeadLetter& dead)> dead_lettered;
  // The consumer's circuit on `topic` opened (open) or closed at `at_ms`; `last_error` is
  // the failure that opened it (empty when closing).
  std::function<void(const std::string& consumer, const std::string& topic, bool open,
                     int64_t at_ms, const std::string& last_error)>
      circuit;
  // Every attempt of route (event_type, consumer) has failed since `failing_since` (wall
  // ms) for at least its disable_after_ms: the route should be disabled (asked once per
  // streak; the streak ends with a success or a change of the route).
  std::function<void(const std::string& event_type, const std::string& consumer,
                     const std::string& reason, int64_t failing_since)>
      disable;
};

struct WorkerContext {
  channel::Topic* topic = nullptr;
  RecordCache* records = nullptr;  // the topic's, shared by its workers
  channel::PositionStore* positions = nullptr;
  DeliveryStore* store = nullptr;
  PushClient* push = nullptr;
  Clock* clock = nullptr;
  const DeliveryObserver* observer = nullptr;
  std::function<void()> wake;         // asks the dispatcher to Pump soon
  bool record_attempts = true;        // attempt histories in the store (AddAttempt)
  const std::string* node = nullptr;  // this eragond's name in them (null: "")
};

// A message handed to a pull fetch. The event is the one the window (and the topic's
// RecordCache) holds: shared, never copied per fetch.
struct PulledMessage {
  std::string ack_id;
  uint32_t attempt = 0;
  std::shared_ptr<const Event> event;
};

// One delivery named by an ack id (see Dispatcher::Ack).
// The partitions a replay or seek moved, of the topic's.
struct Moved {
  size_t partitions = 0;
  size_t of = 0;
};

struct AckRef {
  uint32_t partition = 0;
  uint64_t offset = 0;
  uint64_t tag = 0;
  bool acked = false;  // set by AckMany: the id was current here
};

// Cluster mode (worker_ownership.cc): the worker is its consumer group member's
// PartitionOwner and delivers only the partitions the group assigns to this node.
class ConsumerWorker : public std::enable_shared_from_this<ConsumerWorker>,
                       public channel::PartitionOwner {
 public:
  ConsumerWorker(std::string consumer, bool ordered, WorkerContext ctx);

  // Cluster mode, before the first SetRoutes: no partition is delivered until the group
  // assigns it (Assign), each starting from the group's position.
  void SplitWork();
  // PartitionOwner (called on the group member's thread). Revoke waits up to
  // kRevokeWaitMs for the partitions' pushes and pull leases in flight to end; those
  // still out then are dropped (the next owner delivers them again: at-least-once).
  std::vector<channel::PositionStore::Entry> Assign(
      std::span<const channel::PartitionOwner::Assigned> partitions) override;
  std::vector<channel::PositionStore::Entry> Revoke(std::span<const uint32_t> partitions,
                                                    bool lost) override;
  static constexpr int64_t kRevokeWaitMs = 2000;
  // The partitions this node delivers now (all of them unless SplitWork).
  size_t DeliveringPartitions();

  const std::string& consumer() const { return consumer_; }
  const std::string& topic_name() const { return ctx_.topic->name(); }

  // Replaces the consumer's routes for this topic's event types. New events use them;
  // events already in the window pick up a changed URL or policy at their next attempt;
  // events of a type no longer routed are dropped. On the first call, a partition without
  // a committed position starts at the end (start "latest") or the beginning ("earliest").
  void SetRoutes(std::map<std::string, config::ConsumerRoute> routes);

  // Reads, delivers, fires due retries and expires pull leases; first writes the delivery
  // states gathered since the last Pump (see pending_). Returns the wall ms at which it
  // wants to be called again without a wake-up (INT64_MAX: none).
  int64_t Pump();
  // Whether something happened since the last Pump that it should look at (an answer, an
  // ack, an admin operation), and the wall ms its last Pump asked to be called at. The
  // dispatcher pumps a worker only when it is dirty, due, or new records arrived.
  bool dirty() const { return dirty_.load(std::memory_order_acquire); }
  int64_t pump_at() const { return pump_at_.load(std::memory_order_acquire); }

  // Shutdown: starts no more pushes, so the dispatcher can wait for those out to be
  // answered (PushesInFlight) and record them before it commits and stops.
  void Drain();
  bool PushesInFlight();

  // Committed positions that changed since the last call (for PositionStore::Commit).
  std::vector<channel::PositionStore::Entry> TakeCommitted();

  // Pull: up to `max` ready messages, leased for ack_timeout_ms.
  void Fetch(size_t max, int64_t ack_timeout_ms, std::vector<PulledMessage>* out);
  bool HasPullReady();
  // Ack/nack of one delivery (partition, offset, tag from the ack id); false when stale.
  // An ack is recorded with the worker's pending writes; the caller makes the acks
  // durable with FlushAcks() before answering. The acked message's dedup key stays held
  // (copies wait) until then: a copy checked in between would miss the claim.
  bool Ack(uint32_t partition, uint64_t offset, uint64_t tag);
  // Acks of one request under one lock; returns how many were not stale (and marks them).
  size_t AckMany(std::span<AckRef> acks);
  // Writes the pending batch under the worker's mutex, then fsyncs the store's WAL
  // outside it (DeliveryStore::Sync shares one fsync between concurrent callers), so
  // fetches, other acks and the dispatcher's Pump do not wait for the disk.
  Status FlushAcks();
  bool Nack(uint32_t partition, uint64_t offset, uint64_t tag, int64_t delay_ms);

  // Replay: deliver again everything retained since from_ms.
  Status Replay(int64_t from_ms, bool ignore_dedup, Moved* moved = nullptr);
  // Seek: continue from the end (to_ms < 0) or from the first event at/after to_ms.
  // Both move every partition; in cluster mode only those this node owns now (*moved
  // says how many of how many).
  Status Seek(int64_t to_ms, Moved* moved = nullptr);
  // Redrive dead letters: delivered again now, dedup ignored, attempts start at zero.
  // The caller marks them in the store first (DeliveryBatch::MarkRedrive), so a restart
  // goes on with the redrive; the worker removes each mark when that delivery ends. The
  // marks are the queue: the worker holds at most kMaxRedrivesInMemory of them in memory
  // and loads more as those end (LoadRedrives), so a redrive of millions costs a page.
  void RedrivesMarked();
  static constexpr size_t kMaxRedrivesInMemory = 256;

  // The state of one event for this consumer, if the consumer has seen it.
  std::optional<DeliveryState> StateOf(uint32_t partition, uint64_t offset);
  // The event's attempt history for this consumer (pending records written first).
  std::vector<AttemptRecord> AttemptsOf(uint32_t partition, uint64_t offset);
  // Drops the histories of events below each partition's start (retention removed them).
  void SweepAttempts();

  struct Stats {
    uint64_t lag_events = 0;
    int64_t lag_ms = 0;  // age of the oldest not-done event
    bool circuit_open = false;
    size_t window = 0;
    size_t redrives = 0;  // redriven dead letters held in memory
  };
  Stats GetStats();

 private:
  // All private methods require mu_ (Fill releases it while it reads the log).
  void InitPositions();
  // worker_ownership.cc
  std::vector<uint32_t> MovablePartitions() const;  // REQUIRES: mu_
  bool Delivers(uint32_t partition) const {
    return !split_ || partition == kRedrivePartition || owned_[partition] == kOwned;
  }
  void AssignLocked(const channel::PartitionOwner::Assigned& a);
  bool InFlightOn(std::span<const uint32_t> partitions);
  void DropPartition(uint32_t partition);  // its slots, queue entries and dedup holds
  void CompileFilters();
  uint64_t FreshStart(uint32_t partition);
  void RequestPump();
  // Writes pending_ (with attempts_ when `with_attempts` or it grew past its bound).
  Status FlushPending(bool sync, bool with_attempts = false);
  void AddRedrives(std::vector<DeadLetter> dead);
  void LoadRedrives();
  const config::ConsumerRoute* RouteOf(Slot& slot);
  void Fill(std::unique_lock<std::mutex>& lock);  // unlocks mu_ around log reads
  void Admit(uint32_t p, const CachedRecord& rec, int64_t now);
  void MakeEligible(const SlotKey& key, Slot& slot);
  void ReleaseTimers(int64_t now);
  void ExpireLeases(int64_t now);
  void SendReady(int64_t now);
  void SendProbe(int64_t now);
  void Send(const SlotKey& key, Slot& slot, int64_t now);
  void OnPushDone(SlotKey key, uint64_t tag, PushResult result);
  void OnRetryable(const SlotKey& key, Slot& slot, int32_t status, std::string error,
                   std::optional<int64_t> retry_after_ms, int64_t now);
  void OpenCircuit(int64_t now);
  void ScheduleRetry(const SlotKey& key, Slot& slot, std::optional<int64_t> retry_after_ms,
                     int64_t now);
  // A failed pull delivery (lease expired, nack): dead, dropped or retried after delay_ms.
  // Returns true when it goes back to a queue.
  bool RetryPull(const SlotKey& key, Slot& slot, int64_t now, int64_t delay_ms);
  void Deliver(const SlotKey& key, Slot& slot, int64_t now);
  void PutState(const SlotKey& at, const DeliveryState& st);
  void Dead(const SlotKey& key, Slot& slot, int64_t now);
  void Complete(const SlotKey& key, Slot& slot);
  bool CheckDedup(const SlotKey& key, Slot& slot, const config::ConsumerRoute& route, int64_t now);
  void SkipDuplicate(uint32_t partition, uint64_t offset);
  // The route's filter rejects the event: state `filtered`, done like a delivered one.
  bool Filtered(const config::ConsumerRoute& route, uint32_t partition, const CachedRecord& rec);
  void ReleaseDedup(Slot& slot);
  void RequeueParked();  // the slots in parked_ that still wait go back to ready
  void PersistRetrying(const SlotKey& key, const Slot& slot);
  void ResetWindow();
  void Observe(const char* outcome, uint64_t count = 1);
  // Adds an attempt of the slot's event to attempts_ (when recording is on). Push and
  // probe: started at slot.sent_ms; the others happen at `now`, ack/nack/timeout lasting
  // since the fetch.
  void RecordAttempt(const SlotKey& key, const Slot& slot, AttemptKind kind, int32_t status,
                     std::string_view error, int64_t now);
  // worker_health.cc: what platform events and auto-disable need to know.
  void AttemptFailed(Slot& slot, int64_t now);  // a push or pull attempt failed
  void AttemptSucceeded(const Slot& slot);      // 2xx or ack
  void ForgetStreaks();                         // SetRoutes: drop changed routes'
  void ReportCircuit(bool open, int64_t now, const std::string& last_error);
  void ReportDead(const DeadLetter& dead);

  const std::string consumer_;
  WorkerContext ctx_;

  std::mutex mu_;
  bool initialized_ = false;
  bool redrives_in_store_ = false;   // redrive marks may exist that are not loaded yet
  int64_t redrives_checked_ms_ = 0;  // cluster mode: when the marks were last looked for
  static constexpr int64_t kRedriveCheckMs = 2'000;
  std::map<std::string, config::ConsumerRoute> routes_;
  uint64_t routes_gen_ = 1;  // changes with routes_ (the pointers Slot::route caches die)
  // The compiled filters of routes_ that have one, by event type; a filter is compiled
  // again only when its text changed (SetRoutes).
  std::map<std::string, std::shared_ptr<const filter::Filter>, std::less<>> filters_;
  uint64_t filtered_unreported_ = 0;  // for Observe, once per Fill
  DeliveryWindow window_;
  RetryScheduler retry_;
  DedupGate dedup_;
  PullLeases leases_;
  // Delivery states, dead letters and dedup claims not written yet: every change of this
  // worker goes here, in order, and is written as one batch by the next Pump (or sooner:
  // FlushAcks, TakeCommitted, StateOf, Replay, Seek), never after a position that passes
  // it is committed. The dedup keys claimed in it stay held (DedupGate) until it is written.
  DeliveryBatch pending_;
  // Attempt records not written yet. They join pending_ when positions are taken for a
  // commit (so the dispatcher's Sync covers them with the states they go with), with pull
  // acks (fsynced before the answer), before a history is read, and once they pass
  // kMaxAttemptBytes: a commit interval's attempts make one merge per block of offsets
  // (RocksDeliveryStore) instead of one write per attempt. A crash loses only records
  // whose states were not fsynced either.
  DeliveryBatch attempts_;
  static constexpr size_t kMaxAttemptBytes = 1 << 20;
  bool pending_refused_ = false;  // the store refused pending_ (full, unreachable): kept
  std::vector<SlotKey> parked_;   // scratch: slots a DedupGate release hands back
  size_t in_flight_ = 0;
  bool draining_ = false;
  int64_t next_send_ns_ = 0;  // rate limit
  // Failing streaks of routes with disable_after_ms, by event type: since when every
  // attempt failed (wall ms), the route version (updated_at) it counts for, and whether
  // the disable was asked for. Empty unless such a route fails, so successes cost a test.
  struct FailStreak {
    int64_t since = 0;
    int64_t route_updated_at = 0;
    bool asked = false;
  };
  std::map<std::string, FailStreak, std::less<>> streaks_;

  // Cluster mode: per partition whether this node delivers it; Assign calls that came
  // before the first SetRoutes wait in early_assigned_. ownership_gen_ changes with each
  // Assign and Revoke (Fill drops a read that spanned one).
  enum : uint8_t { kNotOwned = 0, kOwned = 1, kRevoking = 2 };
  bool split_ = false;
  std::vector<uint8_t> owned_;
  std::vector<channel::PartitionOwner::Assigned> early_assigned_;
  uint64_t ownership_gen_ = 0;

  std::vector<uint64_t> attempts_swept_;  // per partition: histories below are dropped
  std::atomic<bool> dirty_{true};
  std::atomic<int64_t> pump_at_{0};
};

}  // namespace eragon::dispatch
