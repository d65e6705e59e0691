// TopicLogImpl: the log of one topic — its segments, its writer thread (group commit)
// and its readers. See README.md for the threading model and lock order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "log/log.h"
#include "log/segment.h"

namespace eragon::log {

class TopicLogImpl final : public TopicLog {
 public:
  // Opens the topic in `dir` (which exists and holds its metadata), recovering its
  // segments, and starts the writer thread.
  static Result<std::unique_ptr<TopicLogImpl>> Open(std::string name, std::string dir,
                                                    uint32_t partitions, const LogOptions& options);
  ~TopicLogImpl() override;

  const std::string& name() const override { return name_; }
  uint32_t partitions() const override { return partitions_; }
  uint32_t PartitionFor(std::string_view key) const override;
  void AppendAsync(std::span<const AppendRecord> records, AppendCallback done) override;
  Result<std::vector<RecordPosition>> Append(std::span<const AppendRecord> records) override;
  Result<std::vector<LogRecord>> Read(uint32_t partition, uint64_t offset, size_t max_records,
                                      size_t max_bytes) override;
  uint64_t StartOffset(uint32_t partition) const override;
  uint64_t DurableEnd(uint32_t partition) const override;
  Result<uint64_t> OffsetForTime(uint32_t partition, int64_t ts_ms) override;
  bool WaitForData(uint32_t partition, uint64_t offset, int64_t deadline_mono_ns) override;
  uint64_t Subscribe(std::function<void()> on_advance) override;
  void Unsubscribe(uint64_t id) override;
  uint64_t SizeBytes() const override;
  Status health() const override;

  // Deletes whole sealed segments, oldest first, past the limits (see
  // LogManager::RunRetention). `committed[p]` is the slowest committed position of
  // partition p, or empty when no consumer committed on this topic.
  void ApplyRetention(int64_t now_ms, const std::vector<std::optional<uint64_t>>& committed,
                      RetentionReport* report);
  // Stops accepting appends, writes and syncs what is queued, stops the writer.
  Status Close();

 private:
  // A blocking Append's state on its caller's stack; the committing thread fills it.
  struct Waiter {
    Status status;
    std::vector<RecordPosition> positions;
    std::atomic<uint32_t> done{0};
  };
  struct PendingAppend {
    // Blocking Append: the caller's records, valid until it is released (no copy).
    // AppendAsync: empty; `owned` holds copies whose views point into `owned_bytes`.
    std::span<const AppendRecord> view;
    std::vector<AppendRecord> owned;
    std::unique_ptr<char[]> owned_bytes;
    AppendCallback done;                    // AppendAsync
    Waiter* waiter = nullptr;               // blocking Append
    uint64_t bytes = 0;                     // encoded size
    Status status;                          // set by the committing thread
    std::vector<RecordPosition> positions;  // AppendAsync's, filled by the committing thread

    std::span<const AppendRecord> records() const { return waiter ? view : owned; }
    std::vector<RecordPosition>& out() { return waiter ? waiter->positions : positions; }
  };
  // The appends one commit took from the queue, in append order.
  struct Group {
    uint64_t number = 0;  // groups_taken_ when taken; see done_epoch_
    std::vector<PendingAppend> appends;
  };

  TopicLogImpl(std::string name, std::string dir, uint32_t partitions, const LogOptions& o);
  Status Recover();

  // Append side (topic_append.cc).
  // Validates and sizes the records into *a; false (after refusing) when too large.
  static Status Prepare(std::span<const AppendRecord> records, PendingAppend* a);
  Status Refusal(uint64_t bytes) const;  // REQUIRES: q_mu_ held
  // Whether a blocking Append may commit on its own thread. REQUIRES: q_mu_ held.
  bool MayLead() const;
  void Enqueue(PendingAppend a, std::unique_lock<std::mutex>& l);
  void WakeWriterIfWaiting();  // REQUIRES: q_mu_ held
  // Has the group completed: inline when small and nothing is in flight, else on the
  // completion thread; either way after every earlier group.
  void Deliver(Group group);
  // Runs the group's callbacks in order and releases its waiters (blocking Appends).
  void Complete(Group& group);
  void CompletionLoop();

  // Commit side (topic_writer.cc): only the holder of the writer role (committing_) runs
  // these — the writer thread, or a blocking Append leading while the writer is idle.
  void WriterLoop();
  void GatherMore(std::unique_lock<std::mutex>& l);  // REQUIRES: l holds q_mu_
  // After the writer's own commit of n appends, with `queued` waiting meanwhile.
  void PlanGather(size_t blocking, size_t queued);
  void WriteGroup(Group& group);
  // Writes appends [begin, end) into the active segment (which has room) in one write.
  Status WriteChunk(Group& group, size_t begin, size_t end);
  Status EnsureRoom(uint64_t bytes);
  Status Roll(uint64_t min_capacity);
  Status SealActive();
  Status SyncActive();
  void PublishDurable(const std::vector<uint64_t>& ends);
  void Fail(const Status& cause);
  bool IntervalSyncDue() const;
  void ReportCommit(double write_s, double fsync_s, uint64_t bytes, size_t records) const;

  std::vector<std::shared_ptr<Segment>> SnapshotSegments() const;
  void UpdateStartOffsets();  // REQUIRES: seg_mu_ held

  const std::string name_;
  const std::string dir_;
  const uint32_t partitions_;
  const LogOptions options_;

  // Lock order: q_mu_ -> seg_mu_ -> Segment::mu_; wait_mu_ and sub_mu_ are leaves.
  mutable std::mutex seg_mu_;
  std::vector<std::shared_ptr<Segment>> segments_;  // oldest first; back() is active
  std::unique_ptr<std::atomic<uint64_t>[]> start_offset_;
  std::unique_ptr<std::atomic<uint64_t>[]> durable_end_;

  // Writer-role state: touched only by the holder of the writer role (see committing_).
  std::unique_ptr<WritableFile> active_file_;
  uint64_t active_capacity_ = 0;
  std::vector<uint64_t> next_offset_;  // per partition, one past the last written
  bool unsynced_ = false;              // kInterval/kNever: written but not yet fsynced
  int64_t last_sync_mono_ns_ = 0;
  int64_t last_sync_ns_ = 0;  // duration of the previous fsync (real time)
  std::string write_buf_;     // reused encoding buffer
  struct IndexAdd {
    uint32_t p;
    uint64_t offset;
    int64_t ts;
    uint64_t pos;
  };
  std::vector<IndexAdd> index_adds_;  // reused

  // Writer-thread-only state for GatherMore.
  size_t expected_ = 0;         // appenders likely to append again soon
  int64_t gather_wait_ns_ = 0;  // how long to wait for them

  mutable std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::vector<PendingAppend> queue_;
  uint64_t pending_bytes_ = 0;
  bool closing_ = false;
  Status health_;  // guarded by q_mu_; non-ok once read-only
  // The writer role: true while a thread writes/syncs/rolls. The writer thread takes it
  // with each group; a blocking Append takes it when MayLead(). Guarded by q_mu_.
  bool committing_ = false;
  // A lone appender was seen (the last commit had one append and nothing queued up
  // meanwhile): blocking Appends may lead. Guarded by q_mu_.
  bool lone_ = true;
  // Nonzero while the writer thread sleeps: wake it once queue_ holds this many.
  size_t wake_at_ = 0;
  uint64_t groups_taken_ = 0;  // guarded by q_mu_
  // Bumped (and woken) after a group's waiters are released; group g's waiters sleep on
  // done_epoch_[g % kEpochWords]. Many words, so that when many small groups are in
  // flight (kNever, kInterval) a wake-up reaches only its own group's waiters.
  static constexpr size_t kEpochWords = 128;
  std::atomic<uint32_t> done_epoch_[kEpochWords] = {};

  // Completion thread: runs callbacks of large groups in group order.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::deque<Group> done_q_;
  size_t groups_in_flight_ = 0;  // queued or running on the completion thread
  bool done_stop_ = false;
  std::thread completer_;

  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::atomic<bool> closed_{false};

  std::mutex sub_mu_;
  std::condition_variable sub_cv_;
  std::map<uint64_t, std::shared_ptr<std::function<void()>>> subs_;
  uint64_t next_sub_id_ = 1;
  bool notifying_ = false;    // guarded by sub_mu_
  std::thread::id notifier_;  // the thread running the current round; guarded by sub_mu_

  std::shared_ptr<Segment> active_seg_;  // writer-owned reference to segments_.back()
  uint64_t last_seq_ = 0;

  std::mutex close_mu_;
  std::thread writer_;
};

}  // namespace eragon::log
