#include "channel/kafka/kafka_admin.h"

#include <functional>

namespace eragon::channel::kafka {

namespace {

struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

// Starts an admin call on a private queue and waits for its result event.
// `harmless`: an error of the whole request that means there is nothing to do (the
// event is returned as if it had none).
Result<EventPtr> Call(rd_kafka_t* rk, rd_kafka_admin_op_t op, int timeout_ms, const char* what,
                      const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& start,
                      rd_kafka_resp_err_t harmless = RD_KAFKA_RESP_ERR_NO_ERROR) {
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> opts(rd_kafka_AdminOptions_new(rk, op));
  char err[256];
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms, err, sizeof(err));
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeout_ms, err, sizeof(err));
  start(opts.get(), queue.get());
  EventPtr ev(rd_kafka_queue_poll(queue.get(), timeout_ms + 2000));
  if (!ev) return Status::Unavailable(std::string(what) + ": no answer from the brokers in time");
  const rd_kafka_resp_err_t error = rd_kafka_event_error(ev.get());
  if (error && error != harmless) {
    return FromKafka(rd_kafka_event_error(ev.get()),
                     std::string(what) + " (" + rd_kafka_event_error_string(ev.get()) + ")");
  }
  return ev;
}

// The first per-partition error of a result list.
Status PartitionErrors(const rd_kafka_topic_partition_list_t* l, const char* what) {
  for (int i = 0; l != nullptr && i < l->cnt; ++i) {
    if (l->elems[i].err) return FromKafka(l->elems[i].err, what);
  }
  return Status::Ok();
}

ListPtr ToList(const std::vector<GroupOffset>& offsets, const std::string& only_topic,
               uint32_t partitions) {
  ListPtr l(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size() + partitions)));
  for (const GroupOffset& o : offsets) {
    rd_kafka_topic_partition_list_add(l.get(), o.topic.c_str(), static_cast<int32_t>(o.partition))
        ->offset = static_cast<int64_t>(o.offset);
  }
  for (uint32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(l.get(), only_topic.c_str(), static_cast<int32_t>(p));
  }
  return l;
}

}  // namespace

Result<TopicInfo> DescribeTopic(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
  if (err) return FromKafka(err, "kafka metadata");
  TopicInfo info;
  info.brokers = md->broker_cnt;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic || t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
    info.exists = true;
    info.partitions = static_cast<uint32_t>(t.partition_cnt);
    info.leaders = t.err == 0 && t.partition_cnt > 0;
    for (int p = 0; p < t.partition_cnt; ++p) info.leaders &= t.partitions[p].leader >= 0;
  }
  rd_kafka_metadata_destroy(md);
  return info;
}

Status CreateTopic(rd_kafka_t* rk, const std::string& topic, uint32_t partitions, int replication,
                   int timeout_ms) {
  char err[256];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), static_cast<int>(partitions),
                                                  replication, err, sizeof(err));
  if (nt == nullptr) return Status::InvalidArgument("kafka topic '" + topic + "': " + err);
  Result<EventPtr> ev = Call(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms, "create topic",
                             [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                               rd_kafka_CreateTopics(rk, &nt, 1, o, q);
                             });
  rd_kafka_NewTopic_destroy(nt);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_topic_result_t** res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
    if (e) return FromKafka(e, "create kafka topic '" + topic + "'");
  }
  return Status::Ok();
}

Result<std::vector<GroupOffset>> ListGroupOffsets(rd_kafka_t* rk, const std::string& group,
                                                  int timeout_ms) {
  rd_kafka_ListConsumerGroupOffsets_t* req =
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr);
  Result<EventPtr> ev =
      Call(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout_ms, "list group offsets",
           [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
             rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
           });
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_group_result_t** groups = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev->get()), &n);
  std::vector<GroupOffset> out;
  for (size_t g = 0; g < n; ++g) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[g])) {
      return FromKafka(e, "list offsets of group " + group);
    }
    const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(groups[g]);
    for (int i = 0; l != nullptr && i < l->cnt; ++i) {
      if (l->elems[i].err || l->elems[i].offset < 0) continue;
      out.push_back({l->elems[i].topic, static_cast<uint32_t>(l->elems[i].partition),
                     static_cast<uint64_t>(l->elems[i].offset)});
    }
  }
  return out;
}

Status AlterGroupOffsets(rd_kafka_t* rk, const std::string& group,
                         const std::vector<GroupOffset>& offsets, int timeout_ms) {
  ListPtr list = ToList(offsets, "", 0);
  rd_kafka_AlterConsumerGroupOffsets_t* req =
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get());
  Result<EventPtr> ev =
      Call(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout_ms, "commit group offsets",
           [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
             rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, o, q);
           });
  rd_kafka_AlterConsumerGroupOffsets_destroy(req);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_group_result_t** groups = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev->get()), &n);
  for (size_t g = 0; g < n; ++g) {
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[g])) {
      return FromKafka(e, "commit offsets of group " + group);
    }
    ERAGON_RETURN_IF_ERROR(PartitionErrors(rd_kafka_group_result_partitions(groups[g]),
                                           "commit offsets of a partition"));
  }
  return Status::Ok();
}

Status DeleteGroupOffsets(rd_kafka_t* rk, const std::string& group, const std::string& topic,
                          uint32_t partitions, int timeout_ms) {
  ListPtr list = ToList({}, topic, partitions);
  rd_kafka_DeleteConsumerGroupOffsets_t* req =
      rd_kafka_DeleteConsumerGroupOffsets_new(group.c_str(), list.get());
  Result<EventPtr> ev = Call(
      rk, RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS, timeout_ms, "delete group offsets",
      [&](rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
        rd_kafka_DeleteConsumerGroupOffsets(rk, &req, 1, o, q);
      },
      // A group that never committed anything has nothing to delete (librdkafka
      // 2.0 reports it for the whole request, later versions per group).
      RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND);
  rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
  if (!ev.ok()) return ev.status();
  size_t n = 0;
  const rd_kafka_group_result_t** groups = rd_kafka_DeleteConsumerGroupOffsets_result_groups(
      rd_kafka_event_DeleteConsumerGroupOffsets_result(ev->get()), &n);
  for (size_t g = 0; g < n; ++g) {
    const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[g]);
    if (e && rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) continue;
    if (e) return FromKafka(e, "delete offsets of group " + group);
  }
  return Status::Ok();
}

}  // namespace eragon::channel::kafka
