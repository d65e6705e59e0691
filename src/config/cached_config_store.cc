#include "config/cached_config_store.h"

#include <utility>

namespace eragon::config {

struct CachedConfigStore::Snapshot {
  int64_t version = 0;
  std::map<std::string, ProducerRoute> producers;
  std::map<std::pair<std::string, std::string>, ConsumerRoute> consumers;
  std::map<std::string, Service> services;
  std::map<std::string, std::string> service_by_hash;
  std::map<std::string, Schedule> schedules;
  std::map<std::string, SagaDefinition> sagas;
};

namespace {

using Snapshot = CachedConfigStore::Snapshot;

template <typename K, typename V>
std::optional<V> Find(const std::map<K, V>& map, const K& key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

template <typename K, typename V>
std::vector<V> Values(const std::map<K, V>& map) {
  std::vector<V> out;
  out.reserve(map.size());
  for (const auto& [key, value] : map) out.push_back(value);
  return out;
}

// The inner store's configuration. The version is read first: the lists are at least
// as new, so a snapshot is never older than its version (a newer one reloads again).
Result<std::shared_ptr<const Snapshot>> Load(ConfigStore* inner) {
  auto s = std::make_shared<Snapshot>();
  ERAGON_ASSIGN_OR_RETURN(s->version, inner->Version());
  ERAGON_ASSIGN_OR_RETURN(std::vector<ProducerRoute> producers, inner->ListProducers());
  for (ProducerRoute& p : producers) s->producers.emplace(p.event_type, std::move(p));
  ERAGON_ASSIGN_OR_RETURN(std::vector<ConsumerRoute> consumers, inner->ListConsumers());
  for (ConsumerRoute& c : consumers) {
    s->consumers.emplace(std::make_pair(c.event_type, c.consumer), std::move(c));
  }
  ERAGON_ASSIGN_OR_RETURN(std::vector<Service> services, inner->ListServices());
  for (Service& v : services) {
    s->service_by_hash.emplace(v.token_hash, v.name);
    s->services.emplace(v.name, std::move(v));
  }
  ERAGON_ASSIGN_OR_RETURN(std::vector<Schedule> schedules, inner->ListSchedules());
  for (Schedule& v : schedules) s->schedules.emplace(v.name, std::move(v));
  ERAGON_ASSIGN_OR_RETURN(std::vector<SagaDefinition> sagas, inner->sagas()->ListSagas());
  for (SagaDefinition& v : sagas) s->sagas.emplace(v.name, std::move(v));
  return std::shared_ptr<const Snapshot>(std::move(s));
}

}  // namespace

// Definitions from the snapshot, instances straight from the inner store.
class CachedConfigStore::Sagas final : public SagaStore {
 public:
  Sagas(CachedConfigStore* owner, SagaStore* inner) : owner_(owner), inner_(inner) {}

  Result<std::optional<SagaDefinition>> GetSaga(const std::string& name) override {
    return Find(owner_->Current()->sagas, name);
  }
  Result<std::vector<SagaDefinition>> ListSagas() override {
    return Values(owner_->Current()->sagas);
  }
  Result<PutOutcome> PutSaga(const SagaDefinition& saga) override {
    return owner_->AfterChange(inner_->PutSaga(saga));
  }
  Status DeleteSaga(const std::string& name) override {
    return owner_->AfterChange(inner_->DeleteSaga(name));
  }
  Result<std::optional<SagaInstanceRow>> GetInstance(const std::string& saga,
                                                     const std::string& id) override {
    return inner_->GetInstance(saga, id);
  }
  Result<std::vector<SagaInstanceRow>> ListInstances(const std::string& saga,
                                                     const std::string& state,
                                                     const std::string& after,
                                                     size_t limit) override {
    return inner_->ListInstances(saga, state, after, limit);
  }
  Result<std::vector<SagaInstanceRow>> FindInstances(const std::string& id) override {
    return inner_->FindInstances(id);
  }
  Result<std::vector<SagaInstanceRow>> ListActiveInstances() override {
    return inner_->ListActiveInstances();
  }
  Status PutInstance(const SagaInstanceRow& row) override { return inner_->PutInstance(row); }

 private:
  CachedConfigStore* owner_;
  SagaStore* inner_;
};

CachedConfigStore::CachedConfigStore(std::unique_ptr<ConfigStore> inner)
    : inner_(std::move(inner)), sagas_(std::make_unique<Sagas>(this, inner_->sagas())) {}

CachedConfigStore::~CachedConfigStore() = default;

Result<std::unique_ptr<CachedConfigStore>> CachedConfigStore::Open(
    std::unique_ptr<ConfigStore> inner) {
  std::unique_ptr<CachedConfigStore> store(new CachedConfigStore(std::move(inner)));
  ERAGON_RETURN_IF_ERROR(store->Refresh());
  return store;
}

Status CachedConfigStore::Refresh() {
  std::lock_guard reload(reload_mu_);
  ERAGON_ASSIGN_OR_RETURN(int64_t version, inner_->Version());
  {
    std::lock_guard lock(mu_);
    if (snapshot_ && snapshot_->version == version) return Status::Ok();
  }
  ERAGON_ASSIGN_OR_RETURN(std::shared_ptr<const Snapshot> loaded, Load(inner_.get()));
  std::lock_guard lock(mu_);
  snapshot_ = std::move(loaded);
  ticks_.clear();  // what they raised is in the new snapshot
  return Status::Ok();
}

std::shared_ptr<const Snapshot> CachedConfigStore::Current() {
  std::lock_guard lock(mu_);
  return snapshot_;
}

template <typename R>
R CachedConfigStore::AfterChange(R outcome) {
  // The change is made whatever the reload does; a failed reload is retried by the next
  // Refresh (notification or poll).
  if (outcome.ok()) (void)Refresh();
  return outcome;
}

Schedule CachedConfigStore::WithTick(Schedule s) {
  std::lock_guard lock(mu_);
  auto it = ticks_.find(s.name);
  if (it != ticks_.end() && it->second > s.last_tick_ms) s.last_tick_ms = it->second;
  return s;
}

Result<std::optional<ProducerRoute>> CachedConfigStore::GetProducer(const std::string& type) {
  return Find(Current()->producers, type);
}
Result<std::vector<ProducerRoute>> CachedConfigStore::ListProducers() {
  return Values(Current()->producers);
}
Result<PutOutcome> CachedConfigStore::PutProducer(const ProducerRoute& route) {
  return AfterChange(inner_->PutProducer(route));
}
Status CachedConfigStore::DeleteProducer(const std::string& event_type) {
  return AfterChange(inner_->DeleteProducer(event_type));
}

Result<std::optional<ConsumerRoute>> CachedConfigStore::GetConsumer(const std::string& event_type,
                                                                    const std::string& consumer) {
  return Find(Current()->consumers, std::make_pair(event_type, consumer));
}

Result<std::vector<ConsumerRoute>> CachedConfigStore::ListConsumers(
    const std::optional<std::string>& event_type, const std::optional<std::string>& consumer) {
  std::shared_ptr<const Snapshot> s = Current();
  std::vector<ConsumerRoute> out;
  for (const auto& [key, route] : s->consumers) {
    if (event_type && key.first != *event_type) continue;
    if (consumer && key.second != *consumer) continue;
    out.push_back(route);
  }
  return out;
}

Result<PutOutcome> CachedConfigStore::PutConsumer(const ConsumerRoute& route) {
  return AfterChange(inner_->PutConsumer(route));
}
Status CachedConfigStore::DeleteConsumer(const std::string& event_type,
                                         const std::string& consumer) {
  return AfterChange(inner_->DeleteConsumer(event_type, consumer));
}

Result<std::optional<Service>> CachedConfigStore::GetService(const std::string& name) {
  return Find(Current()->services, name);
}
Result<std::optional<Service>> CachedConfigStore::FindServiceByTokenHash(const std::string& hash) {
  std::shared_ptr<const Snapshot> s = Current();
  std::optional<std::string> name = Find(s->service_by_hash, hash);
  if (!name) return std::optional<Service>();
  return Find(s->services, *name);
}
Result<std::vector<Service>> CachedConfigStore::ListServices() {
  return Values(Current()->services);
}
Result<PutOutcome> CachedConfigStore::PutService(const Service& service) {
  return AfterChange(inner_->PutService(service));
}
Status CachedConfigStore::DeleteService(const std::string& name) {
  return AfterChange(inner_->DeleteService(name));
}

Result<std::optional<Schedule>> CachedConfigStore::GetSchedule(const std::string& name) {
  std::optional<Schedule> s = Find(Current()->schedules, name);
  if (s) s = WithTick(std::move(*s));
  return s;
}
Result<std::vector<Schedule>> CachedConfigStore::ListSchedules() {
  std::vector<Schedule> all = Values(Current()->schedules);
  for (Schedule& s : all) s = WithTick(std::move(s));
  return all;
}
Result<PutOutcome> CachedConfigStore::PutSchedule(const Schedule& schedule) {
  return AfterChange(inner_->PutSchedule(schedule));
}
Status CachedConfigStore::DeleteSchedule(const std::string& name) {
  return AfterChange(inner_->DeleteSchedule(name));
}

Status CachedConfigStore::SetScheduleLastTick(const std::string& name, int64_t tick_ms) {
  ERAGON_RETURN_IF_ERROR(inner_->SetScheduleLastTick(name, tick_ms));
  std::lock_guard lock(mu_);
  int64_t& tick = ticks_[name];
  if (tick_ms > tick) tick = tick_ms;
  return Status::Ok();
}

Result<int64_t> CachedConfigStore::Version() { return Current()->version; }

}  // namespace eragon::config
