// BackupQueue at run time: enqueue with group commit, take, done (acks), close.
#include "sdk/backup_queue.h"

#include <algorithm>

#include "sdk/backup_format.h"

namespace eragon::sdk {

BackupQueue::BackupQueue(FileQueueOptions options)
    : options_(std::move(options)),
      env_(options_.env ? options_.env : Env::Default()),
      core_(options_.max_records, options_.max_bytes) {}

BackupQueue::~BackupQueue() { Close(); }

Result<uint64_t> BackupQueue::Enqueue(std::string payload, std::shared_ptr<void> context,
                                      std::chrono::milliseconds block_for) {
  std::vector<QueuedRecord> one;
  one.push_back(QueuedRecord{0, std::move(payload), std::move(context)});
  return EnqueueBatch(std::move(one), block_for);
}

Result<uint64_t> BackupQueue::EnqueueBatch(std::vector<QueuedRecord> records,
                                           std::chrono::milliseconds block_for) {
  if (records.empty()) return Status::InvalidArgument("EnqueueBatch: no records");
  uint64_t bytes = 0;
  for (const QueuedRecord& r : records) {
    const uint64_t b = r.payload.size();
    if (b == 0 || b >= (uint64_t{1} << 32) - kRecordHeaderBytes) {
      return Status::InvalidArgument("event queue record must be 1 byte .. 4 GiB, got " +
                                     std::to_string(b));
    }
    bytes += b;
  }
  const uint64_t n = records.size();
  std::unique_lock lock(mu_);
  if (!failed_.ok()) return failed_;
  ERAGON_RETURN_IF_ERROR(
      core_.WaitForSpace(lock, bytes, n, block_for, [this] { return !failed_.ok(); }));
  const uint64_t first = next_seq_;
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].seq = next_seq_++;
    staging_.push_back(Staged{std::move(records[i]), i + 1 == records.size()});
  }
  const uint64_t last = next_seq_ - 1;
  core_.Reserve(bytes, n);
  // Wait until a writer (maybe this thread) has stored the records. Records still staged
  // when the queue closes are dropped by Close(); a writer takes a call's records together
  // and stores or fails them together.
  while (durable_end_ <= last && failed_.ok() && !(core_.closed() && first >= taken_end_)) {
    if (!writer_active_ && !core_.closed()) {
      CommitStaged(lock);
    } else {
      turn_.wait(lock);
    }
  }
  if (durable_end_ > last) return first;
  if (!failed_.ok()) return failed_;
  return Status::Unavailable("event queue is closed");
}

void BackupQueue::CommitStaged(std::unique_lock<std::mutex>& lock) {
  writer_active_ = true;
  std::vector<QueuedRecord> batch;
  while (!staging_.empty()) {
    const bool last = staging_.front().last;
    batch.push_back(std::move(staging_.front().rec));
    staging_.pop_front();
    if (last && options_.fsync == BackupFsync::kPerEvent) break;  // one call per fsync
  }
  taken_end_ = batch.back().seq + 1;
  lock.unlock();
  CommitEffects effects;
  Status s = WriteRecords(batch, &effects);
  lock.lock();
  writer_active_ = false;
  if (!s.ok()) {
    for (const QueuedRecord& r : batch) core_.Release(r.payload.size());
    FailLocked(s);
    return;
  }
  std::vector<uint64_t> dead;
  ApplyCommit(effects, &dead);
  durable_end_ = taken_end_;
  for (QueuedRecord& r : batch) core_.Push(std::move(r));
  if (options_.fsync == BackupFsync::kInterval) unsynced_ = true;
  turn_.notify_all();
  if (core_.ClaimTakerWakeup()) core_.WakeTaker();
  if (!dead.empty()) {
    std::lock_guard ack_lock(ack_mu_);
    for (uint64_t base : dead) RemoveSegmentFiles(base);
  }
}

Status BackupQueue::WriteRecords(const std::vector<QueuedRecord>& batch, CommitEffects* effects) {
  std::string buf;
  uint64_t count = 0;
  auto flush = [&]() -> Status {
    if (buf.empty()) return Status::Ok();
    ERAGON_RETURN_IF_ERROR(active_->Write(active_offset_, buf));
    active_offset_ += buf.size();
    effects->adds.emplace_back(active_base_, count);
    buf.clear();
    count = 0;
    return Status::Ok();
  };
  for (const QueuedRecord& r : batch) {
    const uint64_t need = kRecordHeaderBytes + r.payload.size();
    const uint64_t used = active_offset_ + buf.size();
    if (!active_ || (used > 0 && used + need > active_capacity_)) {
      ERAGON_RETURN_IF_ERROR(flush());
      if (active_) ERAGON_RETURN_IF_ERROR(SealActive(effects));
      ERAGON_RETURN_IF_ERROR(StartSegment(r.seq, need, effects));
    }
    AppendRecord(&buf, r.payload);
    ++count;
  }
  ERAGON_RETURN_IF_ERROR(flush());
  if (options_.fsync != BackupFsync::kInterval) ERAGON_RETURN_IF_ERROR(active_->Sync());
  return Status::Ok();
}

Status BackupQueue::StartSegment(uint64_t base, uint64_t min_bytes, CommitEffects* effects) {
  const std::string path = PathOf(SegmentFileName(base));
  ERAGON_ASSIGN_OR_RETURN(active_, env_->OpenWritable(path));
  active_base_ = base;
  active_offset_ = 0;
  active_capacity_ = std::max(options_.segment_bytes, min_bytes);
  ERAGON_RETURN_IF_ERROR(active_->Preallocate(active_capacity_));
  ERAGON_RETURN_IF_ERROR(active_->Sync());
  // The new file's directory entry must be durable before anything in it is acknowledged.
  ERAGON_RETURN_IF_ERROR(env_->SyncDir(options_.dir));
  effects->created.push_back(base);
  return Status::Ok();
}

Status BackupQueue::SealActive(CommitEffects* effects) {
  // Sealed segments are synced, so only the last segment can ever have a torn tail.
  ERAGON_RETURN_IF_ERROR(active_->Sync());
  ERAGON_RETURN_IF_ERROR(active_->Close());
  active_.reset();
  effects->sealed.push_back(active_base_);
  return Status::Ok();
}

void BackupQueue::ApplyCommit(const CommitEffects& effects, std::vector<uint64_t>* dead) {
  for (uint64_t base : effects.created) segments_[base];
  for (const auto& [base, n] : effects.adds) {
    segments_[base].records += n;
    segments_[base].live += n;
  }
  for (uint64_t base : effects.sealed) {
    auto it = segments_.find(base);
    if (it == segments_.end()) continue;
    it->second.sealed = true;
    if (it->second.live == 0) {
      dead->push_back(base);
      segments_.erase(it);
    }
  }
}

void BackupQueue::FailLocked(const Status& cause) {
  if (failed_.ok()) {
    failed_ = Status::ReadOnly("event backup in " + options_.dir +
                               " failed and accepts no more events (a failed write or fsync is "
                               "never retried; reopen the queue to recover): " +
                               cause.ToString());
  }
  for (const Staged& s : staging_) core_.Release(s.rec.payload.size());
  staging_.clear();
  turn_.notify_all();
  core_.WakeSpaceWaiters();
}

void BackupQueue::SyncLoop() {
  std::unique_lock lock(mu_);
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(options_.fsync_interval_ms, 1));
  while (!core_.closed()) {
    syncer_wake_.wait_for(lock, interval, [this] { return core_.closed(); });
    while (writer_active_ && !core_.closed()) turn_.wait(lock);
    if (core_.closed()) break;
    if (!unsynced_ || !failed_.ok() || !active_) continue;
    writer_active_ = true;
    unsynced_ = false;
    lock.unlock();
    Status s = active_->Sync();
    lock.lock();
    writer_active_ = false;
    if (!s.ok()) FailLocked(s);
    turn_.notify_all();
  }
}

Status BackupQueue::Take(size_t max_records, std::chrono::milliseconds wait,
                         std::vector<QueuedRecord>* out) {
  std::unique_lock lock(mu_);
  const size_t n = core_.Take(lock, max_records, wait, out);
  // A failed backup that holds nothing more reports its failure instead of an empty take.
  if (n == 0 && !failed_.ok() && core_.records() == 0) return failed_;
  return Status::Ok();
}

Status BackupQueue::Done(std::span<const uint64_t> seqs) {
  std::map<uint64_t, std::vector<uint32_t>> acks;
  std::vector<uint64_t> dead;
  Status result;
  {
    std::lock_guard lock(mu_);
    result = core_.Done(seqs, [&](uint64_t seq) {
      auto it = segments_.upper_bound(seq);
      if (it == segments_.begin()) return;  // cannot happen: taken records are in a segment
      --it;
      acks[it->first].push_back(static_cast<uint32_t>(seq - it->first));
      if (--it->second.live == 0 && it->second.sealed) {
        dead.push_back(it->first);
        segments_.erase(it);
      }
    });
  }
  WriteAcks(acks, dead);
  return result;
}

void BackupQueue::WriteAcks(const std::map<uint64_t, std::vector<uint32_t>>& acks,
                            const std::vector<uint64_t>& dead) {
  std::lock_guard lock(ack_mu_);
  for (uint64_t base : dead) RemoveSegmentFiles(base);
  for (const auto& [base, indexes] : acks) {
    if (removed_.count(base)) continue;  // fully acknowledged: the files are gone already
    AckFile& af = ack_files_[base];
    if (!af.file) {
      const std::string path = PathOf(AckFileName(base));
      auto f = env_->OpenWritable(path);
      if (!f.ok()) continue;  // acks are an optimisation: the record is replayed, deduped
      af.file = std::move(f).value();
      auto size = env_->FileSize(path);
      af.offset = size.ok() ? *size : 0;
    }
    std::string rec;
    AppendAckRecord(&rec, indexes);
    if (af.file->Write(af.offset, rec).ok()) af.offset += rec.size();
  }
}

void BackupQueue::RemoveSegmentFiles(uint64_t base) {
  if (auto it = ack_files_.find(base); it != ack_files_.end()) {
    if (it->second.file) (void)it->second.file->Close();
    ack_files_.erase(it);
  }
  removed_.insert(base);
  // Segment first: an ack file without its segment is an orphan that open removes, while
  // a segment without its ack file would be replayed in full (harmless, but wasteful).
  (void)env_->RemoveFile(PathOf(SegmentFileName(base)));
  (void)env_->RemoveFile(PathOf(AckFileName(base)));
}

QueueStats BackupQueue::Stats() const {
  std::lock_guard lock(mu_);
  return core_.Stats(next_seq_,
                     staging_.empty() ? std::nullopt : std::optional(staging_.front().rec.seq));
}

void BackupQueue::Close() {
  std::lock_guard close_guard(close_mu_);
  if (close_done_) return;
  close_done_ = true;
  {
    std::unique_lock lock(mu_);
    core_.Close();
    for (const Staged& s : staging_) core_.Release(s.rec.payload.size());
    staging_.clear();
    turn_.notify_all();
    syncer_wake_.notify_all();
  }
  if (syncer_.joinable()) syncer_.join();
  std::unique_lock lock(mu_);
  while (writer_active_) turn_.wait(lock);
  if (active_) {
    if (unsynced_ && failed_.ok()) {
      Status s = active_->Sync();
      if (!s.ok()) FailLocked(s);
    }
    (void)active_->Close();
    active_.reset();
  }
  unsynced_ = false;
  lock.unlock();
  std::lock_guard ack_lock(ack_mu_);
  for (auto& [base, af] : ack_files_) {
    if (af.file) (void)af.file->Close();
  }
  ack_files_.clear();
  dir_lock_.reset();  // another queue (this process or the next) may open the directory
}

}  // namespace eragon::sdk
