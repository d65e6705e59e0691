#include "index/postgres/pg_id_index.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/hash.h"
#include "core/thread_name.h"
#include "index/postgres/pg_id_sql.h"

namespace eragon::index {
namespace {

using pg::Key;

constexpr int64_t kRetryMs = 500;  // a failed commit write is tried again this much later

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(const Fingerprint& fp) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(fp.data()), fp.size()));
}

// One ClaimMany waiting for the writer.
struct ClaimJob {
  std::vector<pg::ClaimRow> rows;
  std::vector<ClaimOutcome> outcomes;
  bool done = false;
  bool abandoned = false;  // the caller gave up waiting: its new claims are released
};

class PgIdIndex final : public IdIndex {
 public:
  PgIdIndex(std::unique_ptr<config::PgDb> writer, std::unique_ptr<config::PgDb> reader,
            channel::Channel* logs, PgIdIndexOptions options)
      : writer_db_(std::move(writer)),
        reader_db_(std::move(reader)),
        logs_(logs),
        options_(options),
        thread_([this] { WriterLoop(); }) {}
  ~PgIdIndex() override { Close().ok(); }

  ClaimOutcome Claim(const std::string& id, const Fingerprint& fp,
                     const std::string& producer) override {
    ClaimRequest r{id, fp, producer};
    return ClaimMany(std::span<const ClaimRequest>(&r, 1))[0];
  }
  std::vector<ClaimOutcome> ClaimMany(std::span<const ClaimRequest> requests) override;
  void ClaimGenerated(const std::string& id, const Fingerprint& fp,
                      const std::string& producer) override {
    std::lock_guard lock(mu_);
    claims_[{producer, id}] = {Hex(fp), NewClaimToken(), /*generated=*/true};
  }
  void Commit(const std::string& id, const std::string& producer, const std::string& event_type,
              const Location& loc) override;
  void AfterCommits(std::function<void()> done) override;
  void Abort(const std::string& id, const std::string& producer) override;
  Result<std::optional<Location>> Find(const std::string& id, const std::string& producer) override;
  Result<std::vector<Holder>> FindAll(const std::string& id) override;
  bool HasEventsOfType(const std::string& event_type) override;
  Status Close() override;
  Result<uint64_t> SweepExpired() override;

 private:
  struct OwnClaim {
    std::string fingerprint;
    std::string claim;
    bool generated = false;
  };
  struct Batch {
    std::vector<std::shared_ptr<ClaimJob>> jobs;
    std::vector<pg::CommitRow> commits;
    std::vector<pg::ClaimRow> aborts;
    std::vector<std::function<void()>> waiters;
  };

  static std::string NewClaimToken() { return HexEncode(RandomBytes(12)); }
  bool Retained(const Location& loc) const;
  void WriterLoop();
  void RunClaims(std::vector<std::shared_ptr<ClaimJob>>& jobs);
  void WriteCommits(std::vector<pg::CommitRow> commits);

  std::unique_ptr<config::PgDb> writer_db_;  // the writer thread's
  std::mutex reader_mu_;
  std::unique_ptr<config::PgDb> reader_db_;  // Find, FindAll, HasEventsOfType
  channel::Channel* logs_;
  const PgIdIndexOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable claimed_cv_;
  bool stopping_ = false;
  Batch queued_;
  std::map<Key, OwnClaim> claims_;          // this node's claims not yet committed
  std::map<Key, pg::CommitRow> unwritten_;  // committed here, not yet in PostgreSQL
  std::set<std::string> types_seen_;        // event types known to be stored
  int64_t retry_at_ms_ = 0;                 // unwritten_ waits for this while it fails
  std::thread thread_;
};

std::vector<ClaimOutcome> PgIdIndex::ClaimMany(std::span<const ClaimRequest> requests) {
  auto job = std::make_shared<ClaimJob>();
  std::vector<ClaimOutcome> out(requests.size(), ClaimOutcome::kNew);
  std::vector<size_t> asked;  // index into requests, per job row
  std::unique_lock lock(mu_);
  for (size_t i = 0; i < requests.size(); ++i) {
    const ClaimRequest& r = requests[i];
    Key key{r.producer, r.id};
    if (auto u = unwritten_.find(key); u != unwritten_.end()) {  // stored here, being written
      out[i] =
          u->second.fingerprint == Hex(r.fp) ? ClaimOutcome::kDuplicate : ClaimOutcome::kConflict;
    } else if (claims_.contains(key)) {
      out[i] = ClaimOutcome::kInFlight;
    } else {
      job->rows.push_back({std::move(key), Hex(r.fp), NewClaimToken()});
      asked.push_back(i);
    }
  }
  if (job->rows.empty()) return out;
  queued_.jobs.push_back(job);
  cv_.notify_all();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.claim_wait_ms);
  claimed_cv_.wait_until(lock, deadline, [&] { return job->done || stopping_; });
  if (!job->done) job->abandoned = true;  // the writer releases whatever it claims for it
  for (size_t k = 0; k < asked.size(); ++k) {
    out[asked[k]] = job->done && !job->abandoned ? job->outcomes[k] : ClaimOutcome::kUnavailable;
    if (out[asked[k]] == ClaimOutcome::kNew) {
      const pg::ClaimRow& row = job->rows[k];
      claims_[row.key] = {row.fingerprint, row.claim, /*generated=*/false};
    }
  }
  return out;
}

void PgIdIndex::Commit(const std::string& id, const std::string& producer,
                       const std::string& event_type, const Location& loc) {
  std::lock_guard lock(mu_);
  auto it = claims_.find({producer, id});
  if (it == claims_.end()) return;  // not claimed: nothing to record
  pg::CommitRow row{it->first, it->second.fingerprint, it->second.claim, event_type, loc};
  claims_.erase(it);
  unwritten_[row.key] = row;
  queued_.commits.push_back(std::move(row));
  cv_.notify_all();
}

void PgIdIndex::AfterCommits(std::function<void()> done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queued_.waiters.push_back(std::move(done));
      cv_.notify_all();
      return;
    }
  }
  done();
}

void PgIdIndex::Abort(const std::string& id, const std::string& producer) {
  std::lock_guard lock(mu_);
  auto it = claims_.find({producer, id});
  if (it == claims_.end()) return;
  if (!it->second.generated) {  // a row in PostgreSQL to release
    queued_.aborts.push_back({it->first, it->second.fingerprint, it->second.claim});
    cv_.notify_all();
  }
  claims_.erase(it);
}

bool PgIdIndex::Retained(const Location& loc) const {
  channel::Topic* topic = logs_->FindTopic(loc.topic);
  return topic != nullptr && loc.partition < topic->partitions() &&
         loc.offset >= topic->StartOffset(loc.partition);
}

Result<std::optional<Location>> PgIdIndex::Find(const std::string& id,
                                                const std::string& producer) {
  {
    std::lock_guard lock(mu_);
    if (auto u = unwritten_.find({producer, id}); u != unwritten_.end()) {
      return std::optional<Location>(u->second.loc);
    }
  }
  std::vector<Holder> rows;
  {
    std::lock_guard lock(reader_mu_);
    ERAGON_ASSIGN_OR_RETURN(rows, pg::FindRows(reader_db_.get(), id, &producer));
  }
  if (rows.empty() || !Retained(rows[0].loc)) return std::optional<Location>();
  return std::optional<Location>(rows[0].loc);
}

Result<std::vector<Holder>> PgIdIndex::FindAll(const std::string& id) {
  Result<std::vector<Holder>> rows = [&] {
    std::lock_guard lock(reader_mu_);
    return pg::FindRows(reader_db_.get(), id, nullptr);
  }();
  std::map<std::string, Location> by_producer;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, row] : unwritten_) {
      if (key.second == id) by_producer[key.first] = row.loc;
    }
  }
  // PostgreSQL unreachable: what this node stored and could not write yet is still
  // known (other producers' events with the id are not, while it lasts).
  if (!rows.ok() && by_producer.empty()) return rows.status();
  if (rows.ok()) {
    for (Holder& h : *rows) by_producer.try_emplace(h.producer, std::move(h.loc));
  }
  std::vector<Holder> out;
  for (auto& [producer, loc] : by_producer) {
    if (Retained(loc)) out.push_back({producer, std::move(loc)});
  }
  return out;
}

Result<uint64_t> PgIdIndex::SweepExpired() {
  std::vector<pg::RetainedFrom> starts;
  for (const std::string& name : logs_->TopicNames()) {
    channel::Topic* t = logs_->FindTopic(name);
    for (uint32_t p = 0; t != nullptr && p < t->partitions(); ++p) {
      if (uint64_t start = t->StartOffset(p); start > 0) starts.push_back({name, p, start});
    }
  }
  std::lock_guard lock(reader_mu_);
  int64_t n = 0;
  if (!starts.empty()) {
    ERAGON_ASSIGN_OR_RETURN(n, pg::DeleteBelow(reader_db_.get(), starts));
  }
  const int64_t before = NowMs() - options_.forget_claims_after_ms;
  ERAGON_ASSIGN_OR_RETURN(int64_t claims, pg::DeleteClaimsBefore(reader_db_.get(), before));
  return static_cast<uint64_t>(n + claims);
}

bool PgIdIndex::HasEventsOfType(const std::string& event_type) {
  {
    std::lock_guard lock(mu_);
    if (types_seen_.contains(event_type)) return true;
    for (const auto& [key, row] : unwritten_) {
      if (row.event_type == event_type) return true;
    }
  }
  std::lock_guard lock(reader_mu_);
  Result<bool> stored = pg::TypeStored(reader_db_.get(), event_type);
  // Unknown (PostgreSQL unreachable): say yes, which refuses a topic change for now.
  return !stored.ok() || *stored;
}

// Takes what is queued, writes commits and aborts, then runs the claims; waiters are
// called once the commits queued before them were written (or failed once).
void PgIdIndex::WriterLoop() {
  SetThreadName("pg-id-index");
  std::unique_lock lock(mu_);
  for (;;) {
    // After a failed write every commit waits (in unwritten_) for the next try.
    const bool failing = retry_at_ms_ != 0;
    const bool retry_due = failing && NowMs() >= retry_at_ms_;
    if (queued_.jobs.empty() && queued_.aborts.empty() && queued_.waiters.empty() &&
        (failing ? !retry_due : queued_.commits.empty())) {
      if (stopping_) return;
      cv_.wait_for(lock, std::chrono::milliseconds(kRetryMs));
      continue;
    }
    Batch batch = std::move(queued_);
    queued_ = Batch();
    if (failing) {
      batch.commits.clear();
      if (retry_due) {
        for (const auto& [key, row] : unwritten_) batch.commits.push_back(row);
      }
    }
    lock.unlock();
    if (!batch.commits.empty()) WriteCommits(std::move(batch.commits));
    if (!batch.aborts.empty()) (void)pg::AbortRows(writer_db_.get(), batch.aborts);
    for (auto& done : batch.waiters) done();
    if (!batch.jobs.empty()) RunClaims(batch.jobs);
    lock.lock();
  }
}

void PgIdIndex::WriteCommits(std::vector<pg::CommitRow> commits) {
  // One row per key (a retry may meet the same commit queued again).
  std::map<Key, pg::CommitRow> rows;
  for (auto& c : commits) rows[c.key] = std::move(c);
  std::vector<pg::CommitRow> batch;
  for (auto& [key, row] : rows) batch.push_back(row);
  std::vector<std::string> new_types;  // a type known to be stored costs no write
  {
    std::lock_guard lock(mu_);
    for (const pg::CommitRow& row : batch) {
      if (!types_seen_.contains(row.event_type)) new_types.push_back(row.event_type);
    }
  }
  Status st = pg::CommitRows(writer_db_.get(), batch, NowMs(), new_types);
  std::lock_guard lock(mu_);
  if (!st.ok()) {
    if (retry_at_ms_ == 0) {
      std::fprintf(stderr, "eragond: id index: %zu id(s) not yet in PostgreSQL (%s); retrying\n",
                   unwritten_.size(), st.ToString().c_str());
    }
    retry_at_ms_ = NowMs() + kRetryMs;
    return;
  }
  retry_at_ms_ = 0;
  for (const auto& [key, row] : rows) {
    // Written as it is now (a newer commit of the same key waits for its own write).
    if (auto u = unwritten_.find(key); u != unwritten_.end() && u->second.claim == row.claim) {
      unwritten_.erase(u);
    }
    types_seen_.insert(row.event_type);
  }
}

void PgIdIndex::RunClaims(std::vector<std::shared_ptr<ClaimJob>>& jobs) {
  // One statement for every job; a key asked twice in this round goes once (the later
  // asker is told kInFlight: the first may be appending it).
  std::vector<pg::ClaimRow> rows;
  std::set<Key> asked;
  for (const auto& job : jobs) {
    for (const pg::ClaimRow& r : job->rows) {
      if (asked.insert(r.key).second) rows.push_back(r);
    }
  }
  const int64_t now = NowMs();
  Result<std::map<Key, ClaimOutcome>> result =
      pg::ClaimRows(writer_db_.get(), rows, now, now - options_.stale_claim_ms);
  std::vector<pg::ClaimRow> release;
  {
    std::lock_guard lock(mu_);
    std::set<Key> given;
    for (const auto& job : jobs) {
      for (const pg::ClaimRow& r : job->rows) {
        ClaimOutcome o = ClaimOutcome::kUnavailable;
        if (result.ok()) {
          auto it = result->find(r.key);
          o = it == result->end() ? ClaimOutcome::kUnavailable : it->second;
          // The claim went out under the first asker's token: only it may append.
          if (o == ClaimOutcome::kNew && !given.insert(r.key).second) o = ClaimOutcome::kInFlight;
          if (o == ClaimOutcome::kNew && job->abandoned) release.push_back(r);
        }
        job->outcomes.push_back(o);
      }
      job->done = true;
    }
  }
  claimed_cv_.notify_all();
  if (!release.empty()) (void)pg::AbortRows(writer_db_.get(), release);
}

Status PgIdIndex::Close() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return Status::Ok();
    stopping_ = true;
  }
  cv_.notify_all();
  claimed_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<pg::CommitRow> last;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, row] : unwritten_) last.push_back(row);
  }
  if (!last.empty()) WriteCommits(std::move(last));  // one more try
  std::lock_guard lock(mu_);
  if (unwritten_.empty()) return Status::Ok();
  return Status::Unavailable("id index: " + std::to_string(unwritten_.size()) +
                             " id(s) could not be written to PostgreSQL");
}

}  // namespace

Result<std::unique_ptr<IdIndex>> OpenPgIdIndex(const std::string& url, channel::Channel* logs,
                                               PgIdIndexOptions options) {
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<config::PgDb> writer,
                          config::PgDb::Open(url, "eragond id index"));
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<config::PgDb> reader,
                          config::PgDb::Open(url, "eragond id lookups"));
  ERAGON_RETURN_IF_ERROR(pg::CreateTables(writer.get()));
  return std::unique_ptr<IdIndex>(
      new PgIdIndex(std::move(writer), std::move(reader), logs, options));
}

}  // namespace eragon::index
