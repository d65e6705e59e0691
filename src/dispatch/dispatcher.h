// Dispatcher: every event reaches every consumer routed to it (API.md "HTTP push",
// "Pull", "Dead letters and replay").
//
// It keeps one ConsumerWorker per (consumer, topic) the routing table asks for, following
// route changes within half a second (a consumer added at run time starts, a removed one
// stops, no restart), runs them from one loop thread that wakes on new durable records,
// push answers and timers, commits their positions every 100 ms, and serves pull fetches
// (long-polled), acks and nacks and the admin operations. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "channel/channel.h"
#include "config/config_store.h"
#include "dispatch/consumer_worker.h"
#include "dispatch/delivery_store.h"
#include "dispatch/push_client.h"
#include "dispatch/record_cache.h"

namespace eragon::dispatch {

struct DeliveryView {
  std::string consumer;
  DeliveryState state;
};

struct AttemptView {
  std::string consumer;
  AttemptRecord record;
};

struct ConsumerStats {
  std::string consumer;
  std::string topic;
  ConsumerWorker::Stats stats;
};

// REQUIRES: the PushClient is stopped (its callbacks have returned) before the Dispatcher
// is destroyed; the stores and the log outlive both.
class Dispatcher {
 public:
  struct Deps {
    config::ConfigStore* store = nullptr;
    channel::Channel* logs = nullptr;
    DeliveryStore* deliveries = nullptr;
    PushClient* push = nullptr;
    Clock* clock = nullptr;
    DeliveryObserver observer;
    // Attempt histories (API.md "Delivery attempts"): recorded with the delivery states
    // unless turned off (eragond --record-attempts=false); `node` names this eragond in them.
    bool record_attempts = true;
    std::string node;
  };
  explicit Dispatcher(Deps deps);
  ~Dispatcher();

  void Start();
  // Lets pushes in flight be answered (up to 2 s, starting no new ones), then stops the
  // loop and commits positions. Pending fetches are answered empty.
  void Stop();
  // Re-reads the routing table now (after a change made through this node), on the
  // calling thread: the workers have the new routes when it returns. Not from the
  // dispatcher's own callbacks (it takes the workers' locks).
  void RoutesChanged();

  using FetchDone = std::function<void(std::vector<PulledMessage>)>;
  // Long-polls up to wait_ms for at least one message over all the consumer's pull routes.
  void Fetch(const std::string& consumer, size_t max, int64_t wait_ms, int64_t ack_timeout_ms,
             FetchDone done);
  // Durable (fsynced) before it returns. Stale or unknown ids are not counted; when
  // `missed` is given, they are appended to it (in a cluster another node may hold them).
  Result<size_t> Ack(const std::string& consumer, const std::vector<std::string>& ack_ids,
                     std::vector<std::string>* missed = nullptr);
  Result<size_t> Nack(const std::string& consumer, const std::vector<std::string>& ack_ids,
                      int64_t delay_ms, std::vector<std::string>* missed = nullptr);

  // Admin operations on the consumer route (event_type, consumer). NotFound when there is
  // no such route.
  // In cluster mode they move the partitions this node owns (*moved: how many of how many).
  Status Replay(const std::string& event_type, const std::string& consumer, int64_t from_ms,
                bool ignore_dedup, Moved* moved = nullptr);
  Status Seek(const std::string& event_type, const std::string& consumer, int64_t to_ms,
              Moved* moved = nullptr);
  // Redrives the dead letters with these event ids (all when empty); returns how many.
  Result<size_t> Redrive(const std::string& event_type, const std::string& consumer,
                         const std::vector<std::string>& ids);
  // Forgets what a removed consumer route leaves behind.
  Status RouteRemoved(const std::string& event_type, const std::string& consumer);

  // Each routed consumer's delivery state of the event stored at (topic, partition, offset).
  std::vector<DeliveryView> DeliveriesOf(const std::string& event_type, const std::string& topic,
                                         uint32_t partition, uint64_t offset);
  std::vector<ConsumerStats> Stats();
  // The attempt histories of the event at (topic, partition, offset) of each consumer
  // routed to its type (only `consumer` when not empty), by consumer name.
  std::vector<AttemptView> AttemptsOf(const std::string& event_type, const std::string& topic,
                                      uint32_t partition, uint64_t offset,
                                      const std::string& consumer);
  // Drops the attempt histories of events the log's retention removed (after RunRetention).
  void SweepAttempts();
  // The (consumer route, partition) pairs this node delivers now: every partition of each
  // worker's topic, or in cluster mode only those its consumer groups assign to this node.
  size_t DeliveringPartitions() const;

 private:
  using WorkerKey = std::pair<std::string, std::string>;  // (consumer, topic)
  struct PendingFetch {
    std::string consumer;
    size_t max;
    int64_t deadline_ms;
    int64_t ack_timeout_ms;
    FetchDone done;
  };

  void Loop();
  void Wake();     // run the loop soon (workers that asked are dirty themselves)
  void WakeAll();  // and pump every worker (new records, route changes)
  void RefreshRoutes();
  void RefreshRoutesLocked();  // REQUIRES: refresh_mu_
  void CommitPositions();
  void DrainPushes();
  // Cluster mode (dispatcher_groups.cc): joins each new worker's consumer group (when the
  // topic's channel splits work); false when a join failed (the workers are dropped and
  // tried again at the next refresh, with every route update). Leaving a group revokes
  // and commits first.
  bool JoinGroups(
      const std::vector<std::pair<WorkerKey, std::shared_ptr<ConsumerWorker>>>& created);
  void LeaveGroups(std::vector<std::unique_ptr<channel::GroupMember>> members);
  void ServeFetches(bool final);
  std::vector<std::shared_ptr<ConsumerWorker>> WorkersOf(const std::string& consumer);
  std::shared_ptr<ConsumerWorker> FindWorker(const std::string& consumer,
                                             const std::string& topic);  // null: none
  std::shared_ptr<ConsumerWorker> WorkerFor(const std::string& event_type,
                                            const std::string& consumer, Status* error);
  void Gather(const std::string& consumer, size_t max, int64_t ack_timeout_ms,
              std::vector<PulledMessage>* out);

  Deps d_;
  // Serializes route refreshes, position commits and route removal: two refreshes
  // interleaving could apply an older routing table after a newer one, or answer "not
  // started yet" while the other is still creating the worker; a commit racing a removal
  // could bring a removed consumer's position back. Lock order: refresh_mu_, a worker's
  // mutex, mu_.
  std::mutex refresh_mu_;
  mutable std::mutex mu_;  // guards workers_, subscriptions_, fetches_, wake/stop flags
  std::condition_variable cv_;
  std::map<WorkerKey, std::shared_ptr<ConsumerWorker>> workers_;
  // Cluster mode: each worker's member of its consumer group (created and destroyed under
  // refresh_mu_, before its worker is dropped).
  std::map<WorkerKey, std::unique_ptr<channel::GroupMember>> members_;
  std::set<WorkerKey> had_member_;                 // their group offsets stay when the route goes
  std::map<std::string, uint64_t> subscriptions_;  // topic -> log subscription id
  std::map<std::string, std::unique_ptr<RecordCache>> record_caches_;  // per topic, kept
  std::vector<PendingFetch> fetches_;
  std::atomic<bool> wake_{false};      // the loop should run again
  std::atomic<bool> pump_all_{false};  // ... and pump every worker
  bool refresh_ = true;
  bool stopping_ = false;
  int64_t config_version_ = -1;
  std::thread thread_;
};

}  // namespace eragon::dispatch
