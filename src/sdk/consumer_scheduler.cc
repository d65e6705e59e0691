#include "sdk/consumer_scheduler.h"

#include <cstdio>
#include <cstdlib>

namespace eragon::sdk {

void EntityScheduler::Add(std::vector<Item> items) {
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

std::optional<EntityScheduler::Item> EntityScheduler::Take() {
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

void EntityScheduler::Done(const std::string& entity_id) {
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

size_t EntityScheduler::WaitForRoom(size_t limit) {
  std::unique_lock lock(mu_);
  room_cv_.wait(lock, [&] { return closed_ || outstanding_ < limit; });
  return closed_ ? 0 : limit - outstanding_;
}

void EntityScheduler::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  work_cv_.notify_all();
  room_cv_.notify_all();
}

std::vector<EntityScheduler::Item> EntityScheduler::TakeUnstarted() {
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

size_t EntityScheduler::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_;
}

}  // namespace eragon::sdk
