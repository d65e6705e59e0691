// KafkaOffsets: the KafkaConsumer's per-partition bookkeeping — which received records are
// done, the contiguous done offset to commit, how many handlers of a partition run, and
// whether the partition is still assigned to this instance.
//
// Thread-safe (one mutex). The poll thread calls Assign/Received/Revoke/ToCommit; the
// handler threads BeginRun/EndRun/WaitBeforeRetry.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace eragon::sdk {

// One assigned partition (shared by the records scheduled from it, so a record knows
// whether its partition was revoked since it was received).
struct PartitionState {
  explicit PartitionState(int32_t p) : partition(p) {}
  const int32_t partition;
  // Guarded by KafkaOffsets' mutex:
  bool revoked = false;
  std::map<int64_t, bool> pending;  // received offsets up to the first not done -> done
  int64_t commit_to = -1;           // next offset to commit; -1: nothing done yet
  int64_t committed = -1;           // what the last successful commit sent
  int running = 0;                  // handlers of this partition running now
  int64_t end = -1;                 // the last end of partition reached (ReachedEnd)
  // The poll thread's own (no lock): a record arrived under this assignment; it is paused.
  bool fetched = false;
  bool paused = false;
};

using PartitionPtr = std::shared_ptr<PartitionState>;
using PartitionOffset = std::pair<int32_t, int64_t>;  // partition, next offset to consume

class KafkaOffsets {
 public:
  // A new (or again) assigned partition.
  PartitionPtr Assign(int32_t partition);
  // Every assigned partition.
  std::vector<PartitionPtr> Assigned() const;
  // The assigned partition, or null.
  PartitionPtr Find(int32_t partition) const;

  // A record at `offset` was received (offsets grow per partition).
  void Received(PartitionState& p, int64_t offset);
  // A received record needs no handler (not an event, a duplicate): done at once.
  void Finish(PartitionState& p, int64_t offset);
  // The partition's end was reached at `end` (an end-of-partition event: every record
  // below it was received). Offsets below it that came as no record hold nothing to handle
  // (transaction markers, records of aborted transactions): once everything received is
  // done, the offset to commit is `end`, so a group that read everything shows no lag.
  void ReachedEnd(PartitionState& p, int64_t end);

  // A handler thread took the record: false when its partition was revoked or Stop began
  // (then the record is dropped); else the partition counts one more running handler.
  bool BeginRun(PartitionState& p);
  // The handler ended; `done` when it succeeded (the contiguous offset may advance).
  void EndRun(PartitionState& p, int64_t offset, bool done);
  // Sleeps `ms` before a retry; false (at once) when the partition is revoked or Stop began.
  bool WaitBeforeRetry(PartitionState& p, int64_t ms);

  // Marks `partitions` revoked, waits until none of their handlers runs, and removes
  // them; returns their offsets that need a commit.
  std::vector<PartitionOffset> Revoke(const std::vector<int32_t>& partitions);
  // Assigned partitions whose contiguous done offset moved past the last commit.
  std::vector<PartitionOffset> ToCommit() const;
  // The commit of `offsets` succeeded.
  void Committed(const std::vector<PartitionOffset>& offsets);

  // Running handlers stop retrying; BeginRun refuses from now on.
  void Stop();

 private:
  void MarkDone(PartitionState& p, int64_t offset);

  mutable std::mutex mu_;
  std::condition_variable cv_;  // a handler ended, or Stop/Revoke (wakes retry sleeps)
  std::map<int32_t, PartitionPtr> assigned_;
  bool stopping_ = false;
};

}  // namespace eragon::sdk
