// TopicLogImpl's write side: appenders enqueue; one writer thread per topic takes all
// that is queued, writes it with one pwrite (per segment touched), syncs once under
// kAlways, advances the durable watermarks, wakes readers, then runs the callbacks.
#include <algorithm>
#include <chrono>

#include "log/segment_recovery.h"
#include "log/topic_log.h"

namespace eragon::log {

void TopicLogImpl::AppendAsync(std::span<const AppendRecord> records, AppendCallback done) {
  if (records.empty()) return done(Status::Ok(), {});
  PendingAppend a;
  a.records.reserve(records.size());
  for (const AppendRecord& r : records) {
    if (r.payload.size() > kMaxPayload) {
      return done(Status::TooLarge("record payload of " + std::to_string(r.payload.size()) +
                                   " bytes exceeds the limit of 16 MiB"),
                  {});
    }
    a.records.push_back({PartitionFor(r.key), r.timestamp_ms, std::string(r.payload)});
    a.bytes += kRecordHeaderSize + r.payload.size();
  }
  a.done = std::move(done);
  std::unique_lock<std::mutex> l(q_mu_);
  Status refused;
  if (closing_) {
    refused = Status::Unavailable("topic " + name_ + " is closed");
  } else if (!health_.ok()) {
    refused = health_;
  } else if (pending_bytes_ > 0 && pending_bytes_ + a.bytes > options_.max_pending_bytes) {
    refused =
        Status::ResourceExhausted("topic " + name_ + " has " + std::to_string(pending_bytes_) +
                                  " bytes waiting to be written; try again later");
  }
  if (!refused.ok()) {
    l.unlock();
    return a.done(refused, {});
  }
  pending_bytes_ += a.bytes;
  queue_.push_back(std::move(a));
  l.unlock();
  q_cv_.notify_one();
}

bool TopicLogImpl::IntervalSyncDue() const {
  return options_.clock->MonoNs() - last_sync_mono_ns_ >= options_.fsync.interval_ms * 1'000'000;
}

void TopicLogImpl::WriterLoop() {
  for (;;) {
    Group group;
    bool closing;
    {
      std::unique_lock<std::mutex> l(q_mu_);
      while (queue_.empty() && !closing_) {
        if (!unsynced_ || options_.fsync.policy != FsyncPolicy::kInterval) {
          q_cv_.wait(l);
          continue;
        }
        if (IntervalSyncDue()) break;
        const int64_t left =
            last_sync_mono_ns_ + options_.fsync.interval_ms * 1'000'000 - options_.clock->MonoNs();
        q_cv_.wait_for(l, std::chrono::nanoseconds(std::clamp<int64_t>(left, 1, 50'000'000)));
      }
      GatherMore(l);
      group.reserve(queue_.size());
      for (auto& a : queue_) group.push_back(std::move(a));
      queue_.clear();
      closing = closing_;
    }
    if (!group.empty()) WriteGroup(group);
    // Sync when the interval is due, and on close under every policy.
    const bool due = options_.fsync.policy == FsyncPolicy::kInterval && IntervalSyncDue();
    if (unsynced_ && (due || (closing && group.empty()))) {
      Status s = SyncActive();
      if (!s.ok()) Fail(s);
    }
    if (closing && group.empty()) return;
  }
}

// Closed-loop appenders re-enqueue one by one as their callbacks run; taking the first
// arrival alone would alternate tiny and large groups, each paying a whole fsync. So
// under kAlways, when far fewer appends are queued than the previous group had, wait a
// fraction of an fsync (at most 1 ms) for the rest. A lone appender never waits.
void TopicLogImpl::GatherMore(std::unique_lock<std::mutex>& l) {
  if (options_.fsync.policy != FsyncPolicy::kAlways || queue_.empty()) return;
  const size_t target = last_group_appends_ * 3 / 4;
  if (queue_.size() >= target || last_group_appends_ < 4) return;
  const auto wait = std::chrono::nanoseconds(std::min<int64_t>(last_sync_ns_ / 2, 1'000'000));
  q_cv_.wait_for(l, wait, [&] { return closing_ || queue_.size() >= target; });
}

void TopicLogImpl::WriteGroup(Group& group) {
  last_group_appends_ = group.size();
  Status health = this->health();
  size_t i = 0;
  while (health.ok() && i < group.size()) {
    Status s = EnsureRoom(group[i].bytes);
    size_t j = i;
    if (s.ok()) {
      const uint64_t room = active_capacity_ - active_seg_->data_end();
      uint64_t used = 0;
      while (j < group.size() && used + group[j].bytes <= room) used += group[j++].bytes;
      s = WriteChunk(group, i, j);
    }
    if (!s.ok()) {
      Fail(s);
      health = this->health();
      break;
    }
    i = j;
  }
  if (i < group.size()) {
    uint64_t bytes = 0;
    for (size_t k = i; k < group.size(); ++k) bytes += group[k].bytes;
    {
      std::lock_guard<std::mutex> l(q_mu_);
      pending_bytes_ -= bytes;
    }
    Finish(group, i, group.size(), health);
  }
}

Status TopicLogImpl::WriteChunk(Group& group, size_t begin, size_t end) {
  const uint64_t start = active_seg_->data_end();
  std::string buf;
  struct Added {
    uint32_t p;
    uint64_t offset;
    int64_t ts;
    uint64_t pos;
  };
  std::vector<Added> added;
  uint64_t bytes = 0;
  for (size_t k = begin; k < end; ++k) {
    PendingAppend& a = group[k];
    bytes += a.bytes;
    for (size_t r = 0; r < a.records.size(); ++r) {
      const PendingRecord& rec = a.records[r];
      const uint64_t offset = next_offset_[rec.partition]++;
      const uint8_t flags = r + 1 == a.records.size() ? kFlagBatchEnd : 0;
      added.push_back({rec.partition, offset, rec.timestamp_ms, start + buf.size()});
      EncodeRecord(rec.partition, offset, rec.timestamp_ms, flags, rec.payload, &buf);
      a.positions.push_back({rec.partition, offset});
    }
  }
  ERAGON_RETURN_IF_ERROR(active_file_->Write(start, buf));
  for (const Added& x : added) active_seg_->AddToIndex(x.p, x.offset, x.ts, x.pos);
  active_seg_->set_data_end(start + buf.size());
  {
    std::lock_guard<std::mutex> l(q_mu_);
    pending_bytes_ -= bytes;
  }
  switch (options_.fsync.policy) {
    case FsyncPolicy::kAlways: {
      const auto t0 = std::chrono::steady_clock::now();
      ERAGON_RETURN_IF_ERROR(active_file_->Sync());
      last_sync_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
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
  Finish(group, begin, end, Status::Ok());
  return Status::Ok();
}

Status TopicLogImpl::SyncActive() {
  if (!unsynced_ || !active_file_) return Status::Ok();
  last_sync_mono_ns_ = options_.clock->MonoNs();
  ERAGON_RETURN_IF_ERROR(active_file_->Sync());
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
  ERAGON_RETURN_IF_ERROR(file->Preallocate(capacity));
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

void TopicLogImpl::Finish(Group& group, size_t begin, size_t end, const Status& s) {
  for (size_t k = begin; k < end; ++k) {
    if (s.ok()) {
      group[k].done(s, group[k].positions);
    } else {
      group[k].done(s, {});
    }
  }
}

Status TopicLogImpl::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  {
    std::lock_guard<std::mutex> l(q_mu_);
    closing_ = true;
  }
  q_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
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
