// TopicLogImpl's append side: validating and queueing appends, a lone blocking Append
// committing on its own thread, and delivering completions in append order (inline for
// small groups, else on the completion thread so the writer can start the next commit).
#include <algorithm>
#include <climits>
#include <cstring>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "log/topic_log.h"

namespace eragon::log {
namespace {

// Sleeps while *word == seen (or returns spuriously). On Linux a bare futex: libstdc++'s
// std::atomic::wait first spins and sched_yield()s, which with dozens of blocked
// appenders on two cores costs more context switches than the sleep itself.
void WaitWhileEquals(std::atomic<uint32_t>& word, uint32_t seen) {
#ifdef __linux__
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, nullptr,
            nullptr, 0);
#else
  word.wait(seen, std::memory_order_acquire);
#endif
}

void WakeAll(std::atomic<uint32_t>& word) {
#ifdef __linux__
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
            nullptr, 0);
#else
  word.notify_all();
#endif
}

// Groups of up to this many blocking appends complete on the committing thread (when no
// earlier group is still being completed); larger ones go to the completion thread, so
// that waking their waiters (some µs each) overlaps the next gather, write and fsync
// instead of delaying them. Groups of AppendAsync calls only always complete inline:
// their callbacks hand the answer on (eragond posts it to an io thread) in well under a
// µs each, less than the completion thread's own wake-up and switch, which measured 1-11 %
// fewer durable publishes/s on two cores.
constexpr size_t kInlineCompletions = 4;

}  // namespace

Status TopicLogImpl::Prepare(std::span<const AppendRecord> records, PendingAppend* a) {
  for (const AppendRecord& r : records) {
    if (r.payload.size() > kMaxPayload) {
      return Status::TooLarge("record payload of " + std::to_string(r.payload.size()) +
                              " bytes exceeds the limit of 16 MiB");
    }
    a->bytes += kRecordHeaderSize + r.payload.size();
  }
  return Status::Ok();
}

Status TopicLogImpl::Refusal(uint64_t bytes) const {
  if (closing_) return Status::Unavailable("topic " + name_ + " is closed");
  if (!health_.ok()) return health_;
  if (pending_bytes_ > 0 && pending_bytes_ + bytes > options_.max_pending_bytes) {
    return Status::ResourceExhausted("topic " + name_ + " has " + std::to_string(pending_bytes_) +
                                     " bytes waiting to be written; try again later");
  }
  return Status::Ok();
}

// Handing a lone append to the writer thread and back costs two thread wake-ups per
// fsync; committing on the caller's thread costs none. Only under kAlways (the other
// policies' timers belong to the writer thread) and only while appends come one at a
// time: a leader takes just its own append, so with concurrent appenders it would split
// groups that the writer thread would have committed together.
bool TopicLogImpl::MayLead() const {
  return options_.fsync.policy == FsyncPolicy::kAlways && lone_ && !committing_ && queue_.empty();
}

void TopicLogImpl::WakeWriterIfWaiting() {
  if (wake_at_ != 0 && (queue_.size() >= wake_at_ || closing_)) q_cv_.notify_one();
}

void TopicLogImpl::Enqueue(PendingAppend a, std::unique_lock<std::mutex>& l) {
  pending_bytes_ += a.bytes;
  queue_.push_back(std::move(a));
  WakeWriterIfWaiting();
  l.unlock();
}

void TopicLogImpl::AppendAsync(std::span<const AppendRecord> records, AppendCallback done) {
  if (records.empty()) return done(Status::Ok(), {});
  PendingAppend a;
  if (Status s = Prepare(records, &a); !s.ok()) return done(s, {});
  // One copy of all keys and payloads, so the caller's views may die on return.
  size_t total = 0;
  for (const AppendRecord& r : records) total += r.key.size() + r.payload.size();
  a.owned_bytes = std::make_unique_for_overwrite<char[]>(total);
  a.owned.reserve(records.size());
  char* p = a.owned_bytes.get();
  for (const AppendRecord& r : records) {
    std::memcpy(p, r.key.data(), r.key.size());
    std::memcpy(p + r.key.size(), r.payload.data(), r.payload.size());
    a.owned.push_back({std::string_view(p, r.key.size()),
                       std::string_view(p + r.key.size(), r.payload.size()), r.timestamp_ms});
    p += r.key.size() + r.payload.size();
  }
  a.positions.reserve(records.size());
  a.done = std::move(done);
  std::unique_lock<std::mutex> l(q_mu_);
  if (Status refused = Refusal(a.bytes); !refused.ok()) {
    l.unlock();
    return a.done(refused, {});
  }
  Enqueue(std::move(a), l);
}

Result<std::vector<RecordPosition>> TopicLogImpl::Append(std::span<const AppendRecord> records) {
  if (records.empty()) return std::vector<RecordPosition>{};
  Waiter w;
  PendingAppend a;
  ERAGON_RETURN_IF_ERROR(Prepare(records, &a));
  a.view = records;  // valid until we return, which is after the commit
  a.waiter = &w;
  w.positions.reserve(records.size());
  std::unique_lock<std::mutex> l(q_mu_);
  ERAGON_RETURN_IF_ERROR(Refusal(a.bytes));
  if (MayLead()) {
    committing_ = true;
    pending_bytes_ += a.bytes;
    l.unlock();
    Group group;
    group.appends.push_back(std::move(a));
    WriteGroup(group);
    l.lock();
    committing_ = false;
    lone_ = queue_.empty();
    WakeWriterIfWaiting();  // it may be waiting for the writer role
    l.unlock();
    if (!group.appends[0].status.ok()) return group.appends[0].status;
    return std::move(w.positions);
  }
  std::atomic<uint32_t>& epoch = done_epoch_[groups_taken_ % kEpochWords];
  Enqueue(std::move(a), l);
  for (;;) {
    const uint32_t e = epoch.load(std::memory_order_acquire);
    if (w.done.load(std::memory_order_acquire) != 0) break;
    WaitWhileEquals(epoch, e);
  }
  if (!w.status.ok()) return w.status;
  return std::move(w.positions);
}

void TopicLogImpl::Deliver(Group group) {
  std::unique_lock<std::mutex> l(done_mu_);
  const bool only_callbacks = std::none_of(group.appends.begin(), group.appends.end(),
                                           [](const PendingAppend& a) { return a.waiter; });
  if (groups_in_flight_ == 0 && (group.appends.size() <= kInlineCompletions || only_callbacks)) {
    l.unlock();
    Complete(group);
    return;
  }
  ++groups_in_flight_;
  done_q_.push_back(std::move(group));
  l.unlock();
  done_cv_.notify_one();
}

void TopicLogImpl::Complete(Group& group) {
  bool waiters = false;
  for (PendingAppend& a : group.appends) {
    if (a.waiter != nullptr) {
      a.waiter->status = a.status;
      // From here on the waiter may return: its memory (and a.view) may die.
      a.waiter->done.store(1, std::memory_order_release);
      waiters = true;
    } else if (a.status.ok()) {
      a.done(a.status, a.positions);
    } else {
      a.done(a.status, {});
    }
  }
  if (waiters) {
    // One wake-up call for all of the group's waiters, on memory the topic owns.
    std::atomic<uint32_t>& epoch = done_epoch_[group.number % kEpochWords];
    epoch.fetch_add(1, std::memory_order_release);
    WakeAll(epoch);
  }
}

void TopicLogImpl::CompletionLoop() {
  std::unique_lock<std::mutex> l(done_mu_);
  for (;;) {
    done_cv_.wait(l, [&] { return !done_q_.empty() || done_stop_; });
    if (done_q_.empty()) return;
    std::deque<Group> batch;
    batch.swap(done_q_);
    l.unlock();
    for (Group& g : batch) Complete(g);
    const size_t n = batch.size();
    batch.clear();  // the appends' memory is freed off the lock
    l.lock();
    groups_in_flight_ -= n;
  }
}

}  // namespace eragon::log
