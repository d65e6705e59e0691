// NodeRegistry: the nodes of a cluster, for GET /v1/cluster (API.md "Running a cluster").
//
// In a cluster (config store on PostgreSQL) each node keeps a row in the table
// `cluster_nodes` (a config migration) up to date once a second from a thread of its own,
// on a PostgreSQL connection of its own (`application_name` eragond-cluster), and reads
// back the rows of the nodes seen recently. Nodes() answers from memory: a PostgreSQL
// outage slows or stops the heartbeats, never a request. A single node (SQLite) has no
// table: its list is itself. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eragon/clock.h"
#include "eragon/env.h"
#include "eragon/status.h"

namespace eragon::config {
class PgDb;
}

namespace eragon::cluster {

struct NodeInfo {
  std::string id;          // stable per data dir (node.id) unless --node-id names it
  std::string address;     // the URL clients use
  int64_t started_at = 0;  // wall ms
  int64_t last_seen = 0;   // wall ms of its last heartbeat
  int64_t partitions = 0;  // (consumer route, partition) pairs it delivers
  bool operator==(const NodeInfo&) const = default;
};

struct RegistryOptions {
  std::string pg_url;  // the shared config store; "" for a single node
  std::string id;
  int64_t started_at = 0;
  std::function<int64_t()> partitions;  // this node's count, read at every heartbeat
  Clock* clock = Clock::System();
  int64_t heartbeat_ms = 1000;
  // Listed while the last heartbeat is at most this old (API.md: "seen recently").
  int64_t listed_for_ms = 10'000;
  // Rows whose last heartbeat is older than this are deleted by any node's heartbeat.
  int64_t forget_after_ms = 3'600'000;
};

class NodeRegistry {
 public:
  explicit NodeRegistry(RegistryOptions options);
  ~NodeRegistry();
  NodeRegistry(const NodeRegistry&) = delete;
  NodeRegistry& operator=(const NodeRegistry&) = delete;

  // Sets this node's address and, in a cluster, starts heartbeating (the first at once).
  void Start(std::string address);
  // Stops heartbeating and removes this node's row (best effort), so a node stopped
  // cleanly leaves the other nodes' lists at their next heartbeat.
  void Stop();

  // One heartbeat now: writes this node's row, deletes long-dead rows, reads the recent
  // ones into memory. Unavailable while PostgreSQL is. A single node: Ok, nothing to do.
  Status Beat();

  // This node and the others seen within listed_for_ms (by this node's clock), by id.
  // From memory; this node's own entry is current (last_seen now, partitions counted now).
  std::vector<NodeInfo> Nodes() const;
  // This node's id.
  const std::string& id() const { return o_.id; }
  // Whether this node is in a cluster (heartbeats into a shared PostgreSQL).
  bool clustered() const { return !o_.pg_url.empty(); }

 private:
  void Loop();
  NodeInfo Self() const;  // REQUIRES: mu_
  Status Connect();       // REQUIRES: db_mu_

  const RegistryOptions o_;
  std::mutex db_mu_;  // serializes heartbeats (the thread's, a test's) and Stop's delete
  std::unique_ptr<config::PgDb> db_;  // guarded by db_mu_
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string address_;
  std::vector<NodeInfo> others_;  // from the last successful heartbeat
  bool stopping_ = false;
  bool started_ = false;
  std::thread thread_;
};

// The id of the node whose data dir is `data_dir`: <data_dir>/node.id, made (16 random
// hex digits) at first start and the same on every later one.
Result<std::string> EnsureNodeId(Env* env, const std::string& data_dir);

}  // namespace eragon::cluster
