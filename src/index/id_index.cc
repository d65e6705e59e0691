#include "index/id_index.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "core/byte_order.h"
#include "core/event_codec.h"
#include "core/hash.h"
#include "core/rocksdb_logger.h"
#include "core/thread_name.h"

namespace eragon::index {
namespace {

constexpr size_t kStripes = 64;
// The id writer's batches: written when this many entries wait, or this long after the
// first one arrived.
constexpr size_t kWakeBatch = 1024;
constexpr std::chrono::milliseconds kBatchDelay{2};
// After RocksDB refused a batch (its disk full, or stopped by a failed flush), the writer
// waits this long before it asks RocksDB to resume and tries the batch again.
constexpr std::chrono::seconds kRetryDelay{1};
constexpr uint8_t kValueVersion = 1;

// Ids are scoped per producer: the key is "k/<id>/<producer>" (neither holds a '/'), so
// the producers holding an id are one prefix scan. Version 1 keyed "i/<id>" alone;
// Open() migrates such keys (MigrateV1).
constexpr std::string_view kIdPrefix = "k/";
constexpr std::string_view kV1IdPrefix = "i/";
std::string IdPrefix(std::string_view id) {
  std::string k(kIdPrefix);
  k.append(id).push_back('/');
  return k;
}
void AppendIdKey(std::string_view id, std::string_view producer, std::string* k) {
  k->assign(kIdPrefix).append(id).append(1, '/').append(producer);
}
std::string IdKey(std::string_view id, std::string_view producer) {
  std::string k;
  AppendIdKey(id, producer, &k);
  return k;
}
// The in-memory key of a claim: id, NUL, producer.
void AssignRecentKey(std::string_view id, std::string_view producer, std::string* k) {
  k->assign(id).push_back('\0');
  k->append(producer);
}
std::string RecentKey(std::string_view id, std::string_view producer) {
  std::string k;
  AssignRecentKey(id, producer, &k);
  return k;
}
// For lookups on the publish path: the thread's buffer, so no allocation per event.
const std::string& ScratchRecentKey(std::string_view id, std::string_view producer) {
  thread_local std::string k;
  AssignRecentKey(id, producer, &k);
  return k;
}
std::string TypeKey(std::string_view type) { return "t/" + std::string(type); }
std::string CheckpointKey(std::string_view topic, uint32_t partition) {
  return "c/" + std::string(topic) + "/" + std::to_string(partition);
}

// An index entry: where the event is, and what it was (for duplicate checks).
struct Entry {
  Location loc;
  Fingerprint fp{};
  std::string producer;
};

void EncodeEntry(const Entry& e, std::string* out) {
  std::string& v = *out;
  v.clear();
  v.reserve(32 + e.loc.topic.size() + e.producer.size());
  v.push_back(static_cast<char>(kValueVersion));
  PutLe(&v, e.loc.partition, 4);
  PutLe(&v, e.loc.offset, 8);
  v.append(reinterpret_cast<const char*>(e.fp.data()), e.fp.size());
  PutLe(&v, e.loc.topic.size(), 2);
  v.append(e.loc.topic);
  v.append(e.producer);
}

std::optional<Entry> DecodeEntry(std::string_view v) {
  constexpr size_t kFixed = 1 + 4 + 8 + 16 + 2;
  if (v.size() < kFixed || uint8_t(v[0]) != kValueVersion) return std::nullopt;
  Entry e;
  e.loc.partition = static_cast<uint32_t>(GetLe(v.data() + 1, 4));
  e.loc.offset = GetLe(v.data() + 5, 8);
  std::memcpy(e.fp.data(), v.data() + 13, 16);
  size_t topic_len = GetLe(v.data() + 29, 2);
  if (v.size() < kFixed + topic_len) return std::nullopt;
  e.loc.topic.assign(v.substr(kFixed, topic_len));
  e.producer.assign(v.substr(kFixed + topic_len));
  return e;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m = "id index " + std::string(what) + ": " + s.ToString();
  return s.IsNoSpace() ? Status::StorageFull(std::move(m)) : Status::IOError(std::move(m));
}

}  // namespace

Fingerprint FingerprintOf(const Event& e) {
  const std::string_view sep("\0", 1);
  unsigned char md[32];
  Sha256Parts({e.event_type, sep, e.entity_id, sep, e.data}, md);
  Fingerprint fp;
  std::memcpy(fp.data(), md, fp.size());
  return fp;
}

class RocksIndexImpl {
 public:
  RocksIndexImpl(rocksdb::DB* db, channel::Channel* logs) : db_(db), logs_(logs) {}
  ~RocksIndexImpl() { Close().ok(); }

  Status MigrateV1();
  Status LoadTypes();
  Status CatchUp();
  void StartWriter() {
    writer_ = std::thread([this] {
      SetThreadName("id-index");
      WriterLoop();
    });
  }

  ClaimOutcome Claim(const std::string& id, const Fingerprint& fp, const std::string& producer);
  void ClaimGenerated(const std::string& id, const Fingerprint& fp, const std::string& producer);
  void Commit(const std::string& id, const std::string& producer, const std::string& type,
              const Location& loc);
  void Abort(const std::string& id, const std::string& producer);
  Result<std::optional<Location>> Find(const std::string& id, const std::string& producer);
  Result<std::vector<Holder>> FindAll(const std::string& id);
  bool HasEventsOfType(const std::string& type);
  Status Close();

 private:
  struct Recent {
    Entry entry;
    bool committed = false;
  };
  struct Stripe {
    std::mutex mu;
    // Claimed, not yet in RocksDB; keyed by RecentKey(id, producer).
    std::unordered_map<std::string, Recent> recent;
  };
  struct Pending {
    std::string id;
    std::string type;
    bool new_type = false;  // first event of its type: persist the type too
    Entry entry;
  };

  // By id alone: every producer's claim of an id is in one stripe (FindAll).
  Stripe& StripeOf(std::string_view id) {
    return stripes_[std::hash<std::string_view>{}(id) % kStripes];
  }
  // Not found is an empty optional; a read error (EIO under RocksDB) an error.
  Result<std::optional<Entry>> Lookup(const std::string& id, const std::string& producer);
  bool Retained(const Location& loc);
  void WriterLoop();
  bool WriteBatchOf(std::vector<Pending>& batch);
  Status IndexPartition(channel::Topic* topic, uint32_t partition);

  rocksdb::DB* db_;
  channel::Channel* logs_;
  std::array<Stripe, kStripes> stripes_;

  std::mutex types_mu_;
  std::set<std::string, std::less<>> types_;  // event types with stored events

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;
  bool writer_idle_ = false;  // waiting for a first entry (not filling a batch)
  bool stopping_ = false;
  std::thread writer_;
  bool refused_ = false;  // the writer's last batch was refused: Resume() before the next
  bool closed_ = false;
};

Result<std::optional<Entry>> RocksIndexImpl::Lookup(const std::string& id,
                                                    const std::string& producer) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), IdKey(id, producer), &value);
  if (s.IsNotFound()) return std::optional<Entry>();
  if (!s.ok()) return FromRocks(s, "lookup");
  return DecodeEntry(value);
}

bool RocksIndexImpl::Retained(const Location& loc) {
  channel::Topic* topic = logs_->FindTopic(loc.topic);
  return topic != nullptr && loc.partition < topic->partitions() &&
         loc.offset >= topic->StartOffset(loc.partition);
}

ClaimOutcome RocksIndexImpl::Claim(const std::string& id, const Fingerprint& fp,
                                   const std::string& producer) {
  Stripe& stripe = StripeOf(id);
  std::lock_guard lock(stripe.mu);
  std::string key = RecentKey(id, producer);
  auto it = stripe.recent.find(key);
  std::optional<Entry> stored;
  if (it != stripe.recent.end()) {
    if (!it->second.committed) return ClaimOutcome::kInFlight;
    stored = it->second.entry;
  } else {
    Result<std::optional<Entry>> found = Lookup(id, producer);
    if (!found.ok()) return ClaimOutcome::kUnavailable;  // unknown: never "new"
    stored = std::move(found).value();
    if (stored && !Retained(stored->loc)) stored.reset();
  }
  if (stored) return stored->fp == fp ? ClaimOutcome::kDuplicate : ClaimOutcome::kConflict;
  Recent& r = stripe.recent[std::move(key)];
  r.entry.fp = fp;
  r.entry.producer = producer;
  return ClaimOutcome::kNew;
}

void RocksIndexImpl::ClaimGenerated(const std::string& id, const Fingerprint& fp,
                                    const std::string& producer) {
  Stripe& stripe = StripeOf(id);
  std::lock_guard lock(stripe.mu);
  Recent& r = stripe.recent[RecentKey(id, producer)];
  r.entry.fp = fp;
  r.entry.producer = producer;
}

void RocksIndexImpl::Commit(const std::string& id, const std::string& producer,
                            const std::string& type, const Location& loc) {
  Pending p;
  {
    Stripe& stripe = StripeOf(id);
    std::lock_guard lock(stripe.mu);
    const std::string& key = ScratchRecentKey(id, producer);
    auto it = stripe.recent.find(key);
    if (it == stripe.recent.end()) it = stripe.recent.emplace(key, Recent{}).first;
    Recent& r = it->second;
    r.committed = true;
    r.entry.loc = loc;
    p.entry = r.entry;
  }
  p.id = id;
  {
    std::lock_guard lock(types_mu_);
    if (types_.find(type) == types_.end()) {  // no allocation for a known type
      types_.insert(type);
      p.new_type = true;
      p.type = type;
    }
  }
  bool wake;
  {
    std::lock_guard lock(queue_mu_);
    queue_.push_back(std::move(p));
    wake = (writer_idle_ && queue_.size() == 1) || queue_.size() == kWakeBatch;
  }
  if (wake) queue_cv_.notify_one();
}

void RocksIndexImpl::Abort(const std::string& id, const std::string& producer) {
  Stripe& stripe = StripeOf(id);
  std::lock_guard lock(stripe.mu);
  stripe.recent.erase(RecentKey(id, producer));
}

Result<std::optional<Location>> RocksIndexImpl::Find(const std::string& id,
                                                     const std::string& producer) {
  {
    Stripe& stripe = StripeOf(id);
    std::lock_guard lock(stripe.mu);
    auto it = stripe.recent.find(RecentKey(id, producer));
    if (it != stripe.recent.end()) {
      if (!it->second.committed) return std::optional<Location>();
      return std::optional<Location>(it->second.entry.loc);
    }
  }
  ERAGON_ASSIGN_OR_RETURN(std::optional<Entry> e, Lookup(id, producer));
  if (!e || !Retained(e->loc)) return std::optional<Location>();
  return std::optional<Location>(e->loc);
}

// The committed claims still in memory (the id's stripe only), then RocksDB's keys
// under "k/<id>/". A producer found in both is taken from memory.
Result<std::vector<Holder>> RocksIndexImpl::FindAll(const std::string& id) {
  std::map<std::string, Location> found;
  {
    Stripe& stripe = StripeOf(id);
    std::lock_guard lock(stripe.mu);
    for (const auto& [key, r] : stripe.recent) {
      if (r.committed && key.size() > id.size() && key.starts_with(id) && key[id.size()] == '\0') {
        found.emplace(r.entry.producer, r.entry.loc);
      }
    }
  }
  const std::string prefix = IdPrefix(id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::optional<Entry> e = DecodeEntry(it->value().ToStringView());
    if (e) found.emplace(it->key().ToString().substr(prefix.size()), e->loc);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "lookup");
  std::vector<Holder> out;
  for (auto& [producer, loc] : found) {
    if (Retained(loc)) out.push_back({producer, std::move(loc)});
  }
  return out;
}

bool RocksIndexImpl::HasEventsOfType(const std::string& type) {
  std::lock_guard lock(types_mu_);
  return types_.count(type) > 0;
}

// The entries wait in memory (where Claim and Find see them) and go to RocksDB in
// batches: the first commit wakes the writer, which then gives the batch up to
// kBatchDelay to fill (waking early at kWakeBatch). One wake-up and one RocksDB write per
// batch instead of per group commit.
void RocksIndexImpl::WriterLoop() {
  std::unique_lock lock(queue_mu_);
  for (;;) {
    writer_idle_ = true;
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    writer_idle_ = false;
    queue_cv_.wait_for(lock, kBatchDelay, [&] { return stopping_ || queue_.size() >= kWakeBatch; });
    if (queue_.empty() && stopping_) return;
    std::vector<Pending> batch;
    batch.swap(queue_);
    lock.unlock();
    const bool written = WriteBatchOf(batch);
    lock.lock();
    if (!written) {
      // The ids stay in memory (Claim and Find see them) and go again with the next
      // batch, a moment later; at Close they are left to the next Open's catch-up.
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
      if (queue_cv_.wait_for(lock, kRetryDelay, [&] { return stopping_; })) return;
    }
  }
}

// Writes one RocksDB batch with the entries (in key order: the memtable's skip list
// inserts a run of ascending keys cheaply) and the per-partition checkpoints they
// advance, then drops the entries from memory (RocksDB answers for them from now on).
// False when RocksDB refused the batch (the entries stay in memory).
bool RocksIndexImpl::WriteBatchOf(std::vector<Pending>& batch) {
  std::sort(batch.begin(), batch.end(), [](const Pending& a, const Pending& b) {
    return std::tie(a.id, a.entry.producer) < std::tie(b.id, b.entry.producer);
  });
  rocksdb::WriteBatch wb;
  std::map<std::pair<std::string, uint32_t>, uint64_t> checkpoints;
  std::string key, value;
  for (const Pending& p : batch) {
    AppendIdKey(p.id, p.entry.producer, &key);
    EncodeEntry(p.entry, &value);
    wb.Put(key, value);
    uint64_t& cp = checkpoints[{p.entry.loc.topic, p.entry.loc.partition}];
    cp = std::max(cp, p.entry.loc.offset + 1);
    if (p.new_type) wb.Put(TypeKey(p.type), "");
  }
  for (const auto& [k, offset] : checkpoints) {
    std::string v;
    PutLe(&v, offset, 8);
    wb.Put(CheckpointKey(k.first, k.second), v);
  }
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;  // the log is the WAL: Open() re-indexes past the checkpoints
  // A refused write (ENOSPC in a flush stops RocksDB's writes: its background error) is
  // tried again after Resume(), which writes the memtable out to new files. Publishing
  // never waits for this: the log is the write-ahead log of the index.
  rocksdb::Status s = refused_ ? db_->Resume() : rocksdb::Status::OK();
  if (s.ok()) s = db_->Write(wo, &wb);
  if (!s.ok() && !refused_) {
    fprintf(stderr, "eragond: id index: %s (tried again every second)\n", s.ToString().c_str());
  }
  refused_ = s.IsNoSpace();  // only a full disk is resumed; other failures fail-stop
  if (!s.ok()) return false;
  for (const Pending& p : batch) {
    Stripe& stripe = StripeOf(p.id);
    std::lock_guard lock(stripe.mu);
    stripe.recent.erase(ScratchRecentKey(p.id, p.entry.producer));
  }
  return true;
}

// Version 1 keyed an id alone ("i/<id>"; its value already names the producer). Rewrites
// each such key as "k/<id>/<producer>", in batches, deleting the old key in the same
// batch: an interrupted migration resumes at the next Open().
Status RocksIndexImpl::MigrateV1() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  rocksdb::WriteBatch wb;
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;  // the old keys stay until the new ones are flushed (below)
  size_t moved = 0;
  for (it->Seek(kV1IdPrefix); it->Valid() && it->key().starts_with(kV1IdPrefix); it->Next()) {
    std::string_view id = it->key().ToStringView().substr(kV1IdPrefix.size());
    std::optional<Entry> e = DecodeEntry(it->value().ToStringView());
    if (e) wb.Put(IdKey(id, e->producer), it->value());
    wb.Delete(it->key());
    if (wb.Count() >= 2 * kWakeBatch) {
      ERAGON_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "migrate"));
      wb.Clear();
    }
    ++moved;
  }
  ERAGON_RETURN_IF_ERROR(FromRocks(it->status(), "migrate"));
  if (moved == 0) return Status::Ok();
  ERAGON_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "migrate"));
  return FromRocks(db_->Flush(rocksdb::FlushOptions()), "migrate flush");
}

Status RocksIndexImpl::LoadTypes() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("t/"); it->Valid() && it->key().starts_with("t/"); it->Next()) {
    types_.insert(it->key().ToString().substr(2));
  }
  return FromRocks(it->status(), "load types");
}

// Indexes the records of one partition past its checkpoint.
Status RocksIndexImpl::IndexPartition(channel::Topic* topic, uint32_t partition) {
  std::string cp_value;
  uint64_t from = topic->StartOffset(partition);
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), CheckpointKey(topic->name(), partition), &cp_value);
  if (s.ok() && cp_value.size() == 8) from = std::max(from, GetLe(cp_value.data(), 8));
  const uint64_t end = topic->DurableEnd(partition);
  while (from < end) {
    ERAGON_ASSIGN_OR_RETURN(std::vector<channel::Record> records,
                            topic->Read(partition, from, 4096, 8 << 20));
    if (records.empty()) break;
    rocksdb::WriteBatch wb;
    std::string value;
    for (const channel::Record& rec : records) {
      if (rec.payload.empty()) {  // not an event (channel.h: Record)
        from = rec.offset + 1;
        continue;
      }
      ERAGON_ASSIGN_OR_RETURN(Event e, DecodeEventRecord(rec.payload));
      Entry entry{{topic->name(), partition, rec.offset}, FingerprintOf(e), e.producer};
      EncodeEntry(entry, &value);
      wb.Put(IdKey(e.id, e.producer), value);
      if (types_.insert(e.event_type).second) wb.Put(TypeKey(e.event_type), "");
      from = rec.offset + 1;
    }
    std::string v;
    PutLe(&v, from, 8);
    wb.Put(CheckpointKey(topic->name(), partition), v);
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;
    ERAGON_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &wb), "rebuild"));
  }
  return Status::Ok();
}

Status RocksIndexImpl::CatchUp() {
  for (const std::string& name : logs_->TopicNames()) {
    channel::Topic* topic = logs_->FindTopic(name);
    if (topic == nullptr) continue;
    for (uint32_t p = 0; p < topic->partitions(); ++p) {
      ERAGON_RETURN_IF_ERROR(IndexPartition(topic, p));
    }
  }
  return Status::Ok();
}

Status RocksIndexImpl::Close() {
  if (closed_) return Status::Ok();
  closed_ = true;
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  Status st = FromRocks(db_->Flush(rocksdb::FlushOptions()), "flush");
  delete db_;
  db_ = nullptr;
  return st;
}

namespace {

// The RocksDB index behind the IdIndex interface.
class RocksIdIndex final : public IdIndex {
 public:
  explicit RocksIdIndex(std::unique_ptr<RocksIndexImpl> impl) : impl_(std::move(impl)) {}

  ClaimOutcome Claim(const std::string& id, const Fingerprint& fp,
                     const std::string& producer) override {
    return impl_->Claim(id, fp, producer);
  }
  void ClaimGenerated(const std::string& id, const Fingerprint& fp,
                      const std::string& producer) override {
    impl_->ClaimGenerated(id, fp, producer);
  }
  void Commit(const std::string& id, const std::string& producer, const std::string& type,
              const Location& loc) override {
    impl_->Commit(id, producer, type, loc);
  }
  void Abort(const std::string& id, const std::string& producer) override {
    impl_->Abort(id, producer);
  }
  Result<std::optional<Location>> Find(const std::string& id,
                                       const std::string& producer) override {
    return impl_->Find(id, producer);
  }
  Result<std::vector<Holder>> FindAll(const std::string& id) override { return impl_->FindAll(id); }
  bool HasEventsOfType(const std::string& t) override { return impl_->HasEventsOfType(t); }
  Status Close() override { return impl_->Close(); }

 private:
  std::unique_ptr<RocksIndexImpl> impl_;
};

}  // namespace

Result<std::unique_ptr<IdIndex>> IdIndex::Open(const std::string& dir, channel::Channel* logs,
                                               rocksdb::Env* env) {
  rocksdb::Options options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = true;
  options.info_log = std::make_shared<StderrRocksLogger>("id index");  // no LOG file
  options.write_buffer_size = 32 << 20;
  options.max_background_jobs = 2;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) return Status::IOError("open id index " + dir + ": " + s.ToString());
  auto impl = std::make_unique<RocksIndexImpl>(db, logs);
  ERAGON_RETURN_IF_ERROR(impl->MigrateV1());
  ERAGON_RETURN_IF_ERROR(impl->LoadTypes());
  ERAGON_RETURN_IF_ERROR(impl->CatchUp());
  impl->StartWriter();
  return std::unique_ptr<IdIndex>(new RocksIdIndex(std::move(impl)));
}

std::vector<ClaimOutcome> IdIndex::ClaimMany(std::span<const ClaimRequest> requests) {
  std::vector<ClaimOutcome> out;
  out.reserve(requests.size());
  for (const ClaimRequest& r : requests) out.push_back(Claim(r.id, r.fp, r.producer));
  return out;
}

}  // namespace eragon::index
