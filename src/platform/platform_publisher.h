// PlatformPublisher: the PlatformEvents of one eragond. A bounded queue and one thread
// that stores queued platform events through a publish function (eragond's: the normal
// publish path, as an admin caller, so the events are durable and indexed like any other).
//
// Each event gets its id from PlatformEventId(install secret, type, key); a duplicate
// answer (the occurrence was stored before) counts as stored. Failures (backpressure,
// storage full, a missing route) keep the events queued and are retried after a second.
// At most `max_queued` events wait; past that new ones are dropped and counted.
//
// Thread-safe. Publish never blocks on the publish function.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eragon/event.h"
#include "eragon/status.h"
#include "platform/platform_events.h"

namespace eragon::platform {

// Stores `events` (all of topic eragon.platform, ids set) and returns once they are
// durable or failed. Ok when stored or already stored (duplicates). Called on the
// PlatformPublisher's thread only.
using PublishFn = std::function<Status(std::vector<Event> events)>;

struct PlatformPublisherOptions {
  size_t max_queued = 100'000;  // events waiting; more are dropped (dropped())
  size_t max_batch = 256;       // events per publish call
  int64_t retry_ms = 1000;      // wait after a failed publish
};

class PlatformPublisher final : public PlatformEvents {
 public:
  PlatformPublisher(std::string install_secret, PublishFn publish,
                    PlatformPublisherOptions options = {});
  ~PlatformPublisher() override;
  PlatformPublisher(const PlatformPublisher&) = delete;
  PlatformPublisher& operator=(const PlatformPublisher&) = delete;

  void Publish(PlatformEvent event) override;

  // Starts the thread. Stop() publishes what is queued (one attempt), then joins it;
  // later Publish calls are dropped. Stop is idempotent; the destructor calls it.
  void Start();
  void Stop();

  // Blocks until the queue is empty and nothing is being published, or `timeout_ms` passed;
  // true when empty. For tests and shutdown.
  bool WaitIdle(int64_t timeout_ms);

  uint64_t published() const;  // events stored (or found already stored)
  uint64_t dropped() const;    // events refused because the queue was full or stopped

 private:
  void Loop();
  // Publishes `batch`; on a conflict of a batch (one of its ids holds other content) each
  // event alone, so the others are not held back by it.
  Status PublishBatch(const std::vector<Event>& batch);
  Event ToEvent(PlatformEvent&& e) const;

  const std::string secret_;
  const PublishFn publish_;
  const PlatformPublisherOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // queue non-empty or stopping
  std::condition_variable idle_cv_;  // queue drained
  std::deque<Event> queue_;          // guarded by mu_
  bool busy_ = false;                // a batch is being published; guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  uint64_t published_ = 0;           // guarded by mu_
  uint64_t dropped_ = 0;             // guarded by mu_
  std::thread thread_;
};

}  // namespace eragon::platform
