#include "server/publisher.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "config/route_codec.h"
#include "core/event_codec.h"
#include "core/uuid.h"
#include "server/metrics.h"

namespace eragon::server {

// What Resolve and ClaimIds found out about a batch.
struct Publisher::Resolved {
  std::vector<channel::Topic*> topic_of;  // per event
  std::vector<index::Fingerprint> fingerprints;
  std::vector<bool> generated;  // per event: id assigned here (no lookup needed)
  std::vector<bool> duplicate;  // per event
  std::vector<size_t> claimed;  // events whose id was claimed (kNew), to Abort on failure
  bool must_open = false;       // a topic is missing and this thread may not open it
};

Publisher::Publisher(RouteCache* routes, channel::Channel* logs, index::IdIndex* ids, Clock* clock,
                     Metrics* metrics, PublisherOptions options, WorkerPool* workers)
    : routes_(routes),
      logs_(logs),
      ids_(ids),
      clock_(clock),
      metrics_(metrics),
      options_(options),
      workers_(workers) {
  RefreshDiskSpace();
}

void Publisher::RefreshDiskSpace() {
  Result<channel::DiskUsage> usage = logs_->GetDiskUsage();
  if (!usage.ok() || usage->total_bytes == 0) return;
  double used = 1.0 - double(usage->free_bytes) / double(usage->total_bytes);
  storage_full_ = usage->free_bytes < options_.min_free_bytes || used > options_.max_used_fraction;
}

void Publisher::CountAppended(const std::vector<std::string>& records) {
  int64_t bytes = 0;
  for (const std::string& rec : records) bytes += static_cast<int64_t>(rec.size());
  if (appended_since_refresh_.fetch_add(bytes) + bytes < kRefreshEveryBytes) return;
  appended_since_refresh_.store(0);
  RefreshDiskSpace();
}

// Route lookup (404 for all events first, then 403), topics, producer, id, occurred_at.
Status Publisher::Resolve(const Caller& caller, std::vector<Event>& events, bool may_open,
                          Resolved* r) {
  std::vector<config::ProducerRoute> route_of;
  route_of.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    ERAGON_ASSIGN_OR_RETURN(std::optional<config::ProducerRoute> route,
                            routes_->Producer(events[i].event_type));
    if (!route) {
      return Status::UnknownEventType("no producer destination for event type '" +
                                      events[i].event_type + "'");
    }
    route_of.push_back(std::move(*route));
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (!caller.admin && !(caller.producer && route_of[i].producer == caller.service)) {
      return Status::PermissionDenied(
          "service '" + caller.service + "' is not the producer of event type '" +
          events[i].event_type + "' (owner: '" + route_of[i].producer + "')");
    }
  }
  if (storage_full_) {
    return Status::StorageFull("the disk holding the log is above its high-watermark");
  }
  r->topic_of.resize(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const config::ProducerRoute& route = route_of[i];
    channel::Topic* topic = logs_->FindTopic(route.topic);
    if (topic == nullptr && !may_open) {
      r->must_open = true;
      return Status::Ok();
    }
    if (topic == nullptr) {
      ERAGON_ASSIGN_OR_RETURN(
          topic,
          logs_->OpenTopic(route.topic, {route.partitions, config::RouteEnumName(route.channel)}));
    }
    r->topic_of[i] = topic;
  }
  const int64_t now = clock_->WallMs();
  r->generated.assign(events.size(), false);
  for (size_t i = 0; i < events.size(); ++i) {
    const config::ProducerRoute& route = route_of[i];
    Event& e = events[i];
    e.producer = route.producer;
    if (e.id.empty()) {
      e.id = NewUuidV7(clock_);
      r->generated[i] = true;
    }
    if (e.occurred_at == 0) e.occurred_at = now;
  }
  return Status::Ok();
}

namespace {
struct ProducerIdHash {
  size_t operator()(const std::pair<std::string_view, std::string_view>& k) const {
    std::hash<std::string_view> h;
    return h(k.second) * 31 + h(k.first);
  }
};
}  // namespace

// Claims every id (in one ClaimMany); duplicates inside the batch and in the index are
// marked, conflicts fail the whole batch (claims made so far are released).
Status Publisher::ClaimIds(std::vector<Event>& events, Resolved* r) {
  r->fingerprints.resize(events.size());
  r->duplicate.assign(events.size(), false);
  // Ids are scoped per producer: keyed by (producer, id).
  std::unordered_map<std::pair<std::string_view, std::string_view>, size_t, ProducerIdHash>
      first_in_batch;
  std::vector<index::ClaimRequest> requests;
  std::vector<size_t> requested;  // index into events, per request
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    r->fingerprints[i] = index::FingerprintOf(e);
    auto [it, inserted] = first_in_batch.emplace(std::pair{e.producer, e.id}, i);
    if (!inserted) {
      if (r->fingerprints[it->second] != r->fingerprints[i]) {
        return Status::Conflict("event id '" + e.id + "' appears twice with other content");
      }
      r->duplicate[i] = true;
    } else if (!r->generated[i]) {
      requests.push_back({e.id, r->fingerprints[i], e.producer});
      requested.push_back(i);
    }
  }
  Status failure;
  std::vector<index::ClaimOutcome> outcomes = ids_->ClaimMany(requests);
  for (size_t k = 0; k < outcomes.size(); ++k) {
    const size_t i = requested[k];
    const Event& e = events[i];
    switch (outcomes[k]) {
      case index::ClaimOutcome::kNew:
        r->claimed.push_back(i);
        break;
      case index::ClaimOutcome::kDuplicate:
        r->duplicate[i] = true;
        break;
      case index::ClaimOutcome::kConflict:
        if (failure.ok()) {
          failure = Status::Conflict("event id '" + e.id + "' is already stored by producer '" +
                                     e.producer + "' with other content");
        }
        break;
      case index::ClaimOutcome::kInFlight:
        if (failure.ok()) {
          failure = Status::ResourceExhausted("a publish of event id '" + e.id +
                                              "' is still in progress; retry");
        }
        break;
      case index::ClaimOutcome::kUnavailable:  // unknown whether stored: never a false 202
        if (failure.ok()) failure = Status::Unavailable("the id index cannot be read; retry later");
        break;
    }
  }
  if (!failure.ok()) {
    for (size_t i : r->claimed) ids_->Abort(events[i].id, events[i].producer);
    return failure;
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (!r->generated[i]) continue;
    ids_->ClaimGenerated(events[i].id, r->fingerprints[i], events[i].producer);
    r->claimed.push_back(i);
  }
  return Status::Ok();
}

void Publisher::Publish(const Caller& caller, std::vector<Event> events, std::string traceparent,
                        PublishDone done) {
  PublishOn(caller, std::move(events), std::move(traceparent), std::move(done),
            /*may_open=*/workers_ == nullptr);
}

void Publisher::PublishOn(const Caller& caller, std::vector<Event> events, std::string traceparent,
                          PublishDone done, bool may_open) {
  Resolved r;
  Status st = Resolve(caller, events, may_open, &r);
  if (st.ok() && r.must_open) {  // a topic to open: not on this thread
    workers_->Post([this, caller, events = std::move(events), tp = std::move(traceparent),
                    done = std::move(done)]() mutable {
      PublishOn(caller, std::move(events), std::move(tp), std::move(done), /*may_open=*/true);
    });
    return;
  }
  if (st.ok()) {
    if (!traceparent.empty()) {
      for (Event& e : events) e.traceparent = traceparent;
    }
    st = ClaimIds(events, &r);
  }
  if (!st.ok()) {
    done(std::move(st));
    return;
  }
  Append(std::move(events), std::move(r), std::move(done));
}

namespace {

// Shared by the appends of one request (one per topic); the last one to finish answers.
struct BatchState {
  std::vector<Event> events;
  std::vector<bool> duplicate;
  std::vector<std::vector<size_t>> members;  // per topic: indexes into events
  std::vector<std::string> records;          // encoded records, per event
  std::atomic<int> remaining{0};
  std::mutex mu;
  Status failure;
  PublishDone done;
  int64_t start_ns = 0;
};

}  // namespace

void Publisher::Append(std::vector<Event> events, Resolved r, PublishDone done) {
  auto state = std::make_shared<BatchState>();
  state->done = std::move(done);
  state->start_ns = clock_->MonoNs();
  state->duplicate = std::move(r.duplicate);
  state->records.resize(events.size());
  std::map<channel::Topic*, size_t> topic_slot;
  std::vector<channel::Topic*> topics;
  for (size_t i = 0; i < events.size(); ++i) {
    if (state->duplicate[i]) continue;
    auto [it, inserted] = topic_slot.emplace(r.topic_of[i], topics.size());
    if (inserted) {
      topics.push_back(r.topic_of[i]);
      state->members.emplace_back();
    }
    state->members[it->second].push_back(i);
    EncodeEventRecord(events[i], &state->records[i]);
  }
  state->events = std::move(events);
  CountAppended(state->records);

  auto finish = [this, state] {
    PublishReply reply;
    for (size_t i = 0; i < state->events.size(); ++i) {
      reply.ids.push_back(state->events[i].id);
      reply.duplicates.push_back(state->duplicate[i]);
      if (metrics_) metrics_->EventPublished(state->events[i].event_type, state->duplicate[i]);
    }
    if (metrics_) metrics_->PublishLatency((clock_->MonoNs() - state->start_ns) / 1e9);
    if (!state->failure.ok()) {
      state->done(state->failure);
    } else {
      state->done(std::move(reply));
    }
  };
  if (topics.empty()) {  // every event was a duplicate
    finish();
    return;
  }
  state->remaining = static_cast<int>(topics.size());
  // Records carry the ingest time (not occurred_at, which producers may set): retention,
  // replay and seek by time, and delivery latency all go by it.
  const int64_t ingest_ms = clock_->WallMs();
  for (size_t t = 0; t < topics.size(); ++t) {
    std::vector<channel::AppendRecord> recs;
    recs.reserve(state->members[t].size());
    for (size_t i : state->members[t]) {
      const Event& e = state->events[i];
      recs.push_back({e.entity_id, state->records[i], ingest_ms, &e});
    }
    channel::Topic* topic = topics[t];
    topic->AppendAsync(recs, [this, state, t, topic, finish](
                                 const Status& st, std::span<const channel::RecordPosition> pos) {
      const std::vector<size_t>& members = state->members[t];
      for (size_t k = 0; k < members.size(); ++k) {
        const Event& e = state->events[members[k]];
        if (st.ok()) {
          ids_->Commit(e.id, e.producer, e.event_type,
                       {topic->name(), pos[k].partition, pos[k].offset});
        } else {
          ids_->Abort(e.id, e.producer);
        }
      }
      if (!st.ok()) {
        std::lock_guard lock(state->mu);
        if (state->failure.ok()) state->failure = st;
      }
      // The answer waits until every node sees the ids (a retry through another node is
      // then a duplicate, GET /v1/events/{id} finds it anywhere).
      if (state->remaining.fetch_sub(1) == 1) ids_->AfterCommits(finish);
    });
  }
}

}  // namespace eragon::server
