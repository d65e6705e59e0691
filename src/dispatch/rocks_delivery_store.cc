#include "dispatch/rocks_delivery_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <tuple>
#include <vector>

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "core/byte_order.h"
#include "core/event_codec.h"
#include "core/rocksdb_logger.h"
#include "eragon/env.h"

namespace eragon::dispatch {
namespace {

// Keys: <kind> '/' <consumer> '\0' <topic or type> '\0' <suffix>. The NUL separators keep
// one consumer's keys apart from another's whose name it prefixes.
void AppendPrefix(char kind, std::string_view consumer, std::string_view second, std::string* k) {
  k->push_back(kind);
  k->push_back('/');
  k->append(consumer);
  k->push_back('\0');
  k->append(second);
  k->push_back('\0');
}

std::string Prefix(char kind, std::string_view consumer, std::string_view second) {
  std::string k;
  k.reserve(4 + consumer.size() + second.size() + 12);
  AppendPrefix(kind, consumer, second, &k);
  return k;
}

void AppendStateKey(std::string_view consumer, std::string_view topic, uint32_t partition,
                    uint64_t offset, std::string* k) {
  AppendPrefix('s', consumer, topic, k);
  PutBe(k, partition, 4);
  PutBe(k, offset, 8);
}

// The attempt histories of a block of kAttemptBlock offsets (attempt_record.h): kind 'h',
// then the partition and the block number (offset / kAttemptBlock).
void AppendAttemptKey(std::string_view consumer, std::string_view topic, uint32_t partition,
                      uint64_t block, std::string* k) {
  AppendPrefix('h', consumer, topic, k);
  PutBe(k, partition, 4);
  PutBe(k, block, 8);
}

std::string AttemptKey(std::string_view consumer, std::string_view topic, uint32_t partition,
                       uint64_t block) {
  std::string k;
  AppendAttemptKey(consumer, topic, partition, block, &k);
  return k;
}

// The batch's attempts as one merge operand per block: sorted by (consumer, topic,
// partition, block), stably, so each event's attempts keep their order.
void MergeAttemptBlocks(std::vector<DeliveryOp>* ops, rocksdb::WriteBatch* wb) {
  auto block_key = [](const DeliveryOp& o) {
    return std::make_tuple(o.consumer, o.scope, o.partition, o.offset / kAttemptBlock);
  };
  std::stable_sort(ops->begin(), ops->end(), [&](const DeliveryOp& a, const DeliveryOp& b) {
    return block_key(a) < block_key(b);
  });
  std::string key;
  std::string value;
  for (size_t i = 0; i < ops->size();) {
    const DeliveryOp& first = (*ops)[i];
    value.clear();
    for (; i < ops->size() && block_key((*ops)[i]) == block_key(first); ++i) {
      AppendAttemptEntry((*ops)[i].offset, (*ops)[i].state, &value);
    }
    key.clear();
    AppendAttemptKey(first.consumer, first.scope, first.partition, first.offset / kAttemptBlock,
                     &key);
    wb->Merge(key, value);
  }
}

std::string StateKey(std::string_view consumer, std::string_view topic, uint32_t partition,
                     uint64_t offset) {
  std::string k;
  AppendStateKey(consumer, topic, partition, offset, &k);
  return k;
}

// Dead letters sort by the time they died within (consumer, event type).
void AppendDeadKey(std::string_view consumer, const DeadLetter& dead, std::string* k) {
  AppendPrefix('d', consumer, dead.event.event_type, k);
  PutBe(k, static_cast<uint64_t>(dead.dead_at), 8);
  k->append(dead.event.id);
}

// A dedup claim's value: claimed_at (8 bytes LE) then expires_at (8 bytes LE, INT64_MAX:
// never).
std::string EncodeClaim(int64_t claimed_at, int64_t expires_at) {
  std::string v;
  PutLe(&v, static_cast<uint64_t>(claimed_at), 8);
  PutLe(&v, static_cast<uint64_t>(expires_at), 8);
  return v;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return Status::IOError("delivery store " + std::string(what) + ": " + s.ToString());
}

// A write's status: ENOSPC is StorageFull (507), everything else IOError (503).
Status FromRocksWrite(const rocksdb::Status& s, std::string_view what) {
  if (!s.IsNoSpace()) return FromRocks(s, what);
  return Status::StorageFull("delivery store " + std::string(what) + ": " + s.ToString());
}

std::string PrefixEnd(std::string prefix) {
  prefix.back() = '\x01';  // the prefix ends in '\0': this is the next key after all of it
  return prefix;
}

}  // namespace

namespace {
// Drops dedup keys whose expiry passed when compaction rewrites their file. Runs on
// RocksDB's compaction threads.
class ExpiredDedupFilter : public rocksdb::CompactionFilter {
 public:
  explicit ExpiredDedupFilter(Clock* clock) : clock_(clock) {}
  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    if (!key.starts_with("k/") || value.size() < 16) return false;
    return static_cast<int64_t>(GetLe(value.data() + 8, 8)) <= clock_->WallMs();
  }
  const char* Name() const override { return "eragon.ExpiredDedupFilter"; }

 private:
  Clock* clock_;
};
}  // namespace

namespace {
// Attempt blocks are written as merge operands (no read before the write); merging
// concatenates them after the stored block, applies its cuts and keeps the last
// kAttemptsKept records of each offset (TrimAttemptBlock). Only attempt keys ('h/') are
// ever merged.
class AttemptsMerge : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::string run;
    if (in.existing_value != nullptr) run.assign(in.existing_value->ToStringView());
    for (const rocksdb::Slice& op : in.operand_list) run.append(op.ToStringView());
    TrimAttemptBlock(run, /*keep_cuts=*/false, &out->new_value);
    return true;
  }
  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    std::string run;
    for (const rocksdb::Slice& op : operands) run.append(op.ToStringView());
    TrimAttemptBlock(run, /*keep_cuts=*/true, new_value);
    return true;
  }
  const char* Name() const override { return "eragon.AttemptBlocksMerge"; }
};
}  // namespace

struct RocksDeliveryStore::Impl {
  Impl(Clock* clock, std::string dir) : filter(clock), dir(std::move(dir)) {}
  ~Impl() { delete db; }  // before the filter it uses
  ExpiredDedupFilter filter;
  rocksdb::DB* db = nullptr;

  // Group sync (see Sync): a ticket is taken once the caller's writes are in the WAL; a
  // sync covers every ticket taken before it started.
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  uint64_t tickets = 0;             // taken so far
  uint64_t synced = 0;              // every ticket up to this one is durable
  bool syncing = false;             // an fsync is running (outside sync_mu)
  Status sync_failure;              // sticky: the first failed fsync or write, never retried
  std::atomic<bool> failed{false};  // sync_failure is set (read without sync_mu)

  // Fail-stop (issue 16): after a write or fsync failed for any reason but a full disk,
  // every later write and sync fails with that error until a restart, without reaching
  // RocksDB: its WAL writer is in error then, and Debian's RocksDB asserts (the process
  // aborts) when a later write or sync touches it (found by delivery_store_fault_test).
  Status Failure() {
    std::lock_guard lock(sync_mu);
    return sync_failure;
  }
  void Fail(const Status& st) {
    std::lock_guard lock(sync_mu);
    if (sync_failure.ok()) sync_failure = st;
    failed.store(true);
  }

  // A write RocksDB refused for want of space: ENOSPC in a WAL append or a flush stops
  // its writes (its background error) until DB::Resume(), which writes the memtables
  // out to new files and starts a new WAL, so nothing relies on the file that failed
  // (not even on pages a failed fsync may have dropped: the data comes from memory).
  // The next write asks for it first; while the disk stays full that fails at once, and
  // is answered 507. Any other failure is not resumed (fail-stop until a restart).
  std::atomic<bool> refused{false};
  Status Apply(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch* wb, std::string_view what) {
    if (failed.load()) return Failure();
    if (SpaceLow()) {
      return Status::StorageFull("delivery store " + std::string(what) + ": less than " +
                                 std::to_string(kReserveBytes >> 20) + " MiB free in " + dir);
    }
    rocksdb::Status s = refused.load() ? db->Resume() : rocksdb::Status::OK();
    if (s.ok()) s = db->Write(wo, wb);
    if (s.IsNoSpace() && !refused.load()) {
      fprintf(stderr, "eragond: delivery store: %s (resumed once space is freed)\n",
              s.ToString().c_str());
    }
    refused.store(s.IsNoSpace());  // other failures stay: fail-stop until a restart
    Status st = FromRocksWrite(s, what);
    if (!st.ok() && !s.IsNoSpace()) Fail(st);
    return st;
  }
  // Writes are refused (StorageFull) while the disk has less than kReserveBytes free,
  // before RocksDB meets ENOSPC: a WAL append that fails leaves the WAL's file in error
  // until RocksDB drops that file (Resume() below is the fallback). Checked at most every
  // kSpaceCheckMs of the steady clock (not the store's: tests stand theirs still), so a
  // write costs a clock read.
  static constexpr uint64_t kReserveBytes = 4 << 20;
  static constexpr int64_t kSpaceCheckMs = 100;
  const std::string dir;
  std::atomic<int64_t> space_checked_ms{-kSpaceCheckMs};
  std::atomic<bool> space_low{false};
  bool SpaceLow() {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = space_checked_ms.load(std::memory_order_relaxed);
    if (now - last >= kSpaceCheckMs && space_checked_ms.compare_exchange_strong(last, now)) {
      Result<DiskSpace> space = Env::Default()->GetDiskSpace(dir);
      space_low.store(space.ok() && space->free_bytes < kReserveBytes);
    }
    return space_low.load(std::memory_order_relaxed);
  }

  // After a refused write the WAL's file is in error and must not be synced (Debian's
  // RocksDB asserts: the process aborts). Resume() is then the sync: the memtables are
  // written out to new, synced files. While the disk stays full: StorageFull.
  Status ResumeIfRefused(std::string_view what) {
    if (!refused.load()) return Status::Ok();
    rocksdb::Status s = db->Resume();
    if (s.ok()) refused.store(false);
    return FromRocksWrite(s, what);
  }
};

Result<std::unique_ptr<RocksDeliveryStore>> RocksDeliveryStore::Open(const std::string& dir,
                                                                     Clock* clock,
                                                                     rocksdb::Env* env) {
  auto impl = std::make_unique<Impl>(clock != nullptr ? clock : Clock::System(), dir);
  rocksdb::Options options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = true;
  options.info_log = std::make_shared<StderrRocksLogger>("delivery store");  // no LOG file
  options.write_buffer_size = 32 << 20;
  options.compaction_filter = &impl->filter;
  options.merge_operator = std::make_shared<AttemptsMerge>();
  // No max_successive_merges: it makes every Merge look the key up in the memtable first
  // (CountSuccessiveMergeEntries), which cost a third of the push rate. A block's
  // operands are one per worker flush of attempts (every commit interval, ~100 ms, or a
  // pull ack) that touched it, and are folded (last 50 per offset) on flush, compaction
  // and read.
  options.periodic_compaction_seconds = 24 * 3600;  // expired keys go without new writes
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &impl->db);
  if (!s.ok()) return Status::IOError("open delivery store " + dir + ": " + s.ToString());
  return std::unique_ptr<RocksDeliveryStore>(new RocksDeliveryStore(std::move(impl)));
}

Result<std::unique_ptr<DeliveryStore>> DeliveryStore::Open(const std::string& dir, Clock* clock) {
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<RocksDeliveryStore> store,
                          RocksDeliveryStore::Open(dir, clock));
  return std::unique_ptr<DeliveryStore>(std::move(store));
}

RocksDeliveryStore::RocksDeliveryStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDeliveryStore::~RocksDeliveryStore() = default;

Status RocksDeliveryStore::Write(const DeliveryBatch& batch, bool sync) {
  rocksdb::WriteBatch wb(batch.bytes() + 64);  // its keys are about as long as our encoding
  std::string key;  // reused: WriteBatch copies keys and values into its own buffer
  std::vector<DeliveryOp> attempts;
  batch.ForEach([&](const DeliveryOp& op) {
    key.clear();
    switch (op.kind) {
      case DeliveryOp::Kind::kPutState:
        AppendStateKey(op.consumer, op.scope, op.partition, op.offset, &key);
        wb.Put(key, rocksdb::Slice(op.state.data(), op.state.size()));
        break;
      case DeliveryOp::Kind::kPutDead:
        AppendDeadKey(op.consumer, *op.dead, &key);
        wb.Put(key, EncodeDeadLetter(*op.dead));
        break;
      case DeliveryOp::Kind::kRemoveDead:
        wb.Delete(rocksdb::Slice(op.key.data(), op.key.size()));
        break;
      case DeliveryOp::Kind::kClaimDedup:
        AppendPrefix('k', op.consumer, op.scope, &key);
        key.append(op.key);
        wb.Put(key, EncodeClaim(op.claimed_at, op.expires_at));
        break;
      case DeliveryOp::Kind::kMarkRedrive:
        AppendPrefix('r', op.consumer, op.scope, &key);
        key.append(op.key);
        wb.Put(key, "");
        break;
      case DeliveryOp::Kind::kUnmarkRedrive:
        AppendPrefix('r', op.consumer, op.scope, &key);
        key.append(op.key);
        wb.Delete(key);
        break;
      case DeliveryOp::Kind::kAddAttempt:  // other keys: no order with the rest matters
        attempts.push_back(op);
        break;
    }
  });
  MergeAttemptBlocks(&attempts, &wb);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return impl_->Apply(wo, &wb, "write");
}

// One fsync for every caller that arrives while another runs: a caller whose ticket a
// running sync does not cover waits for it to end, then one of the waiters syncs for all
// of them. A failed fsync is never retried: it fails every caller it covered and every
// later one (what the failed fsync dropped from the page cache could not be told apart
// from what a retry would find durable).
Status RocksDeliveryStore::Sync() {
  Impl& im = *impl_;
  std::unique_lock lock(im.sync_mu);
  const uint64_t ticket = ++im.tickets;
  for (;;) {
    if (!im.sync_failure.ok()) return im.sync_failure;
    if (im.synced >= ticket) return Status::Ok();
    if (!im.syncing) break;
    im.sync_cv.wait(lock);
  }
  im.syncing = true;
  const uint64_t covers = im.tickets;
  lock.unlock();
  Status st = im.ResumeIfRefused("sync");
  if (st.ok()) st = FromRocks(im.db->SyncWAL(), "sync");
  lock.lock();
  im.syncing = false;
  if (st.ok()) {
    im.synced = covers;
  } else if (st.code() != Code::kStorageFull) {  // a full disk is not a failed fsync
    im.sync_failure = st;
    im.failed.store(true);
  }
  im.sync_cv.notify_all();
  return st;
}

std::optional<DeliveryState> RocksDeliveryStore::GetState(const std::string& consumer,
                                                          const std::string& topic,
                                                          uint32_t partition, uint64_t offset) {
  std::string v;
  if (!impl_->db->Get({}, StateKey(consumer, topic, partition, offset), &v).ok()) {
    return std::nullopt;
  }
  return DecodeDeliveryState(v);
}

// A forward scan from `from`, bounded above: states at or above a worker's committed
// position are few (at most a window's worth). (SeekForPrev was tried first: in a store
// holding other consumers' many states it took hundreds of milliseconds.)
uint64_t RocksDeliveryStore::StateEnd(const std::string& consumer, const std::string& topic,
                                      uint32_t partition, uint64_t from) {
  const std::string upper = StateKey(consumer, topic, partition, UINT64_MAX);
  rocksdb::Slice bound(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &bound;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
  uint64_t end = 0;
  for (it->Seek(StateKey(consumer, topic, partition, from)); it->Valid(); it->Next()) {
    const std::string_view k = it->key().ToStringView();
    if (k.size() != upper.size()) continue;
    uint64_t offset = 0;
    for (char c : k.substr(k.size() - 8)) offset = offset << 8 | uint8_t(c);
    end = offset + 1;
  }
  return end;
}

bool RocksDeliveryStore::DedupClaimed(const std::string& consumer, const std::string& event_type,
                                      const std::string& key, int64_t now_ms) {
  std::string v;
  if (!impl_->db->Get({}, Prefix('k', consumer, event_type) + key, &v).ok() || v.size() < 8) {
    return false;
  }
  if (v.size() < 16) return true;  // written before expiries were stored: kept for ever
  return now_ms < static_cast<int64_t>(GetLe(v.data() + 8, 8));
}

uint64_t RocksDeliveryStore::CountDedupKeys(const std::string& consumer,
                                            const std::string& event_type) {
  const std::string prefix = Prefix('k', consumer, event_type);
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
  return n;
}

Status RocksDeliveryStore::CompactAll() {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  ERAGON_RETURN_IF_ERROR(FromRocks(impl_->db->Flush({}), "flush"));
  return FromRocks(impl_->db->CompactRange(o, nullptr, nullptr), "compact");
}

std::vector<DeadLetter> RocksDeliveryStore::ListDead(const std::string& consumer,
                                                     const std::string& event_type,
                                                     const std::string& after_key, size_t limit) {
  std::vector<DeadLetter> out;
  const std::string prefix = Prefix('d', consumer, event_type);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}));
  if (after_key.empty()) {
    it->Seek(prefix);
  } else {
    it->Seek(after_key);
    if (it->Valid() && it->key() == after_key) it->Next();
  }
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
    std::optional<DeadLetter> d = DecodeDeadLetter(it->value().ToStringView());
    if (!d) continue;
    d->key = it->key().ToString();
    out.push_back(std::move(*d));
  }
  return out;
}

uint64_t RocksDeliveryStore::CountDead(const std::string& consumer) {
  std::string prefix = "d/" + consumer;
  prefix.push_back('\0');
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
  return n;
}

std::vector<DeadLetter> RocksDeliveryStore::ListRedrives(const std::string& consumer,
                                                         const std::string& topic, size_t limit,
                                                         const std::vector<uint32_t>*) {
  std::vector<DeadLetter> out;
  const std::string prefix = Prefix('r', consumer, topic);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator({}));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Next()) {
    std::string dead_key(it->key().ToStringView().substr(prefix.size()));
    std::string v;
    if (!impl_->db->Get({}, dead_key, &v).ok()) continue;  // removed with its route
    std::optional<DeadLetter> d = DecodeDeadLetter(v);
    if (!d) continue;
    d->key = std::move(dead_key);
    out.push_back(std::move(*d));
  }
  return out;
}

std::vector<AttemptRecord> RocksDeliveryStore::Attempts(const std::string& consumer,
                                                        const std::string& topic,
                                                        uint32_t partition, uint64_t offset) {
  std::string v;
  const std::string key = AttemptKey(consumer, topic, partition, offset / kAttemptBlock);
  if (!impl_->db->Get({}, key, &v).ok()) return {};
  return AttemptsInBlock(v, offset);
}

// Whole blocks below `to`'s go with a range delete; the block holding `to` gets a cut.
Status RocksDeliveryStore::RemoveAttempts(const std::string& consumer, const std::string& topic,
                                          uint32_t partition, uint64_t from, uint64_t to) {
  if (from >= to) return Status::Ok();
  if (impl_->failed.load()) return impl_->Failure();
  rocksdb::WriteBatch wb;
  const uint64_t first = from / kAttemptBlock;
  const uint64_t last = to / kAttemptBlock;
  if (first < last) {
    wb.DeleteRange(AttemptKey(consumer, topic, partition, first),
                   AttemptKey(consumer, topic, partition, last));
  }
  if (to % kAttemptBlock != 0) {
    std::string cut;
    AppendAttemptCut(to, &cut);
    wb.Merge(AttemptKey(consumer, topic, partition, last), cut);
  }
  // Not refused on a nearly full disk (Apply): retention is what frees space.
  return FromRocks(impl_->db->Write({}, &wb), "remove attempts");
}

Status RocksDeliveryStore::RemoveStates(const std::string& consumer, const std::string& topic,
                                        uint32_t partition, uint64_t from, uint64_t to) {
  if (from >= to) return Status::Ok();
  rocksdb::WriteBatch wb;
  wb.DeleteRange(StateKey(consumer, topic, partition, from),
                 StateKey(consumer, topic, partition, to));
  return impl_->Apply({}, &wb, "remove states");
}

Status RocksDeliveryStore::RemoveConsumerType(const std::string& consumer,
                                              const std::string& event_type) {
  rocksdb::WriteBatch wb;
  for (char kind : {'d', 'k'}) {
    std::string p = Prefix(kind, consumer, event_type);
    wb.DeleteRange(p, PrefixEnd(p));
  }
  return impl_->Apply({}, &wb, "remove consumer type");
}

Status RocksDeliveryStore::RemoveConsumerTopic(const std::string& consumer,
                                               const std::string& topic) {
  rocksdb::WriteBatch wb;
  for (char kind : {'s', 'r', 'h'}) {
    std::string p = Prefix(kind, consumer, topic);
    wb.DeleteRange(p, PrefixEnd(p));
  }
  return impl_->Apply({}, &wb, "remove consumer topic");
}

Status RocksDeliveryStore::Close() {
  if (impl_->db == nullptr) return Status::Ok();
  // After a failure the WAL must not be touched again (see Impl::Fail).
  Status st = impl_->failed.load() ? impl_->Failure() : impl_->ResumeIfRefused("close");
  if (st.ok()) st = FromRocks(impl_->db->FlushWAL(true), "flush");
  delete impl_->db;
  impl_->db = nullptr;
  return st;
}

}  // namespace eragon::dispatch
