#include "cluster/node_registry.h"

#include <algorithm>

#include "config/postgres/pg_db.h"
#include "core/hash.h"
#include "core/thread_name.h"

namespace eragon::cluster {
namespace {

constexpr char kUpsert[] =
    "INSERT INTO cluster_nodes (id, address, started_at, last_seen, partitions)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET address = excluded.address,"
    " started_at = excluded.started_at, last_seen = excluded.last_seen,"
    " partitions = excluded.partitions";
constexpr char kForget[] = "DELETE FROM cluster_nodes WHERE last_seen < ?";
constexpr char kRecent[] =
    "SELECT id, address, started_at, last_seen, partitions FROM cluster_nodes"
    " WHERE last_seen >= ? AND id <> ? ORDER BY id";
constexpr char kRemove[] = "DELETE FROM cluster_nodes WHERE id = ?";

}  // namespace

NodeRegistry::NodeRegistry(RegistryOptions options) : o_(std::move(options)) {}

NodeRegistry::~NodeRegistry() { Stop(); }

void NodeRegistry::Start(std::string address) {
  std::lock_guard lock(mu_);
  address_ = std::move(address);
  if (o_.pg_url.empty() || started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    SetThreadName("cluster");
    Loop();
  });
}

void NodeRegistry::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard db_lock(db_mu_);
  if (o_.pg_url.empty() || !started_ || !Connect().ok()) return;
  Result<std::unique_ptr<config::Query>> q = db_->Prepare(kRemove);
  if (q.ok()) (*q)->Bind(o_.id).Run().ok();
}

void NodeRegistry::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Beat().ok();  // an outage: the next heartbeat tries again
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(o_.heartbeat_ms), [&] { return stopping_; });
  }
}

Status NodeRegistry::Connect() {
  if (db_) return Status::Ok();
  ERAGON_ASSIGN_OR_RETURN(db_, config::PgDb::Open(o_.pg_url, "eragond-cluster"));
  return Status::Ok();
}

Status NodeRegistry::Beat() {
  if (o_.pg_url.empty()) return Status::Ok();
  std::lock_guard db_lock(db_mu_);
  ERAGON_RETURN_IF_ERROR(Connect());
  NodeInfo self;
  {
    std::lock_guard lock(mu_);
    self = Self();
  }
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<config::Query> up, db_->Prepare(kUpsert));
  ERAGON_RETURN_IF_ERROR(up->Bind(self.id)
                             .Bind(self.address)
                             .Bind(self.started_at)
                             .Bind(self.last_seen)
                             .Bind(self.partitions)
                             .Run());
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<config::Query> forget, db_->Prepare(kForget));
  ERAGON_RETURN_IF_ERROR(forget->Bind(self.last_seen - o_.forget_after_ms).Run());
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<config::Query> recent, db_->Prepare(kRecent));
  recent->Bind(self.last_seen - o_.listed_for_ms).Bind(self.id);
  std::vector<NodeInfo> others;
  for (;;) {
    ERAGON_ASSIGN_OR_RETURN(bool row, recent->Step());
    if (!row) break;
    others.push_back(
        {recent->Text(0), recent->Text(1), recent->Int(2), recent->Int(3), recent->Int(4)});
  }
  std::lock_guard lock(mu_);
  others_ = std::move(others);
  return Status::Ok();
}

NodeInfo NodeRegistry::Self() const {
  NodeInfo self;
  self.id = o_.id;
  self.address = address_;
  self.started_at = o_.started_at;
  self.last_seen = o_.clock->WallMs();
  self.partitions = o_.partitions ? o_.partitions() : 0;
  return self;
}

std::vector<NodeInfo> NodeRegistry::Nodes() const {
  std::vector<NodeInfo> out;
  std::lock_guard lock(mu_);
  out.push_back(Self());
  const int64_t oldest = out[0].last_seen - o_.listed_for_ms;
  for (const NodeInfo& n : others_) {
    if (n.last_seen >= oldest) out.push_back(n);
  }
  std::sort(out.begin(), out.end(),
            [](const NodeInfo& a, const NodeInfo& b) { return a.id < b.id; });
  return out;
}

Result<std::string> EnsureNodeId(Env* env, const std::string& data_dir) {
  const std::string path = data_dir + "/node.id";
  if (env->Exists(path)) {
    ERAGON_ASSIGN_OR_RETURN(std::string id, ReadFileToString(env, path));
    while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
    if (id.empty() || id.size() > 128) {
      return Status::Corruption(path + " does not hold a node id (delete it to make a new one)");
    }
    return id;
  }
  std::string id = HexEncode(RandomBytes(8));
  ERAGON_RETURN_IF_ERROR(WriteFileAtomically(env, path, id + "\n"));
  return id;
}

}  // namespace eragon::cluster
