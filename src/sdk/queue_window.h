// QueueWindow: the taken-but-not-Done records of a queue, by seq. Take adds records in
// increasing seq order (gaps allowed); Done may come in any order. Each entry keeps the
// record's size so Done can free its capacity; a seq that is not in the window (never
// taken, or already Done) is rejected, so a stray Done can never free space twice.
//
// Not thread-safe: the owning queue holds its lock around every call.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace eragon::sdk {

class QueueWindow {
 public:
  // REQUIRES: seq is greater than every seq added before.
  void Add(uint64_t seq, uint64_t bytes) { entries_.push_back({seq, bytes, false}); }

  // Marks `seq` done; returns its bytes, or nullopt when it is not in the window.
  std::optional<uint64_t> Remove(uint64_t seq);

  bool empty() const { return entries_.empty(); }
  // The smallest seq in the window. REQUIRES: !empty().
  uint64_t front_seq() const { return entries_.front().seq; }

 private:
  struct Entry {
    uint64_t seq;
    uint64_t bytes;
    bool done;
  };
  std::deque<Entry> entries_;  // increasing seq; done entries are popped from the front
};

}  // namespace eragon::sdk
