// Publisher: the publish path of POST /v1/events.
//
// For a parsed, validated batch it resolves each event type's producer destination
// through the route cache, checks the caller owns the types, fills in id, producer and
// occurred_at, claims the ids in the id index (idempotency), appends the new events to
// their topics' logs with group commit, and completes once they are durable under the
// fsync policy. Errors follow API.md's precedence (404 before 403 before 409) across the
// whole batch, and nothing is appended unless every event passed every check.
//
// Opening a topic touches the disk (its directory, segment and index files), so the first
// event of a topic is never stored on the calling thread (an io thread): such a batch is
// handed whole to the worker pool, which opens the topic and goes on from there. Batches
// for open topics (every other) go straight to the log from the calling thread.
//
// Thread-safe. `done` runs exactly once, on a log writer thread, a worker-pool thread or
// the calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "channel/channel.h"
#include "eragon/clock.h"
#include "eragon/event.h"
#include "eragon/status.h"
#include "index/id_index.h"
#include "server/auth.h"
#include "server/route_cache.h"
#include "server/worker_pool.h"

namespace eragon::server {

class Metrics;

struct PublishReply {
  std::vector<std::string> ids;
  std::vector<bool> duplicates;
};
using PublishDone = std::function<void(Result<PublishReply>)>;

struct PublisherOptions {
  // Publishing is refused (507 storage_full) while the file system holding the log has
  // less free space than this...
  uint64_t min_free_bytes = 256ull << 20;
  // ... or is fuller than this fraction.
  double max_used_fraction = 0.95;
};

class Publisher {
 public:
  // All pointers are borrowed and must outlive the Publisher. Topics are opened on
  // `workers` (null: on the calling thread).
  Publisher(RouteCache* routes, channel::Channel* logs, index::IdIndex* ids, Clock* clock,
            Metrics* metrics, PublisherOptions options, WorkerPool* workers = nullptr);

  void Publish(const Caller& caller, std::vector<Event> events, std::string traceparent,
               PublishDone done);

  // Re-reads free disk space. The server calls it about once a second; the publish path
  // also calls it after every kRefreshEveryBytes appended, so a fast writer cannot fill
  // the headroom above the watermark between two of the server's calls.
  void RefreshDiskSpace();
  static constexpr int64_t kRefreshEveryBytes = 1 << 20;

 private:
  struct Resolved;
  // Publish(); `may_open` says whether this thread may open a topic.
  void PublishOn(const Caller& caller, std::vector<Event> events, std::string traceparent,
                 PublishDone done, bool may_open);
  // On success with r->must_open set nothing was changed: a topic needs opening.
  Status Resolve(const Caller& caller, std::vector<Event>& events, bool may_open, Resolved* r);
  Status ClaimIds(std::vector<Event>& events, Resolved* r);
  void Append(std::vector<Event> events, Resolved r, PublishDone done);
  // Adds the records' bytes to what was appended since the last disk check; past
  // kRefreshEveryBytes, checks again.
  void CountAppended(const std::vector<std::string>& records);

  RouteCache* routes_;
  channel::Channel* logs_;
  index::IdIndex* ids_;
  Clock* clock_;
  Metrics* metrics_;
  PublisherOptions options_;
  WorkerPool* workers_;
  std::atomic<bool> storage_full_{false};
  std::atomic<int64_t> appended_since_refresh_{0};
};

}  // namespace eragon::server
