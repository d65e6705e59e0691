// QueueWindow: the taken-but-not-Done records of a queue, by seq. Take adds records in
// increasing seq order (gaps allowed); Done may come in any order. Each entry keeps the
// record's size so Done can free its capacity; a seq that is not in the window (never
// taken, or already Done) is rejected, so a stray Done can never free space twice.
//
// Entries are indexed by seq - front seq (O(1) per call); a gap between two added seqs
// is filled with entries that count as done.
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
  void Add(uint64_t seq, uint64_t bytes);

  // Marks `seq` done; returns its bytes, or nullopt when it is not in the window.
  std::optional<uint64_t> Remove(uint64_t seq);

  bool empty() const { return entries_.empty(); }
  // The smallest seq in the window. REQUIRES: !empty().
  uint64_t front_seq() const { return front_seq_; }

 private:
  static constexpr uint64_t kDone = ~uint64_t{0};
  std::deque<uint64_t> entries_;  // bytes by seq - front_seq_, or kDone; front is never kDone
  uint64_t front_seq_ = 0;
};

}  // namespace eragon::sdk
