#include "server/server_options.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <thread>
#include <utility>

#include "config/postgres/pg_db.h"
#include "core/push_targets.h"

namespace eragon::server {

namespace {

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// The HTTPS and push-target flags. The CIDR lists take commas, spaces or repeated flags
// (a config file line may hold "a, b"); FinishSecurityOptions joins and checks them.
struct SecurityFlags {
  std::vector<std::string> deny, allow;
  CLI::Option* deny_option = nullptr;
  CLI::Option* allow_option = nullptr;
};

void AddSecurityOptions(CLI::App& app, ServerOptions& o, SecurityFlags& f) {
  app.add_option(
      "--tls-cert", o.tls_cert,
      "PEM certificate chain: serve HTTPS (TLS 1.2+) instead of HTTP; reloaded on SIGHUP");
  app.add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", o.tls_client_ca,
                 "PEM CAs: require client certificates that chain to them (needs --tls-cert)");
  f.deny_option = app.add_option("--push-deny-cidrs", f.deny,
                                 "CIDRs never pushed to (default " + o.push_deny_cidrs +
                                     "); eragond's own listen address always")
                      ->delimiter(',');
  f.allow_option = app.add_option("--push-allow-cidrs", f.allow,
                                  "CIDRs pushes may go to (default: every address not denied)")
                       ->delimiter(',');
}

Status FinishSecurityOptions(const SecurityFlags& f, ServerOptions& o) {
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (!o.tls_client_ca.empty() && o.tls_cert.empty()) {
    return Status::InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (f.deny_option->count() > 0) o.push_deny_cidrs = JoinList(f.deny);
  if (f.allow_option->count() > 0) o.push_allow_cidrs = JoinList(f.allow);
  for (auto [flag, value] : {std::pair{"--push-deny-cidrs", &o.push_deny_cidrs},
                             std::pair{"--push-allow-cidrs", &o.push_allow_cidrs}}) {
    if (auto list = ParseCidrList(*value); !list.ok()) {
      return Status::InvalidArgument(std::string(flag) + ": " + list.status().message());
    }
  }
  return Status::Ok();
}

}  // namespace

int DefaultIoThreads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
}

namespace {

void AddKafkaOptions(CLI::App& app, ServerOptions& o) {
  app.add_option("--kafka-brokers", o.kafka_brokers,
                 "Kafka bootstrap servers (host:port,...): enables channel kafka");
  app.add_option("--kafka-config", o.kafka_config,
                 "File of librdkafka name=value properties (TLS, SASL, tuning)");
  app.add_option("--kafka-topic-prefix", o.kafka_topic_prefix,
                 "Kafka topic name = prefix + Eragon topic")
      ->capture_default_str();
  app.add_option("--kafka-replication", o.kafka_replication,
                 "Replication factor of created Kafka topics (0: min(3, brokers))")
      ->check(CLI::Range(0, 32))
      ->capture_default_str();
  app.add_option("--kafka-timeout-ms", o.kafka_timeout_ms,
                 "Longest wait for the brokers' acknowledgement of a publish (then 503)")
      ->check(CLI::Range(1000, 300'000))
      ->capture_default_str();
  app.add_option("--kafka-transactions", o.kafka_transactions,
                 "Store each batch publish in a Kafka transaction, all or nothing even when "
                 "a broker fails: true | false (false where transactions are not allowed; "
                 "a batch may then be stored in part before a 503)")
      ->capture_default_str();
}

void AddDeliveryOptions(CLI::App& app, ServerOptions& o) {
  app.add_option("--record-attempts", o.record_attempts,
                 "Record every delivery attempt (GET /v1/events/{id}/attempts): true | false")
      ->capture_default_str();
  app.add_option("--node-id", o.node_id,
                 "This eragond's name in attempt histories and GET /v1/cluster (default: "
                 "HOSTNAME:PORT in attempts, the data dir's node.id in the cluster)");
}

void AddClusterOptions(CLI::App& app, ServerOptions& o) {
  app.add_option("--admin-token-file", o.admin_token_file,
                 "File holding the admin token (>= 32 characters) every node of a cluster "
                 "accepts: the service admin gets its hash (default: the data dir's "
                 "admin.token, created at first start)");
  app.add_option("--advertise-url", o.advertise_url,
                 "This node's URL in GET /v1/cluster (default: http[s]://LISTEN-ADDRESS)");
  app.add_option("--config-listen", o.config_listen,
                 "Hear other nodes' changes at once through PostgreSQL LISTEN/NOTIFY: true | "
                 "false (behind a pooler that does not carry LISTEN, e.g. PgBouncer in "
                 "transaction mode: changes then arrive by the poll)")
      ->capture_default_str();
  app.add_option("--config-poll-ms", o.config_poll_ms,
                 "Interval of the config version poll that catches what notifications missed")
      ->check(CLI::Range(100, 600'000))
      ->capture_default_str();
}

// A cluster keeps its events on Kafka (embedded topics are single-node).
Status CheckClusterOptions(const ServerOptions& o) {
  if (!o.cluster()) return Status::Ok();
  ERAGON_RETURN_IF_ERROR(config::CheckPgUrl(o.config_store));
  if (o.kafka_brokers.empty()) {
    return Status::InvalidArgument(
        "--config-store postgresql://... runs a cluster node, whose topics live on Kafka: "
        "give --kafka-brokers HOST:PORT,... too (embedded topics are a single-node feature)");
  }
  if (!o.advertise_url.empty() && !o.advertise_url.starts_with("http://") &&
      !o.advertise_url.starts_with("https://")) {
    return Status::InvalidArgument("--advertise-url must start with http:// or https://");
  }
  return Status::Ok();
}

}  // namespace

Result<ServerOptions> ParseServerOptions(int argc, char** argv) {
  ServerOptions o;
  std::string fsync = "always";
  CLI::App app{"eragond: the Eragon event platform server"};
  app.set_config("--config", "", "Read flags from FILE (name = value lines)");
  app.add_option("--data-dir", o.data_dir, "Data directory")->capture_default_str();
  app.add_option("--config-store", o.config_store,
                 "Routes, services, schedules and sagas: sqlite (in the data dir) or a "
                 "postgresql://USER:PASSWORD@HOST:PORT/DB URL shared by a cluster's nodes")
      ->capture_default_str();
  app.add_option("--listen", o.listen, "HOST:PORT to listen on (port 0: any)")
      ->capture_default_str();
  app.add_option("--fsync", fsync, "always | interval:MS | never")->capture_default_str();
  app.add_option("--io-threads", o.io_threads, "HTTP io threads (default: half the cores, >= 1)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-body-bytes", o.max_body_bytes, "Largest request body")
      ->capture_default_str();
  app.add_option("--request-timeout-ms", o.request_timeout_ms, "Time to read one request")
      ->check(CLI::Range(int64_t{1}, int64_t{3'600'000}))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", o.idle_timeout_ms, "Idle keep-alive connection timeout")
      ->check(CLI::Range(int64_t{1}, int64_t{3'600'000}))
      ->capture_default_str();
  app.add_option("--max-connections", o.max_connections,
                 "Open HTTP connections at most; beyond it a new one closes the longest-idle "
                 "keep-alive connection, or is answered 503 when none is idle")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20))
      ->capture_default_str();
  app.add_option("--route-cache-ttl-ms", o.route_cache_ttl_ms,
                 "Route and token cache TTL: a change made on another node is seen within it")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}))
      ->capture_default_str();
  app.add_option("--segment-bytes", o.segment_bytes, "Log segment file size")
      ->check(CLI::Range(uint64_t{1} << 16, uint64_t{1} << 32))
      ->capture_default_str();
  app.add_option("--retention-hours", o.retention_hours, "Keep events this long (0: forever)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--retention-bytes", o.retention_bytes, "Largest size per topic (0: none)")
      ->capture_default_str();
  app.add_option("--max-pending-bytes", o.max_pending_bytes,
                 "Unwritten bytes per topic before publish answers 429")
      ->capture_default_str();
  app.add_option("--min-free-bytes", o.min_free_bytes, "Free disk below which publish answers 507")
      ->capture_default_str();
  app.add_option("--max-disk-used", o.max_disk_used,
                 "Used disk fraction above which publish answers 507")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--shutdown-grace-ms", o.shutdown_grace_ms,
                 "Time in-flight requests get on SIGTERM")
      ->capture_default_str();
  app.add_option("--push-ca-file", o.push_ca_file,
                 "PEM file of CAs trusted for https pushes in addition to the system's");
  AddKafkaOptions(app, o);
  AddDeliveryOptions(app, o);
  AddClusterOptions(app, o);
  SecurityFlags security;
  AddSecurityOptions(app, o, security);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return Status::NotFound("help");
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  Result<channel::FsyncOptions> f = channel::ParseFsyncOptions(fsync);
  if (!f.ok()) return Status::InvalidArgument("--fsync: " + f.status().message());
  o.fsync = *f;
  ERAGON_RETURN_IF_ERROR(CheckClusterOptions(o));
  ERAGON_RETURN_IF_ERROR(FinishSecurityOptions(security, o));
  return o;
}

}  // namespace eragon::server
