// AppendOp: one KafkaTopic::AppendAsync in flight, shared by the topic, the delivery-report
// callback and the transactional producer (kafka_txn.h). Internal to the Kafka channel.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "channel/channel.h"

namespace eragon::channel::kafka {

class KafkaTopic;
struct AppendOp;

// Each produced record's opaque: its delivery report finds the op and the record by it.
struct MsgRef {
  AppendOp* op = nullptr;
  size_t index = 0;
};

struct AppendOp {
  KafkaTopic* topic = nullptr;
  AppendCallback done;
  std::vector<RecordPosition> positions;
  std::unique_ptr<MsgRef[]> refs;
  // Delivery reports still to come (records handed to a producer and not yet reported).
  std::atomic<size_t> remaining{0};
  // Produced in a transaction: a report records the position (or the failure) only; the
  // transactional producer completes the op after the commit or abort.
  bool transactional = false;
  std::mutex mu;
  Status failure;
};

}  // namespace eragon::channel::kafka
