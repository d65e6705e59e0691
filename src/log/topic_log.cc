// TopicLogImpl: opening, reads, waiting, subscriptions and retention. The writer side
// (appends, group commit, segment rolls) is in topic_writer.cc.
#include "log/topic_log.h"

#include <algorithm>

#include "core/murmur2.h"
#include "core/thread_name.h"
#include "log/segment_recovery.h"

namespace eragon::log {

TopicLogImpl::TopicLogImpl(std::string name, std::string dir, uint32_t partitions,
                           const LogOptions& o)
    : name_(std::move(name)),
      dir_(std::move(dir)),
      partitions_(partitions),
      options_(o),
      start_offset_(new std::atomic<uint64_t>[partitions]),
      durable_end_(new std::atomic<uint64_t>[partitions]) {
  for (uint32_t p = 0; p < partitions; ++p) {
    start_offset_[p].store(0);
    durable_end_[p].store(0);
  }
}

Result<std::unique_ptr<TopicLogImpl>> TopicLogImpl::Open(std::string name, std::string dir,
                                                         uint32_t partitions,
                                                         const LogOptions& options) {
  std::unique_ptr<TopicLogImpl> t(
      new TopicLogImpl(std::move(name), std::move(dir), partitions, options));
  ERAGON_RETURN_IF_ERROR(t->Recover());
  t->last_sync_mono_ns_ = options.clock->MonoNs();
  t->writer_ = std::thread([p = t.get()] {
    SetThreadName("log-writer");
    p->WriterLoop();
  });
  t->completer_ = std::thread([p = t.get()] {
    SetThreadName("log-done");
    p->CompletionLoop();
  });
  return t;
}

TopicLogImpl::~TopicLogImpl() { (void)Close(); }

Status TopicLogImpl::Recover() {
  Env* env = options_.env;
  ERAGON_ASSIGN_OR_RETURN(auto names, env->ListDir(dir_));
  std::vector<std::string> seg_names;
  for (const auto& n : names) {
    if (auto seq = ParseSegmentFileName(n)) {
      seg_names.push_back(n);
      last_seq_ = std::max(last_seq_, *seq);
    }
  }
  std::vector<uint64_t> next;
  for (size_t i = 0; i < seg_names.size(); ++i) {
    const bool is_last = i + 1 == seg_names.size();
    ERAGON_ASSIGN_OR_RETURN(
        auto seg, RecoverSegment(env, dir_ + "/" + seg_names[i], partitions_, is_last, &next));
    if (seg) segments_.push_back(std::move(seg));
  }
  next.resize(partitions_, 0);
  next_offset_ = next;
  for (uint32_t p = 0; p < partitions_; ++p) durable_end_[p].store(next[p]);
  UpdateStartOffsets();
  if (segments_.empty()) return Status::Ok();
  // Appends continue in the last segment; its index file (if any) is stale from now on.
  active_seg_ = segments_.back();
  (void)env->RemoveFile(IndexPathFor(active_seg_->path()));
  ERAGON_ASSIGN_OR_RETURN(active_file_, env->OpenWritable(active_seg_->path()));
  active_capacity_ = std::max(active_seg_->file_bytes(), options_.segment_bytes);
  ERAGON_RETURN_IF_ERROR(active_file_->Preallocate(active_capacity_));
  active_seg_->set_file_bytes(active_capacity_);
  return Status::Ok();
}

uint32_t TopicLogImpl::PartitionFor(std::string_view key) const {
  return Murmur2Partition(key, partitions_);
}

std::vector<std::shared_ptr<Segment>> TopicLogImpl::SnapshotSegments() const {
  std::lock_guard<std::mutex> l(seg_mu_);
  return segments_;
}

void TopicLogImpl::UpdateStartOffsets() {
  if (segments_.empty()) return;
  for (uint32_t p = 0; p < partitions_; ++p) start_offset_[p].store(segments_.front()->base(p));
}

Result<std::vector<LogRecord>> TopicLogImpl::Read(uint32_t partition, uint64_t offset,
                                                  size_t max_records, size_t max_bytes) {
  if (partition >= partitions_) {
    return Status::InvalidArgument("partition " + std::to_string(partition) + " of topic " + name_ +
                                   " does not exist");
  }
  std::vector<LogRecord> out;
  const uint64_t end = DurableEnd(partition);
  uint64_t from = std::max(offset, StartOffset(partition));
  size_t budget = max_bytes;
  for (const auto& seg : SnapshotSegments()) {
    if (from >= end || out.size() >= max_records) break;
    PartitionIndex info = seg->Info(partition);
    if (!info.any || info.next <= from) continue;
    ERAGON_RETURN_IF_ERROR(
        seg->Read(partition, from, end, max_records - out.size(), &budget, &out));
    if (!out.empty()) from = out.back().offset + 1;
    if (!out.empty() && budget == 0) break;
  }
  return out;
}

uint64_t TopicLogImpl::StartOffset(uint32_t partition) const {
  return partition < partitions_ ? start_offset_[partition].load() : 0;
}

uint64_t TopicLogImpl::DurableEnd(uint32_t partition) const {
  return partition < partitions_ ? durable_end_[partition].load(std::memory_order_acquire) : 0;
}

Result<uint64_t> TopicLogImpl::OffsetForTime(uint32_t partition, int64_t ts_ms) {
  if (partition >= partitions_) return Status::InvalidArgument("no such partition");
  const uint64_t end = DurableEnd(partition);
  for (const auto& seg : SnapshotSegments()) {
    PartitionIndex info = seg->Info(partition);
    if (!info.any || info.max_ts < ts_ms) continue;
    ERAGON_ASSIGN_OR_RETURN(auto found, seg->FindTime(partition, ts_ms));
    if (found) return std::min(*found, end);
  }
  return end;
}

bool TopicLogImpl::WaitForData(uint32_t partition, uint64_t offset, int64_t deadline_mono_ns) {
  if (partition >= partitions_) return false;
  std::unique_lock<std::mutex> l(wait_mu_);
  while (DurableEnd(partition) <= offset && !closed_.load()) {
    const int64_t left = deadline_mono_ns - options_.clock->MonoNs();
    if (left <= 0) break;
    // Bounded slices so that a ManualClock's deadline is noticed too.
    wait_cv_.wait_for(l, std::chrono::nanoseconds(std::min<int64_t>(left, 50'000'000)));
  }
  return DurableEnd(partition) > offset;
}

uint64_t TopicLogImpl::Subscribe(std::function<void()> on_advance) {
  std::lock_guard<std::mutex> l(sub_mu_);
  uint64_t id = next_sub_id_++;
  subs_[id] = std::make_shared<std::function<void()>>(std::move(on_advance));
  return id;
}

void TopicLogImpl::Unsubscribe(uint64_t id) {
  std::unique_lock<std::mutex> l(sub_mu_);
  subs_.erase(id);
  // After return the function is never called again: wait out a running round, unless
  // we are that round (a subscriber unsubscribing itself).
  if (!notifying_ || notifier_ != std::this_thread::get_id()) {
    sub_cv_.wait(l, [&] { return !notifying_; });
  }
}

uint64_t TopicLogImpl::SizeBytes() const {
  std::lock_guard<std::mutex> l(seg_mu_);
  uint64_t total = 0;
  for (const auto& seg : segments_) total += seg->file_bytes();
  return total;
}

Status TopicLogImpl::health() const {
  std::lock_guard<std::mutex> l(q_mu_);
  return health_;
}

void TopicLogImpl::ApplyRetention(int64_t now_ms,
                                  const std::vector<std::optional<uint64_t>>& committed,
                                  RetentionReport* report) {
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard<std::mutex> l(seg_mu_);
    uint64_t total = 0;
    for (const auto& seg : segments_) total += seg->file_bytes();
    // Never the last (active) segment; only a prefix of the oldest ones.
    while (segments_.size() > 1) {
      const auto& seg = segments_.front();
      const bool by_size = options_.retention_bytes > 0 && total > options_.retention_bytes;
      const bool by_age =
          options_.retention_ms > 0 && seg->max_ts() < now_ms - options_.retention_ms;
      if (!by_size && !by_age) break;
      std::string unconsumed;
      for (uint32_t p = 0; p < partitions_; ++p) {
        PartitionIndex info = seg->Info(p);
        if (info.any && committed[p] && info.next > *committed[p]) {
          // Appended piece by piece: `"literal" + std::string&&` trips GCC 12's
          // -Wrestrict false positive (GCC bug 105329).
          unconsumed += ' ';
          unconsumed += std::to_string(p);
          unconsumed += ':';
          unconsumed += std::to_string(*committed[p]);
          unconsumed += '<';
          unconsumed += std::to_string(info.next);
        }
      }
      if (!unconsumed.empty()) {
        if (!by_size) break;
        report->warnings.push_back("topic " + name_ + ": size limit forced deleting segment " +
                                   seg->path() +
                                   " before committed consumers read it (partition:committed<"
                                   "end" +
                                   unconsumed + ")");
      }
      total -= seg->file_bytes();
      doomed.push_back(seg);
      segments_.erase(segments_.begin());
    }
    UpdateStartOffsets();
  }
  for (const auto& seg : doomed) {
    (void)options_.env->RemoveFile(IndexPathFor(seg->path()));
    Status s = options_.env->RemoveFile(seg->path());
    if (!s.ok()) report->warnings.push_back("retention: " + s.ToString());
    report->segments_deleted++;
    report->bytes_deleted += seg->file_bytes();
  }
  if (!doomed.empty()) (void)options_.env->SyncDir(dir_);
}

}  // namespace eragon::log
