// EntityScheduler: hands received messages to a consumer's handler threads so that one
// entity's messages run one at a time, in the order they were added, while different
// entities run in parallel. Entities take turns (FIFO), so a busy entity cannot starve
// the others. The pull Consumer schedules PullItems (EntityScheduler); the KafkaConsumer
// its own item type (BasicEntityScheduler<T>: T has `delivery.event.entity_id`).
//
// Thread-safe. Lifetime of a message: Add -> Take (running) -> Done; or, after Close,
// TakeUnstarted for those never taken.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "eragon/handler.h"

namespace eragon::sdk {

template <typename T>
class BasicEntityScheduler {
 public:
  using Item = T;

  // Appends `items` in order (also after Close: TakeUnstarted returns them).
  void Add(std::vector<Item> items);

  // Blocks until an item can run — the oldest of an entity with nothing running, entities
  // in turn — and marks its entity running. nullopt once Close() was called, even when
  // items remain.
  std::optional<Item> Take();

  // The item Take gave for `entity_id` has finished; the entity's next item may run.
  void Done(const std::string& entity_id);

  // Blocks until fewer than `limit` items are outstanding (added, not Done) or Close()
  // is called; returns how many more fit (0 after Close).
  size_t WaitForRoom(size_t limit);

  // Take and WaitForRoom return at once from now on (wakes the threads waiting in them).
  void Close();

  // Removes and returns every item not taken yet, oldest first per entity.
  // REQUIRES: Close() was called (no Take can race with it).
  std::vector<Item> TakeUnstarted();

  // Items added and neither Done nor removed by TakeUnstarted.
  size_t outstanding() const;

 private:
  struct Entity {
    std::deque<Item> items;  // not started yet, in order
    bool running = false;
  };

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // an entity became ready, or Close
  std::condition_variable room_cv_;  // an item was Done, or Close
  std::unordered_map<std::string, Entity> entities_;
  std::deque<std::string> ready_;  // entities with items and nothing running, in turn order
  size_t outstanding_ = 0;
  bool closed_ = false;
};

// A pull message: its ack id and the delivery.
struct PullItem {
  std::string ack_id;
  Delivery delivery;
};
using EntityScheduler = BasicEntityScheduler<PullItem>;

template <typename T>
void BasicEntityScheduler<T>::Add(std::vector<Item> items) {
  if (items.empty()) return;
  std::lock_guard lock(mu_);
  for (Item& item : items) {
    std::string entity = item.delivery.event.entity_id;
    Entity& e = entities_[entity];
    // An entity becomes ready when its first item arrives and nothing of it runs.
    if (e.items.empty() && !e.running) ready_.push_back(std::move(entity));
    e.items.push_back(std::move(item));
    ++outstanding_;
  }
  work_cv_.notify_all();
}

template <typename T>
std::optional<T> BasicEntityScheduler<T>::Take() {
  std::unique_lock lock(mu_);
  work_cv_.wait(lock, [this] { return closed_ || !ready_.empty(); });
  if (closed_) return std::nullopt;
  std::string entity = std::move(ready_.front());
  ready_.pop_front();
  Entity& e = entities_.at(entity);
  Item item = std::move(e.items.front());
  e.items.pop_front();
  e.running = true;
  return item;
}

template <typename T>
void BasicEntityScheduler<T>::Done(const std::string& entity_id) {
  std::lock_guard lock(mu_);
  auto it = entities_.find(entity_id);
  if (it == entities_.end() || !it->second.running || outstanding_ == 0) {
    std::fprintf(stderr, "EntityScheduler::Done: entity was not running\n");
    std::abort();
  }
  it->second.running = false;
  --outstanding_;
  if (it->second.items.empty()) {
    entities_.erase(it);
  } else {
    ready_.push_back(entity_id);
    work_cv_.notify_one();
  }
  room_cv_.notify_all();
}

template <typename T>
size_t BasicEntityScheduler<T>::WaitForRoom(size_t limit) {
  std::unique_lock lock(mu_);
  room_cv_.wait(lock, [&] { return closed_ || outstanding_ < limit; });
  return closed_ ? 0 : limit - outstanding_;
}

template <typename T>
void BasicEntityScheduler<T>::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  work_cv_.notify_all();
  room_cv_.notify_all();
}

template <typename T>
std::vector<T> BasicEntityScheduler<T>::TakeUnstarted() {
  std::lock_guard lock(mu_);
  std::vector<Item> out;
  for (auto it = entities_.begin(); it != entities_.end();) {
    for (Item& item : it->second.items) out.push_back(std::move(item));
    outstanding_ -= it->second.items.size();
    it->second.items.clear();
    it = it->second.running ? std::next(it) : entities_.erase(it);
  }
  ready_.clear();
  return out;
}

template <typename T>
size_t BasicEntityScheduler<T>::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_;
}

}  // namespace eragon::sdk
