// EntityScheduler: hands fetched messages to the consumer's handler threads so that one
// entity's messages run one at a time, in the order they were added, while different
// entities run in parallel. Entities take turns (FIFO), so a busy entity cannot starve
// the others.
//
// Thread-safe. Lifetime of a message: Add -> Take (running) -> Done; or, after Close,
// TakeUnstarted for those never taken.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "eragon/handler.h"

namespace eragon::sdk {

class EntityScheduler {
 public:
  struct Item {
    std::string ack_id;
    Delivery delivery;
  };

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

}  // namespace eragon::sdk
