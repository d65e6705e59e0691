#include "saga/saga_engine.h"

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "config/route_codec.h"
#include "core/event_codec.h"
#include "core/thread_name.h"

namespace eragon::saga {

namespace {
constexpr size_t kReadRecords = 256;
constexpr size_t kReadBytes = 4 << 20;
constexpr int64_t kVersionCheckMs = 500;  // routes or sagas changed by another writer
constexpr int64_t kRetryMs = 1000;        // publishes that failed (no route, disk full)
}  // namespace

void AppendSagaMetrics(const SagaEngineStats& s, std::string* out) {
  struct Counter {
    const char* name;
    const char* help;
    uint64_t value;
  };
  const Counter counters[] = {
      {"instances_started", "Saga instances started by a trigger event.", s.instances_started},
      {"replies_applied", "Replies that moved a saga instance on.", s.replies_applied},
      {"replies_ignored", "Late or duplicate replies, recorded and ignored.", s.replies_ignored},
      {"replies_unknown", "Replies for no known saga instance.", s.replies_unknown_instance},
      {"triggers_ignored", "Trigger events of an instance that already exists.",
       s.triggers_ignored},
      {"timeouts", "Saga steps that timed out.", s.timeouts},
  };
  for (const Counter& c : counters) {
    const std::string metric = std::string("eragon_saga_") + c.name + "_total";
    *out += "# HELP " + metric + " " + c.help + "\n# TYPE " + metric + " counter\n" + metric + " " +
            std::to_string(c.value) + "\n";
  }
}

SagaEngine::SagaEngine(SagaEngineOptions options) : o_(std::move(options)) {}

SagaEngine::~SagaEngine() { Stop(); }

void SagaEngine::Start() {
  thread_ = std::thread([this] {
    SetThreadName("saga");
    Loop();
  });
}

void SagaEngine::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  reloaded_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  CloseSources();
}

void SagaEngine::Reload() {
  std::unique_lock lock(mu_);
  const uint64_t want = ++reload_asked_;
  woken_ = true;
  cv_.notify_all();
  reloaded_cv_.wait_for(lock, std::chrono::seconds(5),
                        [&] { return stopping_ || reload_done_ >= want; });
}

SagaEngineStats SagaEngine::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void SagaEngine::FaultPoint(const char* where) {
  if (o_.crash_at <= 0 || ++fault_count_ != o_.crash_at) return;
  fprintf(stderr, "eragond: saga fault point %d (%s): killing the process\n", fault_count_, where);
  fflush(stderr);
  raise(SIGKILL);
}

bool SagaEngine::Leading() {
  const bool lead = !o_.leading || o_.leading();
  if (lead && !leading_) {  // (again) the leader: start from what is shared
    leading_ = true;
    config_version_ = -1;
    ResumePending();
  } else if (!lead && leading_) {
    leading_ = false;
    CloseSources();
    triggers_.clear();
    reply_types_.clear();
    deadlines_.clear();
    unpublished_.clear();
  }
  return lead;
}

void SagaEngine::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const uint64_t asked = reload_asked_;
    bool reload = asked > reload_done_;
    lock.unlock();
    if (!Leading()) {  // another node runs the sagas: its reload is what counts
      lock.lock();
      reload_done_ = std::max(reload_done_, asked);
      reloaded_cv_.notify_all();
      cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; });
      continue;
    }
    reload = reload || config_version_ < 0;
    const int64_t now = o_.clock->WallMs();
    if (now - last_version_check_ms_ >= kVersionCheckMs) {
      last_version_check_ms_ = now;
      Result<int64_t> v = o_.store->Version();
      reload = reload || (v.ok() && *v != config_version_);
    }
    if (reload) {
      if (Status st = LoadDefinitions(); !st.ok()) {
        fprintf(stderr, "eragond: sagas: %s\n", st.ToString().c_str());
      }
    }
    if (now - last_retry_ms_ >= kRetryMs && !unpublished_.empty()) {
      last_retry_ms_ = now;
      ResumePending();
    }
    bool progress = ReadAll();
    FireTimeouts();
    lock.lock();
    if (reload) {
      reload_done_ = std::max(reload_done_, asked);
      reloaded_cv_.notify_all();
    }
    if (progress || stopping_) continue;
    int64_t wait_ms = 100;
    for (const auto& [key, deadline] : deadlines_) {
      wait_ms = std::clamp<int64_t>(deadline - o_.clock->WallMs(), 0, wait_ms);
    }
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return woken_ || stopping_; });
    woken_ = false;
  }
}

Status SagaEngine::LoadDefinitions() {
  ERAGON_ASSIGN_OR_RETURN(int64_t version, o_.store->Version());
  ERAGON_ASSIGN_OR_RETURN(auto sagas, o_.store->sagas()->ListSagas());
  ERAGON_ASSIGN_OR_RETURN(auto active, o_.store->sagas()->ListActiveInstances());
  std::map<std::string, std::vector<Trigger>> triggers;
  std::set<std::string> replies;
  for (const config::SagaDefinition& s : sagas) {
    Result<SagaDef> def = ParseSagaDef(s.definition, s.name);
    if (!def.ok())
      return Status::Corruption("stored saga '" + s.name + "': " + def.status().message());
    const std::set<std::string> r = def->ReplyTypes();
    replies.insert(r.begin(), r.end());
    triggers[def->trigger].push_back({std::move(*def), s.version});
  }
  for (const config::SagaInstanceRow& row : active) {
    Result<Instance> in = Instance::FromRow(row);
    if (!in.ok()) continue;
    const std::set<std::string> r = in->def.ReplyTypes();
    replies.insert(r.begin(), r.end());
  }
  std::set<std::string> wanted;
  std::set<std::string> types = replies;
  for (const auto& [type, list] : triggers) types.insert(type);
  for (const std::string& type : types) {
    ERAGON_ASSIGN_OR_RETURN(auto route, o_.store->GetProducer(type));
    if (!route) continue;  // no events of this type can exist
    wanted.insert(route->topic);
    ERAGON_RETURN_IF_ERROR(OpenSource(route->topic, route->partitions,
                                      std::string(config::RouteEnumName(route->channel))));
  }
  for (auto it = sources_.begin(); it != sources_.end();) {
    if (wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    it->second.topic->Unsubscribe(it->second.subscription);
    it = sources_.erase(it);  // its positions stay: reading resumes there if wanted again
  }
  triggers_ = std::move(triggers);
  reply_types_ = std::move(replies);
  config_version_ = version;
  return Status::Ok();
}

// Starts reading `name`: at the committed positions, or, for a topic read the first time,
// at its end (a topic that did not exist yet: at its start, since all of it is new).
Status SagaEngine::OpenSource(const std::string& name, uint32_t partitions,
                              const std::string& channel) {
  if (sources_.count(name) != 0) return Status::Ok();
  const bool existed = o_.logs->FindTopic(name) != nullptr;
  ERAGON_ASSIGN_OR_RETURN(channel::Topic * topic, o_.logs->OpenTopic(name, {partitions, channel}));
  Source s;
  s.partitions = topic->partitions();
  s.channel = channel;
  s.topic = topic;
  std::vector<channel::PositionStore::Entry> fresh;
  for (uint32_t p = 0; p < s.partitions; ++p) {
    std::optional<uint64_t> at = o_.logs->positions()->Get(name, kSagaConsumer, p);
    if (!at) {
      at = existed ? topic->DurableEnd(p) : topic->StartOffset(p);
      fresh.push_back({name, kSagaConsumer, p, *at});
    }
    s.next.push_back(*at);
  }
  if (!fresh.empty()) ERAGON_RETURN_IF_ERROR(o_.logs->positions()->Commit(fresh));
  // Read continuously: a channel that fetches only what is followed (Kafka in cluster
  // mode) keeps fetching these partitions while the engine reads them.
  for (uint32_t p = 0; p < s.partitions; ++p) topic->Follow(p, true);
  s.subscription = topic->Subscribe([this] {
    std::lock_guard lock(mu_);
    woken_ = true;
    cv_.notify_all();
  });
  sources_.emplace(name, std::move(s));
  return Status::Ok();
}

void SagaEngine::CloseSources() {
  for (auto& [name, s] : sources_) {
    s.topic->Unsubscribe(s.subscription);
    for (uint32_t p = 0; p < s.partitions; ++p) s.topic->Follow(p, false);
  }
  sources_.clear();
}

bool SagaEngine::ReadAll() {
  bool progress = false;
  for (auto& [name, s] : sources_) {
    for (uint32_t p = 0; p < s.partitions; ++p) {
      if (s.topic->DurableEnd(p) <= s.next[p]) continue;
      if (!ReadPartition(name, s, p, &progress)) break;
    }
  }
  return progress;
}

bool SagaEngine::ReadPartition(const std::string& name, Source& s, uint32_t p, bool* progress) {
  Result<std::vector<channel::Record>> records =
      s.topic->Read(p, s.next[p], kReadRecords, kReadBytes);
  if (!records.ok()) {
    fprintf(stderr, "eragond: sagas: reading %s/%u: %s\n", name.c_str(), p,
            records.status().ToString().c_str());
    return false;
  }
  const uint64_t before = s.next[p];
  bool ok = true;
  for (const channel::Record& r : *records) {
    if (!r.payload.empty()) {
      Result<Event> e = DecodeEventRecord(r.payload);
      if (e.ok()) {
        if (Status st = Handle(*e); !st.ok()) {
          fprintf(stderr, "eragond: sagas: event %s: %s (retrying)\n", e->id.c_str(),
                  st.ToString().c_str());
          ok = false;
          break;
        }
      }
    }
    s.next[p] = r.offset + 1;
  }
  if (s.next[p] != before) {
    channel::PositionStore::Entry entry{name, kSagaConsumer, p, s.next[p]};
    if (Status st = o_.logs->positions()->Commit({&entry, 1}); !st.ok()) {
      fprintf(stderr, "eragond: sagas: position of %s/%u: %s\n", name.c_str(), p,
              st.ToString().c_str());
    }
    FaultPoint("position committed");
    *progress = true;
  }
  return ok;
}

}  // namespace eragon::saga
