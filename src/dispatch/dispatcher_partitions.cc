// Dispatcher::DeliveringPartitions, on its own: what a node reports in GET /v1/cluster.
#include <map>

#include "dispatch/dispatcher.h"

namespace eragon::dispatch {

size_t Dispatcher::DeliveringPartitions() const {
  Result<std::vector<config::ProducerRoute>> producers = d_.store->ListProducers();
  Result<std::vector<config::ConsumerRoute>> consumers = d_.store->ListConsumers();
  if (!producers.ok() || !consumers.ok()) return 0;
  std::map<std::string, size_t> partitions_of;  // event type -> its topic's partitions
  for (const config::ProducerRoute& p : *producers) {
    partitions_of[p.event_type] = static_cast<size_t>(p.partitions);
  }
  size_t n = 0;
  for (const config::ConsumerRoute& c : *consumers) {
    if (!c.enabled || c.type == config::DeliveryType::kKafka) continue;
    auto p = partitions_of.find(c.event_type);
    if (p != partitions_of.end()) n += p->second;
  }
  return n;
}

}  // namespace eragon::dispatch
