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
  struct PendingRecord {
    uint32_t partition;
    int64_t timestamp_ms;
    std::string payload;
  };
  struct PendingAppend {
    std::vector<PendingRecord> records;
    AppendCallback done;
    uint64_t bytes = 0;
    std::vector<RecordPosition> positions;  // filled by the writer
  };
  using Group = std::vector<PendingAppend>;

  TopicLogImpl(std::string name, std::string dir, uint32_t partitions, const LogOptions& o);
  Status Recover();

  // Writer thread (topic_writer.cc).
  void WriterLoop();
  void GatherMore(std::unique_lock<std::mutex>& l);  // REQUIRES: l holds q_mu_
  void WriteGroup(Group& group);
  // Writes group[begin, end) into the active segment (which has room) in one write.
  Status WriteChunk(Group& group, size_t begin, size_t end);
  Status EnsureRoom(uint64_t bytes);
  Status Roll(uint64_t min_capacity);
  Status SealActive();
  Status SyncActive();
  void PublishDurable(const std::vector<uint64_t>& ends);
  void Fail(const Status& cause);
  static void Finish(Group& group, size_t begin, size_t end, const Status& s);
  bool IntervalSyncDue() const;

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

  // Writer-thread state (no lock: only the writer touches it after Open).
  std::unique_ptr<WritableFile> active_file_;
  uint64_t active_capacity_ = 0;
  std::vector<uint64_t> next_offset_;  // per partition, one past the last written
  bool unsynced_ = false;              // kInterval: written but not yet fsynced
  int64_t last_sync_mono_ns_ = 0;
  size_t last_group_appends_ = 0;  // appends in the previous group
  int64_t last_sync_ns_ = 0;       // duration of the previous fsync (real time)

  mutable std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<PendingAppend> queue_;
  uint64_t pending_bytes_ = 0;
  bool closing_ = false;
  Status health_;  // guarded by q_mu_; non-ok once read-only

  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::atomic<bool> closed_{false};

  std::mutex sub_mu_;
  std::condition_variable sub_cv_;
  std::map<uint64_t, std::shared_ptr<std::function<void()>>> subs_;
  uint64_t next_sub_id_ = 1;
  bool notifying_ = false;  // guarded by sub_mu_

  std::shared_ptr<Segment> active_seg_;  // writer-owned reference to segments_.back()
  uint64_t last_seq_ = 0;

  std::mutex close_mu_;
  std::thread writer_;
  std::thread::id writer_id_;  // set before the topic is handed out
};

}  // namespace eragon::log
