// SagaEngine: runs every saga's instances inside eragond (API.md "Sagas").
//
// One thread reads, through the channel seam, every topic that holds a saga's trigger
// type or a reply type (of a current definition, or of a running instance's snapshot),
// as the internal consumer `eragon.saga` with committed positions per (topic, partition),
// so embedded and Kafka topics work alike. A trigger starts an instance (its id = the
// trigger's entity id; a second trigger for the same id is ignored); a reply is matched
// to instances by its entity id and type. Timeouts are checked on the same thread.
//
// Crash safety: each transition is stored (durable) with the events it must publish
// BEFORE they are published (deterministic ids), then the instance is stored again
// without them; the read position is committed only after every event read before it was
// handled. On start, every instance that still holds events publishes them again (the
// publish dedup drops what was stored already). A crash at any point therefore neither
// skips nor doubles a step. ERAGON_SAGA_CRASH_AT=N (tests) kills the process with SIGKILL
// at the Nth such transition point.
//
// Thread-safe: Reload may be called from any thread; everything else runs on the
// engine's own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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
#include "eragon/clock.h"
#include "eragon/event.h"
#include "saga/saga_instance.h"

namespace eragon::saga {

// The position-store consumer name the engine reads as (not a valid service name, so it
// never collides with a consumer route).
inline constexpr char kSagaConsumer[] = "eragon.saga";

// Publishes `event` (id set) as service `service` and waits until it is durable. A
// duplicate counts as success.
using PublishFn = std::function<Status(const std::string& service, const Event& event)>;

struct SagaEngineOptions {
  config::ConfigStore* store = nullptr;  // borrowed
  channel::Channel* logs = nullptr;      // borrowed
  Clock* clock = nullptr;                // borrowed
  std::string install_secret;            // keys the ids of the events sagas publish
  PublishFn publish;
  int crash_at = 0;  // > 0: SIGKILL at that transition point (tests only)
  // In a cluster: whether this node holds the saga lease (asked every pass). Null: always.
  // A node without it reads nothing and starts nothing; one that gets it resumes from the
  // shared positions and instances.
  std::function<bool()> leading;
};

struct SagaEngineStats {
  uint64_t instances_started = 0;
  uint64_t replies_applied = 0;
  uint64_t replies_ignored = 0;           // late, duplicate or out of step (recorded)
  uint64_t replies_unknown_instance = 0;  // a reply type with no instance of that id
  uint64_t triggers_ignored = 0;          // a trigger for an id that already has an instance
  uint64_t timeouts = 0;
};

// Appends the stats as Prometheus counters (eragon_saga_*_total) to `out`.
void AppendSagaMetrics(const SagaEngineStats& stats, std::string* out);

class SagaEngine {
 public:
  explicit SagaEngine(SagaEngineOptions options);
  ~SagaEngine();
  SagaEngine(const SagaEngine&) = delete;
  SagaEngine& operator=(const SagaEngine&) = delete;

  void Start();
  void Stop();
  // Re-reads the definitions (and routes) and returns once the engine uses them, so
  // that every event published after a PUT/DELETE answered is handled by the new set.
  void Reload();
  SagaEngineStats stats() const;

 private:
  struct Source {
    uint32_t partitions = 0;
    std::string channel;
    channel::Topic* topic = nullptr;
    uint64_t subscription = 0;
    std::vector<uint64_t> next;  // next offset per partition
  };
  struct Trigger {
    SagaDef def;
    int64_t version = 0;
  };

  void Loop();
  // Whether this node runs the sagas now; on losing the lease, drops what it held in
  // memory (the instances and positions are shared) so the next leader owns them.
  bool Leading();
  Status LoadDefinitions();
  Status OpenSource(const std::string& topic, uint32_t partitions, const std::string& channel);
  void CloseSources();
  bool ReadAll();
  // Reads one batch of one partition; false on an error (the position stays).
  bool ReadPartition(const std::string& name, Source& s, uint32_t p, bool* progress);
  Status Handle(const Event& e);
  Status StartInstance(const Trigger& t, const Event& e);
  Status ApplyReply(const Event& e);
  // Stores the instance, publishes its pending events, stores it again without them.
  Status Advance(Instance& in);
  Status PublishPending(Instance& in);
  void ResumePending();
  void FireTimeouts();
  void FaultPoint(const char* where);
  void Track(const Instance& in);

  SagaEngineOptions o_;

  // Engine thread only.
  std::map<std::string, std::vector<Trigger>> triggers_;  // trigger type → sagas
  std::set<std::string> reply_types_;
  std::map<std::string, Source> sources_;                             // by topic
  std::map<std::pair<std::string, std::string>, int64_t> deadlines_;  // (saga, id) → ms
  std::set<std::pair<std::string, std::string>> unpublished_;         // publish failed; retried
  int64_t config_version_ = -1;
  int64_t last_version_check_ms_ = 0;
  int64_t last_retry_ms_ = 0;
  int fault_count_ = 0;
  bool leading_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable reloaded_cv_;
  bool stopping_ = false;      // guarded by mu_
  bool woken_ = false;         // guarded by mu_
  uint64_t reload_asked_ = 0;  // guarded by mu_
  uint64_t reload_done_ = 0;   // guarded by mu_
  SagaEngineStats stats_;      // guarded by mu_
  std::thread thread_;
};

}  // namespace eragon::saga
