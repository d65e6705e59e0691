#include "dispatch/dispatcher.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "config/route_codec.h"
#include "core/thread_name.h"

namespace eragon::dispatch {

namespace {
constexpr int64_t kRefreshMs = 500;
constexpr int64_t kCommitMs = 100;
constexpr int64_t kMaxSleepMs = 100;
constexpr int64_t kDrainMs = 2000;

}  // namespace

Dispatcher::Dispatcher(Deps deps) : d_(std::move(deps)) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  thread_ = std::thread([this] {
    SetThreadName("dispatcher");
    Loop();
  });
}

// No new pushes, and up to kDrainMs for those out to be answered. Their answers are
// recorded as they come (Stop's last CommitPositions writes them and moves the
// positions), so a clean stop does not deliver them again after a restart.
void Dispatcher::DrainPushes() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !thread_.joinable()) return;
  }
  std::vector<std::shared_ptr<ConsumerWorker>> workers = WorkersOf("");
  for (const auto& w : workers) w->Drain();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDrainMs);
  auto out = [&] {
    return std::any_of(workers.begin(), workers.end(),
                       [](const auto& w) { return w->PushesInFlight(); });
  };
  while (out() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Dispatcher::Stop() {
  DrainPushes();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ServeFetches(true);
  CommitPositions();
  {
    std::lock_guard refresh(refresh_mu_);
    std::vector<std::unique_ptr<channel::GroupMember>> leaving;
    {
      std::lock_guard lock(mu_);
      for (auto& [key, m] : members_) leaving.push_back(std::move(m));
      members_.clear();
    }
    LeaveGroups(std::move(leaving));  // their partitions' positions are committed
  }
  std::lock_guard lock(mu_);
  for (auto& [topic, id] : subscriptions_) {
    if (channel::Topic* t = d_.logs->FindTopic(topic)) t->Unsubscribe(id);
  }
  subscriptions_.clear();
}

void Dispatcher::WakeAll() {
  pump_all_.store(true, std::memory_order_release);
  Wake();
}

// Many answers arrive per loop pass: only the first since the loop last looked takes the
// mutex and signals; the others see the flag already set.
void Dispatcher::Wake() {
  if (wake_.exchange(true, std::memory_order_acq_rel)) return;
  { std::lock_guard lock(mu_); }  // the loop is before its check or waiting: not in between
  cv_.notify_one();
}

void Dispatcher::RoutesChanged() {
  // Applied on the caller's thread, so the change is in effect before it answers: an
  // event published after a route PUT through this node is delivered under the new route
  // (its new secret, URL, filter), not by a pump that started before the refresh.
  RefreshRoutes();
  {
    std::lock_guard lock(mu_);
    refresh_ = true;
  }
  WakeAll();
}

void Dispatcher::Loop() {
  int64_t last_refresh = 0, last_commit = 0;
  for (;;) {
    const int64_t now = d_.clock->MonoMs();
    bool refresh;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      refresh = refresh_ || now - last_refresh >= kRefreshMs;
      refresh_ = false;
    }
    if (refresh) {
      RefreshRoutes();
      last_refresh = now;
    }
    // Pump the workers something happened to, whose time came, or all when records
    // arrived (or routes changed); the others keep their next time.
    const bool all = pump_all_.exchange(false, std::memory_order_acq_rel) || refresh;
    const int64_t wall = d_.clock->WallMs();
    int64_t next = INT64_MAX;
    for (const auto& w : WorkersOf("")) {
      const bool pump = all || w->dirty() || w->pump_at() <= wall;
      next = std::min(next, pump ? w->Pump() : w->pump_at());
    }
    ServeFetches(false);
    if (now - last_commit >= kCommitMs) {
      CommitPositions();
      last_commit = now;
    }
    int64_t sleep_ms = kMaxSleepMs;
    if (next != INT64_MAX)
      sleep_ms = std::clamp<int64_t>(next - d_.clock->WallMs(), 0, kMaxSleepMs);
    std::unique_lock lock(mu_);
    if (!fetches_.empty()) sleep_ms = std::min<int64_t>(sleep_ms, 20);
    cv_.wait_for(lock, std::chrono::milliseconds(sleep_ms),
                 [&] { return wake_.load(std::memory_order_acquire) || stopping_; });
    // An exchange, not a store: it reads the flag of any Wake that found it set (and so
    // did not signal), which makes that waker's dirty flag visible to the next pass.
    wake_.exchange(false, std::memory_order_acq_rel);
  }
}

// Builds the wanted (consumer, topic) set from the routing table and adds, updates and
// removes workers to match. Only reads the store when its version changed.
void Dispatcher::RefreshRoutes() {
  std::lock_guard refresh(refresh_mu_);
  RefreshRoutesLocked();
}

void Dispatcher::RefreshRoutesLocked() {
  Result<int64_t> version = d_.store->Version();
  if (!version.ok()) return;
  {
    std::lock_guard lock(mu_);
    if (*version == config_version_) return;
  }
  Result<std::vector<config::ProducerRoute>> producers = d_.store->ListProducers();
  Result<std::vector<config::ConsumerRoute>> consumers = d_.store->ListConsumers();
  if (!producers.ok() || !consumers.ok()) return;
  std::map<std::string, const config::ProducerRoute*> producer_of;
  for (const auto& p : *producers) producer_of[p.event_type] = &p;
  std::map<WorkerKey, std::map<std::string, config::ConsumerRoute>> wanted;
  std::map<std::string, const config::ProducerRoute*> topic_route;
  for (const config::ConsumerRoute& c : *consumers) {
    auto p = producer_of.find(c.event_type);
    if (p == producer_of.end() || c.type == config::DeliveryType::kKafka) continue;
    wanted[{c.consumer, p->second->topic}][c.event_type] = c;
    topic_route[p->second->topic] = p->second;
  }
  std::vector<
      std::pair<std::shared_ptr<ConsumerWorker>, std::map<std::string, config::ConsumerRoute>>>
      updates;
  std::vector<std::pair<WorkerKey, std::shared_ptr<ConsumerWorker>>> created, removed;
  std::vector<std::unique_ptr<channel::GroupMember>> leaving;
  {
    std::lock_guard lock(mu_);
    config_version_ = *version;
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (wanted.count(it->first) == 0) {
        if (auto m = members_.find(it->first); m != members_.end()) {
          leaving.push_back(std::move(m->second));
          members_.erase(m);
        }
        removed.emplace_back(it->first, it->second);  // alive while its member leaves
        it = workers_.erase(it);  // in-flight answers find no worker and are dropped
      } else {
        ++it;
      }
    }
  }
  LeaveGroups(std::move(leaving));
  for (auto& [key, routes] : wanted) {
    const config::ProducerRoute* pr = topic_route[key.second];
    Result<channel::Topic*> topic =
        d_.logs->OpenTopic(pr->topic, {pr->partitions, config::RouteEnumName(pr->channel)});
    if (!topic.ok()) continue;
    std::lock_guard lock(mu_);
    auto it = workers_.find(key);
    if (it == workers_.end()) {
      WorkerContext ctx;
      ctx.topic = *topic;
      std::unique_ptr<RecordCache>& cache = record_caches_[pr->topic];
      if (!cache) cache = std::make_unique<RecordCache>(*topic);
      ctx.records = cache.get();
      ctx.positions = d_.logs->positions();
      ctx.store = d_.deliveries;
      ctx.push = d_.push;
      ctx.clock = d_.clock;
      ctx.observer = &d_.observer;
      ctx.record_attempts = d_.record_attempts;
      ctx.node = &d_.node;
      ctx.wake = [this] { Wake(); };
      it = workers_.emplace(key, std::make_shared<ConsumerWorker>(key.first, pr->ordered, ctx))
               .first;
      created.emplace_back(key, it->second);
      if (subscriptions_.count(pr->topic) == 0) {
        subscriptions_[pr->topic] = (*topic)->Subscribe([this] { WakeAll(); });
      }
    }
    updates.emplace_back(it->second, std::move(routes));
  }
  if (!JoinGroups(created)) return;  // everything again at the next refresh
  for (auto& [worker, routes] : updates) worker->SetRoutes(std::move(routes));
}

// The delivery states (dead letters, retry schedules, dedup claims) of events below the
// new positions are made durable first: otherwise a machine crash could keep a position
// past an event whose dead letter was lost.
// In cluster mode a worker's positions go through its group member.
void Dispatcher::CommitPositions() {
  std::lock_guard refresh(refresh_mu_);
  std::vector<std::pair<std::shared_ptr<ConsumerWorker>, channel::GroupMember*>> ws;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, w] : workers_) {
      auto m = members_.find(key);
      ws.emplace_back(w, m == members_.end() ? nullptr : m->second.get());
    }
  }
  std::vector<channel::PositionStore::Entry> entries;
  std::vector<std::pair<channel::GroupMember*, std::vector<channel::PositionStore::Entry>>> grouped;
  for (const auto& [w, member] : ws) {
    std::vector<channel::PositionStore::Entry> e = w->TakeCommitted();
    if (e.empty()) continue;
    if (member != nullptr) {
      grouped.emplace_back(member, std::move(e));
    } else {
      entries.insert(entries.end(), e.begin(), e.end());
    }
  }
  if (entries.empty() && grouped.empty()) return;
  // A failed sync or commit is not retried until the position moves again; a restart
  // then resumes from the older position (delivering some events again: at-least-once).
  if (!d_.deliveries->Sync().ok()) return;
  if (!entries.empty()) d_.logs->positions()->Commit(entries).ok();
  for (const auto& [member, e] : grouped) member->Commit(e);
}

std::vector<std::shared_ptr<ConsumerWorker>> Dispatcher::WorkersOf(const std::string& consumer) {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<ConsumerWorker>> out;
  for (const auto& [key, w] : workers_) {
    if (consumer.empty() || key.first == consumer) out.push_back(w);
  }
  return out;
}

void Dispatcher::Gather(const std::string& consumer, size_t max, int64_t ack_timeout_ms,
                        std::vector<PulledMessage>* out) {
  for (const auto& w : WorkersOf(consumer)) {
    if (out->size() >= max) break;
    w->Fetch(max, ack_timeout_ms, out);
  }
}

void Dispatcher::Fetch(const std::string& consumer, size_t max, int64_t wait_ms,
                       int64_t ack_timeout_ms, FetchDone done) {
  std::vector<PulledMessage> out;
  Gather(consumer, max, ack_timeout_ms, &out);
  if (!out.empty() || wait_ms <= 0) {
    done(std::move(out));
    return;
  }
  bool stopping;
  {
    std::lock_guard lock(mu_);
    stopping = stopping_;
    if (!stopping) {
      fetches_.push_back(
          {consumer, max, d_.clock->WallMs() + wait_ms, ack_timeout_ms, std::move(done)});
    }
  }
  if (stopping) {
    done({});
    return;
  }
  Wake();
}

// Answers waiting fetches that now have messages or reached their deadline.
void Dispatcher::ServeFetches(bool final) {
  std::vector<PendingFetch> pending;
  {
    std::lock_guard lock(mu_);
    pending.swap(fetches_);
  }
  if (pending.empty()) return;
  const int64_t now = d_.clock->WallMs();
  std::vector<PendingFetch> keep;
  for (PendingFetch& f : pending) {
    std::vector<PulledMessage> out;
    if (!final) Gather(f.consumer, f.max, f.ack_timeout_ms, &out);
    if (!out.empty() || final || now >= f.deadline_ms) {
      f.done(std::move(out));
    } else {
      keep.push_back(std::move(f));
    }
  }
  std::lock_guard lock(mu_);
  for (PendingFetch& f : keep) fetches_.push_back(std::move(f));
}

Result<size_t> Dispatcher::Ack(const std::string& consumer, const std::vector<std::string>& ids,
                               std::vector<std::string>* missed) {
  // Grouped by worker (usually one): one worker lock per request, not one per id. Each
  // ref remembers its id's index, so the ids not acked here can be told apart.
  struct Group {
    std::shared_ptr<ConsumerWorker> worker;
    std::vector<AckRef> refs;
    std::vector<size_t> index;
  };
  std::vector<Group> groups;
  std::vector<bool> acked(missed != nullptr ? ids.size() : 0, false);  // only to tell missed
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < ids.size(); ++i) {
      std::optional<PullLeases::AckId> a = PullLeases::ParseAckId(ids[i]);
      if (!a) continue;
      auto it = workers_.find(WorkerKey{consumer, a->topic});
      if (it == workers_.end()) continue;
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](const Group& x) { return x.worker == it->second; });
      if (g == groups.end()) g = groups.insert(groups.end(), Group{it->second, {}, {}});
      g->refs.push_back({a->partition, a->offset, a->tag});
      g->index.push_back(i);
    }
  }
  size_t total = 0;
  Status st = Status::Ok();
  for (Group& g : groups) {
    size_t n = g.worker->AckMany(g.refs);
    if (n == 0) continue;
    total += n;
    for (size_t k = 0; missed != nullptr && k < g.refs.size(); ++k) {
      acked[g.index[k]] = g.refs[k].acked;
    }
    Status s = g.worker->FlushAcks();
    if (st.ok()) st = s;
  }
  if (!st.ok()) return st;
  for (size_t i = 0; missed != nullptr && i < ids.size(); ++i) {
    if (!acked[i]) missed->push_back(ids[i]);
  }
  return total;
}

Result<size_t> Dispatcher::Nack(const std::string& consumer, const std::vector<std::string>& ids,
                                int64_t delay_ms, std::vector<std::string>* missed) {
  size_t n = 0;
  for (const std::string& id : ids) {
    std::optional<PullLeases::AckId> a = PullLeases::ParseAckId(id);
    std::shared_ptr<ConsumerWorker> w;
    if (a) {
      std::lock_guard lock(mu_);
      auto it = workers_.find({consumer, a->topic});
      if (it != workers_.end()) w = it->second;
    }
    if (w && w->Nack(a->partition, a->offset, a->tag, delay_ms)) {
      ++n;
    } else if (missed != nullptr) {
      missed->push_back(id);
    }
  }
  return n;
}

std::shared_ptr<ConsumerWorker> Dispatcher::WorkerFor(const std::string& event_type,
                                                      const std::string& consumer, Status* error) {
  Result<std::optional<config::ConsumerRoute>> route = d_.store->GetConsumer(event_type, consumer);
  Result<std::optional<config::ProducerRoute>> producer = d_.store->GetProducer(event_type);
  if (!route.ok() || !producer.ok()) {
    *error = !route.ok() ? route.status() : producer.status();
    return nullptr;
  }
  if (!*route || !*producer) {
    *error = Status::NotFound("no consumer route for '" + consumer + "' on '" + event_type + "'");
    return nullptr;
  }
  RefreshRoutes();
  std::lock_guard lock(mu_);
  auto it = workers_.find({consumer, (*producer)->topic});
  if (it == workers_.end()) {
    *error = Status::Unavailable("the dispatcher has not started this consumer yet; retry");
    return nullptr;
  }
  return it->second;
}

Status Dispatcher::Replay(const std::string& event_type, const std::string& consumer,
                          int64_t from_ms, bool ignore_dedup, Moved* moved) {
  Status st;
  std::shared_ptr<ConsumerWorker> w = WorkerFor(event_type, consumer, &st);
  return w ? w->Replay(from_ms, ignore_dedup, moved) : st;
}

Status Dispatcher::Seek(const std::string& event_type, const std::string& consumer, int64_t to_ms,
                        Moved* moved) {
  Status st;
  std::shared_ptr<ConsumerWorker> w = WorkerFor(event_type, consumer, &st);
  return w ? w->Seek(to_ms, moved) : st;
}

Result<size_t> Dispatcher::Redrive(const std::string& event_type, const std::string& consumer,
                                   const std::vector<std::string>& ids) {
  Status st;
  std::shared_ptr<ConsumerWorker> w = WorkerFor(event_type, consumer, &st);
  if (!w) return st;
  // In bounded pages: each page's chosen dead letters are marked durably (a restart goes
  // on with the redrive instead of forgetting it), and the worker loads marked ones as it
  // delivers them (ConsumerWorker::kMaxRedrivesInMemory at a time), so a redrive of any
  // size holds one page here and one there.
  constexpr size_t kPage = 256;
  size_t n = 0;
  std::string after;
  for (;;) {
    std::vector<DeadLetter> page = d_.deliveries->ListDead(consumer, event_type, after, kPage);
    if (page.empty()) break;
    after = page.back().key;
    DeliveryBatch marks;
    for (const DeadLetter& d : page) {
      if (ids.empty() || std::find(ids.begin(), ids.end(), d.event.id) != ids.end()) {
        // The event's partition: in a cluster its owner delivers the redrive.
        const uint32_t p = d.topic == w->topic_name() ? d.partition : kNoPartition;
        marks.MarkRedrive(consumer, w->topic_name(), d.key, p);
      }
    }
    if (marks.empty()) continue;
    n += marks.size();
    ERAGON_RETURN_IF_ERROR(d_.deliveries->Write(marks, /*sync=*/true));
  }
  if (n > 0) w->RedrivesMarked();
  return n;
}

Status Dispatcher::RouteRemoved(const std::string& event_type, const std::string& consumer) {
  std::lock_guard refresh(refresh_mu_);
  ERAGON_RETURN_IF_ERROR(d_.deliveries->RemoveConsumerType(consumer, event_type));
  RefreshRoutesLocked();
  // With no route left on a topic, its worker is gone: drop its position and states.
  std::set<std::string> live_topics;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, w] : workers_) {
      if (key.first == consumer) live_topics.insert(key.second);
    }
  }
  std::set<std::string> topics;
  for (const auto& e : d_.logs->positions()->List()) {
    if (e.consumer == consumer && live_topics.count(e.topic) == 0) topics.insert(e.topic);
  }
  for (const std::string& topic : topics) {
    // Cluster mode: the group's offsets stay (other nodes' members may still subscribe;
    // Kafka refuses to delete them then, and expires them after offsets.retention.minutes).
    const bool grouped = had_member_.count({consumer, topic}) > 0;
    if (!grouped) ERAGON_RETURN_IF_ERROR(d_.logs->positions()->Remove(topic, consumer));
    ERAGON_RETURN_IF_ERROR(d_.deliveries->RemoveConsumerTopic(consumer, topic));
  }
  return Status::Ok();
}

std::shared_ptr<ConsumerWorker> Dispatcher::FindWorker(const std::string& consumer,
                                                       const std::string& topic) {
  std::lock_guard lock(mu_);
  auto it = workers_.find({consumer, topic});
  return it != workers_.end() ? it->second : nullptr;
}

std::vector<DeliveryView> Dispatcher::DeliveriesOf(const std::string& event_type,
                                                   const std::string& topic, uint32_t partition,
                                                   uint64_t offset) {
  std::vector<DeliveryView> out;
  Result<std::vector<config::ConsumerRoute>> routes = d_.store->ListConsumers(event_type);
  if (!routes.ok()) return out;
  for (const config::ConsumerRoute& r : *routes) {
    if (r.type == config::DeliveryType::kKafka) continue;
    std::shared_ptr<ConsumerWorker> w = FindWorker(r.consumer, topic);
    std::optional<DeliveryState> st =
        w ? w->StateOf(partition, offset)
          : d_.deliveries->GetState(r.consumer, topic, partition, offset);
    if (st) out.push_back({r.consumer, *st});
  }
  return out;
}

std::vector<ConsumerStats> Dispatcher::Stats() {
  std::vector<ConsumerStats> out;
  std::vector<std::pair<WorkerKey, std::shared_ptr<ConsumerWorker>>> ws;
  {
    std::lock_guard lock(mu_);
    ws.assign(workers_.begin(), workers_.end());
  }
  for (auto& [key, w] : ws) out.push_back({key.first, key.second, w->GetStats()});
  return out;
}

std::vector<AttemptView> Dispatcher::AttemptsOf(const std::string& event_type,
                                                const std::string& topic, uint32_t partition,
                                                uint64_t offset, const std::string& consumer) {
  std::vector<AttemptView> out;
  Result<std::vector<config::ConsumerRoute>> routes = d_.store->ListConsumers(event_type);
  if (!routes.ok()) return out;
  std::sort(routes->begin(), routes->end(),
            [](const auto& a, const auto& b) { return a.consumer < b.consumer; });
  for (const config::ConsumerRoute& r : *routes) {
    if (r.type == config::DeliveryType::kKafka) continue;
    if (!consumer.empty() && r.consumer != consumer) continue;
    std::shared_ptr<ConsumerWorker> w = FindWorker(r.consumer, topic);
    std::vector<AttemptRecord> records =
        w ? w->AttemptsOf(partition, offset)
          : d_.deliveries->Attempts(r.consumer, topic, partition, offset);
    for (AttemptRecord& rec : records) out.push_back({r.consumer, std::move(rec)});
  }
  return out;
}

void Dispatcher::SweepAttempts() {
  for (const auto& w : WorkersOf("")) w->SweepAttempts();
}

}  // namespace eragon::dispatch
