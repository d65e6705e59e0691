// TopicLogImpl's commit side: one writer thread per topic takes all that is queued,
// writes it with one pwrite (per segment touched), syncs once under kAlways, advances the
// durable watermarks, wakes readers, then hands the group over for completion
// (topic_append.cc) and starts on the next. A lone blocking Append runs the same
// WriteGroup on its own thread while it holds the writer role.
#include <algorithm>
#include <chrono>

#include "log/segment_recovery.h"
#include "log/topic_log.h"

namespace eragon::log {

bool TopicLogImpl::IntervalSyncDue() const {
  return options_.clock->MonoNs() - last_sync_mono_ns_ >= options_.fsync.interval_ms * 1'000'000;
}

void TopicLogImpl::WriterLoop() {
  std::unique_lock<std::mutex> l(q_mu_);
  for (;;) {
    GatherMore(l);
    // Wait for appends and the writer role (a leading Append may hold it), or for close,
    // or under kInterval for the next sync.
    while (committing_ || (queue_.empty() && !closing_)) {
      const bool timed =
          !committing_ && unsynced_ && options_.fsync.policy == FsyncPolicy::kInterval;
      if (timed && IntervalSyncDue()) break;
      wake_at_ = 1;
      if (timed) {
        const int64_t left =
            last_sync_mono_ns_ + options_.fsync.interval_ms * 1'000'000 - options_.clock->MonoNs();
        q_cv_.wait_for(l, std::chrono::nanoseconds(std::clamp<int64_t>(left, 1, 50'000'000)));
      } else {
        q_cv_.wait(l);
      }
      wake_at_ = 0;
    }
    Group group;
    group.number = groups_taken_++;
    group.appends.swap(queue_);
    const bool closing = closing_;
    committing_ = true;
    l.unlock();
    const size_t n = group.appends.size();
    const size_t blocking = std::count_if(group.appends.begin(), group.appends.end(),
                                          [](const PendingAppend& a) { return a.waiter; });
    if (n > 0) {
      WriteGroup(group);
      Deliver(std::move(group));
    }
    // Sync when the interval is due, and on close under every policy.
    const bool due = options_.fsync.policy == FsyncPolicy::kInterval && IntervalSyncDue();
    if (unsynced_ && (due || (closing && n == 0))) {
      Status s = SyncActive();
      if (!s.ok()) Fail(s);
    }
    l.lock();
    committing_ = false;
    if (n > 0) {
      lone_ = n == 1 && queue_.empty();
      PlanGather(blocking, queue_.size());
    }
    if (closing && n == 0) return;
  }
}

// Closed-loop appenders blocked in Append append again as soon as their previous append
// completes; taking whatever is queued when the writer is free would split them into
// cohorts that each pay a whole fsync. So under kAlways, after a commit of n blocking
// appends with `queued` more waiting, expect about n + queued appenders and, before the
// next commit, wait until 7/8 of them are queued, for at most half an fsync (and 1 ms).
// Appenders wake the writer only once that many are queued (wake_at_), not on every
// arrival. AppendAsync callers (eragond's io threads) do not gather: they come in
// through a few threads that keep working while the fsync runs, and waiting for them
// only delayed the fsync (7-25 % fewer durable publishes/s in A/B runs on two cores).
void TopicLogImpl::PlanGather(size_t blocking, size_t queued) {
  const bool gather = options_.fsync.policy == FsyncPolicy::kAlways && blocking >= 4;
  expected_ = gather ? blocking + queued : 0;
  gather_wait_ns_ = std::min<int64_t>(last_sync_ns_ / 2, 1'000'000);
}

void TopicLogImpl::GatherMore(std::unique_lock<std::mutex>& l) {
  if (expected_ == 0 || committing_ || closing_) return;
  const size_t target = expected_ * 7 / 8;
  expected_ = 0;
  if (queue_.size() >= target) return;
  wake_at_ = target;
  q_cv_.wait_for(l, std::chrono::nanoseconds(gather_wait_ns_),
                 [&] { return closing_ || queue_.size() >= target; });
  wake_at_ = 0;
}

void TopicLogImpl::WriteGroup(Group& group) {
  std::vector<PendingAppend>& appends = group.appends;
  Status health = this->health();
  size_t i = 0;
  while (health.ok() && i < appends.size()) {
    Status s = EnsureRoom(appends[i].bytes);
    if (s.code() == Code::kStorageFull) {
      // ENOSPC making room (preallocating a new segment): nothing was written, so the
      // topic stays writable; these appends answer 507 and a later one tries again.
      health = s;
      break;
    }
    size_t j = i;
    if (s.ok()) {
      const uint64_t room = active_capacity_ - active_seg_->data_end();
      uint64_t used = 0;
      while (j < appends.size() && used + appends[j].bytes <= room) used += appends[j++].bytes;
      s = WriteChunk(group, i, j);
    }
    if (!s.ok()) {
      Fail(s);
      health = this->health();
      break;
    }
    i = j;
  }
  if (i < appends.size()) {
    uint64_t bytes = 0;
    for (size_t k = i; k < appends.size(); ++k) {
      bytes += appends[k].bytes;
      appends[k].status = health;
    }
    std::lock_guard<std::mutex> l(q_mu_);
    pending_bytes_ -= bytes;
  }
}

Status TopicLogImpl::WriteChunk(Group& group, size_t begin, size_t end) {
  using Clock = std::chrono::steady_clock;
  const uint64_t start = active_seg_->data_end();
  write_buf_.clear();
  index_adds_.clear();
  uint64_t bytes = 0;
  size_t records = 0;
  for (size_t k = begin; k < end; ++k) {
    PendingAppend& a = group.appends[k];
    bytes += a.bytes;
    const std::span<const AppendRecord> recs = a.records();
    std::vector<RecordPosition>& out = a.out();
    for (size_t r = 0; r < recs.size(); ++r) {
      const uint32_t p = PartitionFor(recs[r].key);
      const uint64_t offset = next_offset_[p]++;
      const uint8_t flags = r + 1 == recs.size() ? kFlagBatchEnd : 0;
      index_adds_.push_back({p, offset, recs[r].timestamp_ms, start + write_buf_.size()});
      EncodeRecord(p, offset, recs[r].timestamp_ms, flags, recs[r].payload, &write_buf_);
      out.push_back({p, offset});
    }
    records += recs.size();
  }
  const auto t0 = Clock::now();
  ERAGON_RETURN_IF_ERROR(active_file_->Write(start, write_buf_));
  const auto t1 = Clock::now();
  for (const IndexAdd& x : index_adds_) active_seg_->AddToIndex(x.p, x.offset, x.ts, x.pos);
  active_seg_->set_data_end(start + write_buf_.size());
  {
    std::lock_guard<std::mutex> l(q_mu_);
    pending_bytes_ -= bytes;
  }
  double fsync_s = -1;
  switch (options_.fsync.policy) {
    case FsyncPolicy::kAlways: {
      ERAGON_RETURN_IF_ERROR(active_file_->Sync());
      const auto t2 = Clock::now();
      last_sync_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(t2 - t1).count();
      fsync_s = std::chrono::duration<double>(t2 - t1).count();
      PublishDurable(next_offset_);
      break;
    }
    case FsyncPolicy::kNever:
      PublishDurable(next_offset_);
      unsynced_ = true;  // synced only when the segment is sealed or the log closes
      break;
    case FsyncPolicy::kInterval:
      unsynced_ = true;
      break;
  }
  ReportCommit(std::chrono::duration<double>(t1 - t0).count(), fsync_s, write_buf_.size(), records);
  // Keep the buffer for the next group unless a huge batch blew it up.
  if (write_buf_.capacity() > (8u << 20)) std::string().swap(write_buf_);
  return Status::Ok();
}

void TopicLogImpl::ReportCommit(double write_s, double fsync_s, uint64_t bytes,
                                size_t records) const {
  if (options_.on_commit) options_.on_commit(write_s, fsync_s, bytes, records);
}

Status TopicLogImpl::SyncActive() {
  if (!unsynced_ || !active_file_) return Status::Ok();
  last_sync_mono_ns_ = options_.clock->MonoNs();
  const auto t0 = std::chrono::steady_clock::now();
  ERAGON_RETURN_IF_ERROR(active_file_->Sync());
  ReportCommit(0, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0,
               0);
  unsynced_ = false;
  if (options_.fsync.policy == FsyncPolicy::kInterval) PublishDurable(next_offset_);
  return Status::Ok();
}

Status TopicLogImpl::EnsureRoom(uint64_t bytes) {
  if (active_seg_ && active_seg_->data_end() + bytes <= active_capacity_) return Status::Ok();
  return Roll(bytes);
}

Status TopicLogImpl::SealActive() {
  if (!active_seg_) return Status::Ok();
  // A sealed segment is complete on disk whatever the policy, so recovery can treat any
  // bad record in it as corruption.
  ERAGON_RETURN_IF_ERROR(SyncActive());
  // Best effort: without it the next open rebuilds the index by scanning.
  (void)WriteFileAtomically(options_.env, IndexPathFor(active_seg_->path()),
                            active_seg_->EncodeIndex());
  Status s = active_file_->Close();
  active_file_.reset();
  active_seg_.reset();
  return s;
}

Status TopicLogImpl::Roll(uint64_t min_bytes) {
  ERAGON_RETURN_IF_ERROR(SealActive());
  Env* env = options_.env;
  SegmentHeader header{last_seq_ + 1, options_.clock->WallMs(), next_offset_};
  const std::string head = EncodeSegmentHeader(header);
  const uint64_t capacity = std::max(options_.segment_bytes, head.size() + min_bytes);
  const std::string path = dir_ + "/" + SegmentFileName(header.seq);
  ERAGON_ASSIGN_OR_RETURN(auto file, env->OpenWritable(path));
  if (Status s = file->Preallocate(capacity); !s.ok()) {
    // Nothing is written yet: the file goes, and the next append tries again (WriteGroup
    // keeps the topic writable when this was ENOSPC).
    (void)file->Close();
    (void)env->RemoveFile(path);
    return s;
  }
  ERAGON_RETURN_IF_ERROR(file->Write(0, head));
  ERAGON_RETURN_IF_ERROR(file->Sync());
  // The new entry must be durable before anything in the segment is acknowledged.
  ERAGON_RETURN_IF_ERROR(env->SyncDir(dir_));
  ERAGON_ASSIGN_OR_RETURN(auto readable, env->OpenReadable(path));
  auto seg = std::make_shared<Segment>(path, std::move(header), capacity, std::move(readable));
  last_seq_ = seg->seq();
  {
    std::lock_guard<std::mutex> l(seg_mu_);
    segments_.push_back(seg);
    if (segments_.size() == 1) UpdateStartOffsets();
  }
  active_seg_ = std::move(seg);
  active_file_ = std::move(file);
  active_capacity_ = capacity;
  return Status::Ok();
}

void TopicLogImpl::PublishDurable(const std::vector<uint64_t>& ends) {
  for (uint32_t p = 0; p < partitions_; ++p) {
    durable_end_[p].store(ends[p], std::memory_order_release);
  }
  { std::lock_guard<std::mutex> l(wait_mu_); }
  wait_cv_.notify_all();
  std::vector<std::shared_ptr<std::function<void()>>> fns;
  {
    std::lock_guard<std::mutex> l(sub_mu_);
    if (subs_.empty()) return;
    for (auto& [id, fn] : subs_) fns.push_back(fn);
    notifying_ = true;
    notifier_ = std::this_thread::get_id();
  }
  for (auto& fn : fns) (*fn)();
  {
    std::lock_guard<std::mutex> l(sub_mu_);
    notifying_ = false;
  }
  sub_cv_.notify_all();
}

void TopicLogImpl::Fail(const Status& cause) {
  std::lock_guard<std::mutex> l(q_mu_);
  if (!health_.ok()) return;
  health_ = Status::ReadOnly(
      "topic " + name_ +
      " is read-only after a failed write or fsync (never retried): " + cause.ToString());
}

Status TopicLogImpl::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  {
    std::lock_guard<std::mutex> l(q_mu_);
    closing_ = true;
  }
  q_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard<std::mutex> l(done_mu_);
    done_stop_ = true;
  }
  done_cv_.notify_all();
  if (completer_.joinable()) completer_.join();
  closed_.store(true);
  { std::lock_guard<std::mutex> l(wait_mu_); }
  wait_cv_.notify_all();
  if (active_file_) {
    (void)active_file_->Close();
    active_file_.reset();
  }
  return health();
}

}  // namespace eragon::log
