// Dispatcher in cluster mode: each worker's member of its consumer group (API.md "Running
// a cluster"; channel::Channel::JoinGroup). The member tells the worker which partitions
// this node delivers; the worker's positions are committed through it.
#include "dispatch/dispatcher.h"

namespace eragon::dispatch {

bool Dispatcher::JoinGroups(
    const std::vector<std::pair<WorkerKey, std::shared_ptr<ConsumerWorker>>>& created) {
  for (const auto& [key, worker] : created) {
    // Before the worker's first SetRoutes: it then waits for its assignment rather than
    // delivering every partition.
    Result<std::unique_ptr<channel::GroupMember>> m =
        d_.logs->JoinGroup(key.second, key.first, worker.get());
    if (!m.ok()) {
      std::vector<std::unique_ptr<channel::GroupMember>> joined;
      {
        std::lock_guard lock(mu_);
        for (const auto& c : created) {
          if (auto it = members_.find(c.first); it != members_.end()) {
            joined.push_back(std::move(it->second));
            members_.erase(it);
          }
        }
      }
      LeaveGroups(std::move(joined));
      std::lock_guard lock(mu_);
      for (const auto& c : created) workers_.erase(c.first);
      config_version_ = -1;  // the next refresh tries again
      return false;
    }
    if (*m == nullptr) continue;  // this channel does not split work
    worker->SplitWork();
    std::lock_guard lock(mu_);
    had_member_.insert(key);
    members_[key] = std::move(*m);
  }
  return true;
}

void Dispatcher::LeaveGroups(std::vector<std::unique_ptr<channel::GroupMember>> members) {
  members.clear();  // each revokes its partitions (committing them), then leaves
}

size_t Dispatcher::DeliveringPartitions() const {
  std::vector<std::shared_ptr<ConsumerWorker>> ws;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, w] : workers_) ws.push_back(w);
  }
  size_t n = 0;
  for (const auto& w : ws) n += w->DeliveringPartitions();
  return n;
}

}  // namespace eragon::dispatch
