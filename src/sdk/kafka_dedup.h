// IdLru: the KafkaConsumer's dedup — the last `capacity` event ids whose handler
// succeeded, least recently seen dropped first. Thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace eragon::sdk {

class IdLru {
 public:
  explicit IdLru(size_t capacity) : capacity_(capacity) {}

  // Whether `id` is held (and, if so, it becomes the most recent).
  bool Contains(std::string_view id) {
    std::lock_guard lock(mu_);
    auto it = index_.find(id);
    if (it == index_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    return true;
  }

  // Holds `id` as the most recent, dropping the oldest beyond capacity.
  void Insert(std::string id) {
    std::lock_guard lock(mu_);
    if (capacity_ == 0 || index_.contains(id)) return;
    order_.push_front(std::move(id));
    index_.emplace(order_.front(), order_.begin());
    if (order_.size() > capacity_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return order_.size();
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::string> order_;  // most recent first
  // Keys view the strings in order_ (list nodes do not move).
  std::unordered_map<std::string_view, std::list<std::string>::iterator> index_;
};

}  // namespace eragon::sdk
