#include "channel/kafka/kafka_client.h"

#include <chrono>
#include <fstream>
#include <thread>

namespace eragon::channel::kafka {

namespace {

Status Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument("kafka property '" + name + "': " + err);
  }
  return Status::Ok();
}

bool Transient(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:  // a new client's metadata lags a new topic
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<Conf> MakeConf(const KafkaOptions& options, const Properties& defaults,
                      const Properties& pinned) {
  Conf conf(rd_kafka_conf_new());
  ERAGON_RETURN_IF_ERROR(Set(conf.get(), "bootstrap.servers", options.brokers));
  ERAGON_RETURN_IF_ERROR(Set(conf.get(), "client.id", options.client_id));
  // Small produce and fetch requests must not wait for Nagle's algorithm (with delayed
  // ACKs that costs up to 40 ms per request on loopback).
  ERAGON_RETURN_IF_ERROR(Set(conf.get(), "socket.nagle.disable", "true"));
  for (const auto& [k, v] : defaults) ERAGON_RETURN_IF_ERROR(Set(conf.get(), k, v));
  for (const auto& [k, v] : options.properties) ERAGON_RETURN_IF_ERROR(Set(conf.get(), k, v));
  for (const auto& [k, v] : pinned) ERAGON_RETURN_IF_ERROR(Set(conf.get(), k, v));
  return conf;
}

Result<Handle> NewHandle(rd_kafka_type_t type, Conf conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof(err));
  if (rk == nullptr) return Status::InvalidArgument(std::string("kafka client: ") + err);
  conf.release();  // rd_kafka_new owns it now
  return Handle(rk);
}

Status FromKafka(rd_kafka_resp_err_t err, std::string_view what) {
  std::string m = std::string(what) + ": " + rd_kafka_err2str(err);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return Status::AlreadyExists(m);
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return Status::ResourceExhausted(m);
  if (err == RD_KAFKA_RESP_ERR__FATAL) return Status::ReadOnly(m);
  if (Transient(err)) return Status::Unavailable(m);
  return Status::Internal(m);
}

Status FromKafka(const rd_kafka_error_t* err, std::string_view what) {
  if (err == nullptr) return Status::Ok();
  Status st = FromKafka(rd_kafka_error_code(err), what);
  return Status(st.code(), std::string(what) + ": " + rd_kafka_error_string(err));
}

Status RetryTransient(int timeout_ms, const std::function<Status()>& call) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int attempt = 0;; ++attempt) {
    Status st = call();
    if (st.code() != Code::kUnavailable || std::chrono::steady_clock::now() >= deadline) {
      return st;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 << attempt, 1000)));
  }
}

}  // namespace eragon::channel::kafka

namespace eragon::channel {

Result<std::vector<std::pair<std::string, std::string>>> ReadKafkaProperties(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("--kafka-config: cannot read '" + path + "'");
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq <= b) {
      return Status::InvalidArgument("--kafka-config " + path + ":" + std::to_string(n) +
                                     ": expected name=value");
    }
    size_t e = line.find_last_not_of(" \t\r");
    std::string name = line.substr(b, eq - b);
    name.erase(name.find_last_not_of(" \t") + 1);
    std::string value = line.substr(eq + 1, e - eq);
    value.erase(0, value.find_first_not_of(" \t"));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace eragon::channel
