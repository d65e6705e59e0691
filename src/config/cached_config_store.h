// CachedConfigStore: a ConfigStore answering reads from an in-memory snapshot of another
// store's configuration (producer and consumer routes, services, schedules, saga
// definitions), reloaded when that store's Version() moves: on Refresh() (a change
// notification or a poll, postgres/pg_listener.h) and after every change made through it,
// so a node reads its own writes at once. Saga instances (runtime state) pass through.
// While the inner store is unreachable, reads keep answering from the snapshot (publishes
// keep their routes and tokens) and changes fail as the inner store fails them.
// Version() is the snapshot's: a memory read that never fails. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config/config_store.h"

namespace eragon::config {

class CachedConfigStore : public ConfigStore {
 public:
  // Loads the first snapshot (an error when the inner store cannot be read).
  static Result<std::unique_ptr<CachedConfigStore>> Open(std::unique_ptr<ConfigStore> inner);
  ~CachedConfigStore() override;

  // Reloads the snapshot when the inner store's version differs from it.
  Status Refresh();

  Result<std::optional<ProducerRoute>> GetProducer(const std::string& event_type) override;
  Result<std::vector<ProducerRoute>> ListProducers() override;
  Result<PutOutcome> PutProducer(const ProducerRoute& route) override;
  Status DeleteProducer(const std::string& event_type) override;

  Result<std::optional<ConsumerRoute>> GetConsumer(const std::string& event_type,
                                                   const std::string& consumer) override;
  Result<std::vector<ConsumerRoute>> ListConsumers(
      const std::optional<std::string>& event_type,
      const std::optional<std::string>& consumer) override;
  Result<PutOutcome> PutConsumer(const ConsumerRoute& route) override;
  Status DeleteConsumer(const std::string& event_type, const std::string& consumer) override;

  Result<std::optional<Service>> GetService(const std::string& name) override;
  Result<std::optional<Service>> FindServiceByTokenHash(const std::string& hash) override;
  Result<std::vector<Service>> ListServices() override;
  Result<PutOutcome> PutService(const Service& service) override;
  Status DeleteService(const std::string& name) override;

  Result<std::optional<Schedule>> GetSchedule(const std::string& name) override;
  Result<std::vector<Schedule>> ListSchedules() override;
  Result<PutOutcome> PutSchedule(const Schedule& schedule) override;
  Status DeleteSchedule(const std::string& name) override;
  Status SetScheduleLastTick(const std::string& name, int64_t tick_ms) override;

  SagaStore* sagas() override { return sagas_.get(); }
  Result<int64_t> Version() override;
  Status Sync() override { return Refresh(); }

  struct Snapshot;

 protected:
  explicit CachedConfigStore(std::unique_ptr<ConfigStore> inner);

 private:
  class Sagas;
  std::shared_ptr<const Snapshot> Current();
  // The change's outcome, after reloading the snapshot when it succeeded.
  template <typename R>
  R AfterChange(R outcome);
  Schedule WithTick(Schedule s);

  std::unique_ptr<ConfigStore> inner_;
  std::unique_ptr<SagaStore> sagas_;
  std::mutex reload_mu_;  // one reload at a time
  std::mutex mu_;         // guards snapshot_ and ticks_
  std::shared_ptr<const Snapshot> snapshot_;
  // last_tick_ms raised through this store since the snapshot was loaded (runtime state:
  // it does not move Version(), so it is not reloaded).
  std::map<std::string, int64_t> ticks_;
};

}  // namespace eragon::config
