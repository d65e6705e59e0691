// librdkafka handles for the Kafka channel: configuration from KafkaOptions, RAII
// ownership, and Kafka errors as Status.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channel/kafka/kafka.h"
#include "eragon/status.h"

namespace eragon::channel::kafka {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
using TopicHandle = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// A configuration: `defaults`, then the user's properties, then `pinned` (which the user
// cannot override). bootstrap.servers and client.id come from the options.
Result<Conf> MakeConf(const KafkaOptions& options, const Properties& defaults,
                      const Properties& pinned);

// Creates a producer or consumer from `conf` (which it takes over).
Result<Handle> NewHandle(rd_kafka_type_t type, Conf conf);

// A Kafka error as a Status: timeouts, transport and broker-availability errors are
// kUnavailable (transient), an existing topic kAlreadyExists, queue full
// kResourceExhausted, the rest kInternal; the message says what failed.
Status FromKafka(rd_kafka_resp_err_t err, std::string_view what);
Status FromKafka(const rd_kafka_error_t* err, std::string_view what);

// Runs `call` until it succeeds, fails with something other than kUnavailable, or
// `timeout_ms` passed (then its last error): right after a topic or group appears, the
// brokers answer "not leader" / "coordinator loading" for a moment.
Status RetryTransient(int timeout_ms, const std::function<Status()>& call);

}  // namespace eragon::channel::kafka
