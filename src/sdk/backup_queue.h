// BackupQueue: the file-backed EventQueue (event_queue.h, format in backup_format.h).
//
// Appending: Enqueue puts the record in `staging_`; whichever enqueuer finds no writer at
// work becomes the writer ("leader"), takes staged records (one call's under kPerEvent,
// all under kGroup/kInterval), writes them with one pwrite per segment, fdatasyncs per policy, and
// then publishes them to Take (QueueCore::Push) and wakes the waiting enqueuers. Only the holder of
// the writer token (`writer_active_`) touches the active segment; the interval syncer takes the
// same token. A failed write or sync sets `failed_` for good.
//
// Acknowledging: Done updates counters under mu_, then appends ack records (and removes
// fully acknowledged sealed segments) under ack_mu_. Lock order: mu_ before ack_mu_.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "eragon/event_queue.h"
#include "sdk/queue_core.h"

namespace eragon::sdk {

class BackupQueue final : public EventQueue {
 public:
  ~BackupQueue() override;

  // See OpenFileQueue.
  static Result<std::unique_ptr<EventQueue>> Open(FileQueueOptions options);

  Result<uint64_t> Enqueue(std::string payload, std::shared_ptr<void> context,
                           std::chrono::milliseconds block_for) override;
  Result<uint64_t> EnqueueBatch(std::vector<QueuedRecord> records,
                                std::chrono::milliseconds block_for) override;
  Status Take(size_t max_records, std::chrono::milliseconds wait,
              std::vector<QueuedRecord>* out) override;
  Status Done(std::span<const uint64_t> seqs) override;
  QueueStats Stats() const override;
  void Close() override;

 private:
  struct Segment {
    uint64_t records = 0;  // records written to it
    uint64_t live = 0;     // of those, not Done
    bool sealed = false;   // no more records will be written to it
  };
  // What a commit changed in the segment table; applied under mu_ once it succeeded.
  struct CommitEffects {
    std::vector<uint64_t> created;                    // new segment bases, in order
    std::vector<std::pair<uint64_t, uint64_t>> adds;  // (base, records written)
    std::vector<uint64_t> sealed;
  };

  explicit BackupQueue(FileQueueOptions options);
  Status Recover();
  Status RecoverSegment(uint64_t base, bool last, std::vector<QueuedRecord>* replay);

  // Leader: writes staged records. REQUIRES: lock held, !writer_active_, staging_ not empty.
  void CommitStaged(std::unique_lock<std::mutex>& lock);
  Status WriteRecords(const std::vector<QueuedRecord>& batch, CommitEffects* effects);
  Status StartSegment(uint64_t base, uint64_t min_bytes, CommitEffects* effects);
  Status SealActive(CommitEffects* effects);
  void ApplyCommit(const CommitEffects& effects, std::vector<uint64_t>* dead);
  void FailLocked(const Status& cause);
  void SyncLoop();

  void WriteAcks(const std::map<uint64_t, std::vector<uint32_t>>& acks,
                 const std::vector<uint64_t>& dead);
  void RemoveSegmentFiles(uint64_t base);  // REQUIRES: ack_mu_ held
  std::string PathOf(const std::string& name) const { return options_.dir + "/" + name; }

  const FileQueueOptions options_;
  Env* const env_;
  std::unique_ptr<FileLock> dir_lock_;

  mutable std::mutex mu_;
  // Ready records (written, not yet taken), taken window, capacity, closed flag.
  QueueCore core_;
  std::condition_variable turn_;  // Enqueue waits for its commit / the writer token
  struct Staged {
    QueuedRecord rec;
    bool last;  // the last record of its Enqueue/EnqueueBatch call
  };
  std::deque<Staged> staging_;            // enqueued, not yet taken by a writer
  std::map<uint64_t, Segment> segments_;  // by base seq
  uint64_t next_seq_ = 0;
  uint64_t taken_end_ = 0;    // seqs below this were taken by a writer
  uint64_t durable_end_ = 0;  // seqs below this are stored per policy (or were replayed)
  bool writer_active_ = false;
  bool unsynced_ = false;  // kInterval: written data waits for the syncer
  Status failed_;

  // Writer state: only the holder of the writer token touches these.
  std::unique_ptr<WritableFile> active_;
  uint64_t active_base_ = 0;
  uint64_t active_offset_ = 0;
  uint64_t active_capacity_ = 0;

  std::mutex ack_mu_;
  struct AckFile {
    std::unique_ptr<WritableFile> file;
    uint64_t offset = 0;
  };
  std::map<uint64_t, AckFile> ack_files_;  // open ack files by segment base
  std::set<uint64_t> removed_;             // segments whose files are gone

  std::mutex close_mu_;  // serialises Close calls
  bool close_done_ = false;

  std::thread syncer_;  // kInterval only
  std::condition_variable syncer_wake_;
};

}  // namespace eragon::sdk
