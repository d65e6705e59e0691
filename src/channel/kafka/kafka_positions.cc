#include "channel/kafka/kafka_positions.h"

#include <chrono>
#include <thread>

#include "channel/kafka/kafka_admin.h"

namespace eragon::channel::kafka {

KafkaPositionStore::KafkaPositionStore(rd_kafka_t* rk, const KafkaOptions& options,
                                       std::function<uint32_t(const std::string&)> partitions_of)
    : rk_(rk),
      prefix_(options.topic_prefix),
      timeout_ms_(options.request_timeout_ms),
      partitions_of_(std::move(partitions_of)) {}

std::string KafkaPositionStore::GroupOf(std::string_view consumer) const {
  return prefix_ + std::string(consumer);
}

Status KafkaPositionStore::LoadLocked(const std::string& consumer) const {
  if (loaded_.count(consumer)) return Status::Ok();
  ERAGON_ASSIGN_OR_RETURN(std::vector<GroupOffset> offsets,
                          ListGroupOffsets(rk_, GroupOf(consumer), timeout_ms_));
  for (const GroupOffset& o : offsets) {
    if (o.topic.compare(0, prefix_.size(), prefix_) != 0) continue;
    Key key{o.topic.substr(prefix_.size()), consumer, o.partition};
    cache_.emplace(std::move(key), o.offset);  // a commit of this process wins
  }
  loaded_.insert(consumer);
  return Status::Ok();
}

Status KafkaPositionStore::Commit(std::span<const Entry> entries) {
  std::map<std::string, std::vector<GroupOffset>> by_consumer;
  for (const Entry& e : entries) {
    by_consumer[e.consumer].push_back({prefix_ + e.topic, e.partition, e.offset});
  }
  for (const auto& group : by_consumer) {  // not a structured binding: clang 14 cannot capture one
    ERAGON_RETURN_IF_ERROR(RetryTransient(timeout_ms_, [&] {
      return AlterGroupOffsets(rk_, GroupOf(group.first), group.second, timeout_ms_);
    }));
  }
  std::lock_guard lock(mu_);
  for (const Entry& e : entries) cache_[Key{e.topic, e.consumer, e.partition}] = e.offset;
  return Status::Ok();
}

std::optional<uint64_t> KafkaPositionStore::Get(std::string_view topic, std::string_view consumer,
                                                uint32_t partition) const {
  const std::string c(consumer);
  for (int attempt = 0;; ++attempt) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return std::nullopt;
      if (LoadLocked(c).ok()) {
        auto it = cache_.find(Key{std::string(topic), c, partition});
        if (it == cache_.end()) return std::nullopt;
        return it->second;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100 << attempt, 2000)));
  }
}

std::vector<PositionStore::Entry> KafkaPositionStore::List() const {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  for (const auto& [key, offset] : cache_) {
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), offset});
  }
  return out;
}

Status KafkaPositionStore::Remove(std::string_view topic, std::string_view consumer) {
  const std::string t(topic), c(consumer);
  uint32_t partitions = partitions_of_(t);
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, offset] : cache_) {
      if (std::get<0>(key) == t && std::get<1>(key) == c) {
        partitions = std::max(partitions, std::get<2>(key) + 1);
      }
    }
  }
  if (partitions > 0) {
    ERAGON_RETURN_IF_ERROR(RetryTransient(timeout_ms_, [&] {
      return DeleteGroupOffsets(rk_, GroupOf(c), prefix_ + t, partitions, timeout_ms_);
    }));
  }
  std::lock_guard lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    bool match = std::get<0>(it->first) == t && std::get<1>(it->first) == c;
    it = match ? cache_.erase(it) : std::next(it);
  }
  return Status::Ok();
}

void KafkaPositionStore::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

}  // namespace eragon::channel::kafka
