#include "channel/kafka/kafka_positions.h"

#include <chrono>
#include <thread>
#include <utility>

#include "channel/kafka/kafka_admin.h"
#include "core/thread_name.h"

namespace eragon::channel::kafka {

KafkaPositionStore::KafkaPositionStore(rd_kafka_t* rk, const KafkaOptions& options,
                                       std::function<uint32_t(const std::string&)> partitions_of)
    : rk_(rk),
      prefix_(options.topic_prefix),
      timeout_ms_(options.request_timeout_ms),
      partitions_of_(std::move(partitions_of)),
      committer_([this] { CommitLoop(); }) {}

KafkaPositionStore::~KafkaPositionStore() { Close(); }

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
  std::lock_guard lock(mu_);
  if (stop_) return Status::Unavailable("kafka positions closed");
  for (const Entry& e : entries) {
    Key key{e.topic, e.consumer, e.partition};
    cache_[key] = e.offset;
    pending_[std::move(key)] = e.offset;
  }
  pending_cv_.notify_one();
  return Status::Ok();
}

void KafkaPositionStore::CommitLoop() {
  SetThreadName("kafka-commit");
  std::unique_lock lock(mu_);
  for (;;) {
    pending_cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, nothing left
    std::map<Key, uint64_t> batch = std::exchange(pending_, {});
    const bool last = stop_;
    lock.unlock();
    Write(std::move(batch));
    lock.lock();
    if (last) return;                   // Close wrote once; what failed now stays for the restart
    if (!pending_.empty() && !stop_) {  // a failed write: not in a tight loop
      pending_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
    }
  }
}

void KafkaPositionStore::Write(std::map<Key, uint64_t> batch) {
  std::map<std::string, std::vector<GroupOffset>> by_consumer;
  for (const auto& [key, offset] : batch) {
    by_consumer[std::get<1>(key)].push_back({prefix_ + std::get<0>(key), std::get<2>(key), offset});
  }
  std::lock_guard write(write_mu_);
  for (const auto& group : by_consumer) {  // not a structured binding: clang 14 cannot capture one
    Status st = RetryTransient(timeout_ms_, [&] {
      return AlterGroupOffsets(rk_, GroupOf(group.first), group.second, timeout_ms_);
    });
    if (st.ok()) continue;
    std::lock_guard lock(mu_);
    for (const auto& [key, offset] : batch) {
      if (std::get<1>(key) == group.first) pending_.emplace(key, offset);  // newer ones win
    }
  }
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
  // No write of an older position may land after the delete.
  std::lock_guard write(write_mu_);
  auto of_route = [&](const Key& key) { return std::get<0>(key) == t && std::get<1>(key) == c; };
  {
    std::lock_guard lock(mu_);
    std::erase_if(pending_, [&](const auto& kv) { return of_route(kv.first); });
    for (const auto& [key, offset] : cache_) {
      if (of_route(key)) partitions = std::max(partitions, std::get<2>(key) + 1);
    }
  }
  if (partitions > 0) {
    ERAGON_RETURN_IF_ERROR(RetryTransient(timeout_ms_, [&] {
      return DeleteGroupOffsets(rk_, GroupOf(c), prefix_ + t, partitions, timeout_ms_);
    }));
  }
  std::lock_guard lock(mu_);
  std::erase_if(cache_, [&](const auto& kv) { return of_route(kv.first); });
  return Status::Ok();
}

void KafkaPositionStore::Close() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !committer_.joinable()) return;
    stop_ = true;
    pending_cv_.notify_all();
  }
  if (committer_.joinable()) committer_.join();
  std::lock_guard lock(mu_);
  closed_ = true;
}

}  // namespace eragon::channel::kafka
