#include "server/server_options.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <thread>

namespace eragon::server {

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
}

}  // namespace

Result<ServerOptions> ParseServerOptions(int argc, char** argv) {
  ServerOptions o;
  std::string fsync = "always";
  CLI::App app{"eragond: the Eragon event platform server"};
  app.set_config("--config", "", "Read flags from FILE (name = value lines)");
  app.add_option("--data-dir", o.data_dir, "Data directory")->capture_default_str();
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
  return o;
}

}  // namespace eragon::server
