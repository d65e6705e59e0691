// BackupQueue::Open: lock the directory, scan the segments, cut a torn tail off the last
// one, drop acknowledged records, and queue the rest for Take in their original order.
#include <algorithm>
#include <unordered_set>

#include "sdk/backup_format.h"
#include "sdk/backup_queue.h"

namespace eragon::sdk {

Result<std::unique_ptr<EventQueue>> BackupQueue::Open(FileQueueOptions options) {
  if (options.dir.empty()) return Status::InvalidArgument("file queue: dir is required");
  if (options.segment_bytes < 4096) {
    return Status::InvalidArgument("file queue: segment_bytes must be at least 4096");
  }
  if (options.fsync == BackupFsync::kInterval && options.fsync_interval_ms <= 0) {
    return Status::InvalidArgument("file queue: fsync_interval_ms must be positive");
  }
  std::unique_ptr<BackupQueue> q(new BackupQueue(std::move(options)));
  ERAGON_RETURN_IF_ERROR(q->Recover());
  if (q->options_.fsync == BackupFsync::kInterval) {
    q->syncer_ = std::thread([raw = q.get()] { raw->SyncLoop(); });
  }
  return std::unique_ptr<EventQueue>(std::move(q));
}

Status BackupQueue::Recover() {
  ERAGON_RETURN_IF_ERROR(env_->CreateDirs(options_.dir));
  auto lock = env_->LockFile(PathOf("LOCK"));
  if (!lock.ok()) {
    return Status::Unavailable("event backup " + options_.dir +
                               " is in use: " + lock.status().message());
  }
  dir_lock_ = std::move(lock).value();
  ERAGON_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(options_.dir));
  std::vector<uint64_t> bases;
  std::vector<uint64_t> ack_bases;
  for (const std::string& name : names) {
    if (auto b = ParseBackupFileName(name, ".seg")) bases.push_back(*b);
    if (auto b = ParseBackupFileName(name, ".ack")) ack_bases.push_back(*b);
  }
  std::sort(bases.begin(), bases.end());
  std::vector<QueuedRecord> replay;
  for (size_t i = 0; i < bases.size(); ++i) {
    if (bases[i] < next_seq_) {
      return Status::Corruption("event backup segment " + PathOf(SegmentFileName(bases[i])) +
                                " overlaps the records of the segment before it");
    }
    ERAGON_RETURN_IF_ERROR(RecoverSegment(bases[i], i + 1 == bases.size(), &replay));
  }
  const std::unordered_set<uint64_t> live(bases.begin(), bases.end());
  for (uint64_t b : ack_bases) {
    if (!live.count(b) || !segments_.count(b)) (void)env_->RemoveFile(PathOf(AckFileName(b)));
  }
  for (QueuedRecord& r : replay) core_.Reserve(r.payload.size());
  core_.SetPending(std::move(replay));
  taken_end_ = durable_end_ = next_seq_;
  return Status::Ok();
}

Status BackupQueue::RecoverSegment(uint64_t base, bool last, std::vector<QueuedRecord>* replay) {
  const std::string path = PathOf(SegmentFileName(base));
  ERAGON_ASSIGN_OR_RETURN(std::string data, ReadFileToString(env_, path));
  SegmentScan scan = ScanSegment(data);
  if (scan.valid_after_bad) {
    return Status::Corruption("event backup segment " + path + ": bad record at byte " +
                              std::to_string(scan.end) + " followed by a valid record at byte " +
                              std::to_string(*scan.valid_after_bad));
  }
  if (scan.tail_nonzero && !last) {
    return Status::Corruption("event backup segment " + path + ": bad record at byte " +
                              std::to_string(scan.end) + " in a sealed segment");
  }
  if (last && data.size() > scan.end) {
    // A torn tail (or the preallocated zeros): cut it so the file ends with its last
    // complete record; new records go to a new segment.
    ERAGON_ASSIGN_OR_RETURN(auto f, env_->OpenWritable(path));
    ERAGON_RETURN_IF_ERROR(f->Truncate(scan.end));
    ERAGON_RETURN_IF_ERROR(f->Sync());
    ERAGON_RETURN_IF_ERROR(f->Close());
  }
  std::vector<bool> acked(scan.records.size(), false);
  const std::string ack_path = PathOf(AckFileName(base));
  if (env_->Exists(ack_path)) {
    ERAGON_ASSIGN_OR_RETURN(std::string acks, ReadFileToString(env_, ack_path));
    AckScan ack_scan = ScanAcks(acks);
    for (uint32_t i : ack_scan.indexes) {
      if (i < acked.size()) acked[i] = true;
    }
    if (ack_scan.valid_bytes < acks.size()) {  // a torn tail: later acks append after it
      ERAGON_ASSIGN_OR_RETURN(auto f, env_->OpenWritable(ack_path));
      ERAGON_RETURN_IF_ERROR(f->Truncate(ack_scan.valid_bytes));
      ERAGON_RETURN_IF_ERROR(f->Close());
    }
  }
  Segment seg;
  seg.records = scan.records.size();
  seg.sealed = true;
  for (size_t i = 0; i < scan.records.size(); ++i) {
    if (acked[i]) continue;
    ++seg.live;
    replay->push_back(
        QueuedRecord{base + i, data.substr(scan.records[i].offset, scan.records[i].size), nullptr});
  }
  next_seq_ = base + scan.records.size();
  if (seg.live == 0) {
    std::lock_guard lock(ack_mu_);
    RemoveSegmentFiles(base);
    removed_.erase(base);  // a new segment may reuse the name
  } else {
    segments_[base] = seg;
  }
  return Status::Ok();
}

}  // namespace eragon::sdk

namespace eragon {

Result<std::unique_ptr<EventQueue>> OpenFileQueue(FileQueueOptions options) {
  return sdk::BackupQueue::Open(std::move(options));
}

}  // namespace eragon
