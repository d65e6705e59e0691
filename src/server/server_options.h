// ServerOptions: every eragond flag, its default and what it means, in one place.
// Flags may also come from a config file (--config FILE) of `name = value` lines using
// the same names without the leading dashes; the command line wins over the file.
#pragma once

#include <cstdint>
#include <string>

#include "channel/embedded.h"
#include "eragon/status.h"

namespace eragon::server {

// Half the cores, at least one: the other half is left to the log writer, the dispatcher,
// the push client and the kernel's network stack. On a 2-core machine one io thread
// published 12-20 % more single events/s than two (fewer wake-ups and preemptions;
// bench/README.md), and no fewer batches or fetches.
int DefaultIoThreads();

struct ServerOptions {
  std::string data_dir = "./eragon-data";    // log, index, config store, admin.token
  std::string listen = "127.0.0.1:7070";     // HOST:PORT; port 0 picks a free port
  channel::FsyncOptions fsync;               // always | interval:MS | never
  int io_threads = DefaultIoThreads();       // HTTP io threads
  uint64_t max_body_bytes = 8ull << 20;      // larger Content-Length: 413 before reading
  int64_t request_timeout_ms = 30'000;       // reading one request (headers and body)
  int64_t idle_timeout_ms = 60'000;          // keep-alive connection without a request
  uint64_t max_connections = 4096;           // beyond: longest-idle closed, else 503
  int64_t route_cache_ttl_ms = 500;          // route and token caches (1..1000)
  uint64_t segment_bytes = 64ull << 20;      // log segment file size
  int64_t retention_hours = 168;             // delete segments older than this (0 = never)
  uint64_t retention_bytes = 0;              // per topic (0 = no size limit)
  uint64_t max_pending_bytes = 64ull << 20;  // per topic; beyond it publish answers 429
  uint64_t min_free_bytes = 256ull << 20;    // below this free space publish answers 507
  double max_disk_used = 0.95;               // above this used fraction publish answers 507
  int64_t shutdown_grace_ms = 10'000;        // SIGTERM: time in-flight requests get
  std::string push_ca_file;  // PEM CAs trusted for https pushes, besides the system's
  // The Kafka channel (API.md "Channels: Kafka"); empty brokers: no Kafka.
  std::string kafka_brokers;  // host:port[,host:port...]
  // "sqlite" (config.db in the data dir) or a postgresql://... URL shared by the nodes.
  std::string config_store = "sqlite";
  std::string kafka_config;  // file of librdkafka name=value properties
  std::string kafka_topic_prefix = "eragon.";
  int kafka_replication = 0;       // 0: min(3, brokers)
  int kafka_timeout_ms = 10'000;   // broker acknowledgement of a publish, admin calls
  bool kafka_transactions = true;  // batches in Kafka transactions (all or nothing)
  // HTTPS: certificate chain and key (PEM), both or neither; reloaded on SIGHUP.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;  // PEM CAs; set: every client must present a certificate
  // Push targets (API.md "TLS and push targets"), comma-separated CIDRs checked against
  // every resolved address at route PUT and before every push connection. Denied wins;
  // an empty allow list allows everything not denied. eragond's own listen address
  // (its port on its addresses) is always denied besides these.
  std::string push_deny_cidrs = "169.254.0.0/16,fe80::/10";
  std::string push_allow_cidrs;
  // Attempt histories (API.md "Delivery attempts"): off saves their writes (for A/B
  // benchmarks; GET /v1/events/{id}/attempts then shows nothing new).
  bool record_attempts = true;
  std::string node_id;  // the node's name in attempt histories; "": HOSTNAME:PORT
  // A cluster (API.md "Running a cluster"): the admin token every node accepts, read from
  // this file ("": the data dir's admin.token), and the URL other nodes and clients reach
  // this node at in GET /v1/cluster ("": the listen address).
  std::string admin_token_file;
  std::string advertise_url;
  // The shared config store's change notifications (LISTEN/NOTIFY) and version poll.
  bool config_listen = true;
  int64_t config_poll_ms = 5000;

  // A cluster node: the config store is a shared PostgreSQL.
  bool cluster() const { return config_store != "sqlite"; }
};

// Parses argv (and the --config file it names). On --help prints usage and returns
// NotFound("help"); on bad flags returns InvalidArgument with the reason.
Result<ServerOptions> ParseServerOptions(int argc, char** argv);

}  // namespace eragon::server
