#include "channel/kafka/kafka_group_member.h"

#include <cstdio>
#include <cstring>
#include <utility>

#include "core/thread_name.h"

namespace eragon::channel::kafka {

namespace {

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

constexpr int kPollMs = 100;
// How often librdkafka commits the positions handed to it (and at every revoke). A kill -9
// redelivers at most about this much more.
constexpr const char* kCommitEveryMs = "1000";

// Positions (partition -> next offset) of `topic` as a list for librdkafka.
PartitionList ToList(const std::string& topic, const std::map<uint32_t, uint64_t>& positions) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
  for (const auto& [p, offset] : positions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), static_cast<int32_t>(p))->offset =
        static_cast<int64_t>(offset);
  }
  return list;
}

bool Cooperative(rd_kafka_t* rk) {
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  return protocol != nullptr && std::strcmp(protocol, "COOPERATIVE") == 0;
}

}  // namespace

KafkaGroupMember::KafkaGroupMember(const KafkaOptions& options, const std::string& topic,
                                   const std::string& kafka_topic, const std::string& consumer,
                                   PartitionOwner* owner)
    : topic_(topic),
      kafka_topic_(kafka_topic),
      consumer_(consumer),
      owner_(owner),
      timeout_ms_(options.request_timeout_ms) {}

Result<std::unique_ptr<GroupMember>> KafkaGroupMember::Join(const KafkaOptions& options,
                                                            const std::string& topic,
                                                            const std::string& kafka_topic,
                                                            const std::string& consumer,
                                                            PartitionOwner* owner) {
  std::unique_ptr<KafkaGroupMember> m(
      new KafkaGroupMember(options, topic, kafka_topic, consumer, owner));
  ERAGON_ASSIGN_OR_RETURN(Conf conf,
                          MakeConf(options,
                                   {{"session.timeout.ms", "6000"},
                                    {"heartbeat.interval.ms", "2000"},
                                    {"max.poll.interval.ms", "30000"},
                                    {"queued.max.messages.kbytes", "1024"},
                                    {"log.connection.close", "false"}},
                                   // Membership and commits only: nothing consumed is stored, the
                                   // positions we store are committed by librdkafka's timer in the
                                   // steady state only, and the assignor moves only what must move.
                                   {{"group.id", options.topic_prefix + consumer},
                                    {"enable.auto.commit", "true"},
                                    {"auto.commit.interval.ms", kCommitEveryMs},
                                    {"enable.auto.offset.store", "false"},
                                    {"partition.assignment.strategy", "cooperative-sticky"}}));
  rd_kafka_conf_set_rebalance_cb(
      conf.get(), [](rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                     void* me) { static_cast<KafkaGroupMember*>(me)->OnRebalance(err, parts); });
  rd_kafka_conf_set_opaque(conf.get(), m.get());
  ERAGON_ASSIGN_OR_RETURN(m->rk_, NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
  rd_kafka_poll_set_consumer(m->rk_.get());
  PartitionList sub(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(sub.get(), kafka_topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(m->rk_.get(), sub.get())) {
    return FromKafka(err, "subscribe group " + options.topic_prefix + consumer);
  }
  KafkaGroupMember* raw = m.get();
  m->thread_ = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<GroupMember>(std::move(m));
}

KafkaGroupMember::~KafkaGroupMember() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void KafkaGroupMember::Run() {
  SetThreadName("kafka-member");
  while (!stop_.load()) {
    // Paused partitions hand over nothing; a record fetched before the pause took effect
    // is dropped (the topic's reader delivers it).
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), kPollMs)) {
      rd_kafka_message_destroy(m);
    }
    StorePending();
  }
  StorePending();
  rd_kafka_consumer_close(rk_.get());  // revokes (OnRevoke commits), leaves the group
}

void KafkaGroupMember::OnRebalance(rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t* parts) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    OnAssign(parts);
  } else {
    OnRevoke(parts);
  }
}

std::vector<PartitionOwner::Assigned> KafkaGroupMember::Committed(
    const rd_kafka_topic_partition_list_t* parts) {
  PartitionList list(rd_kafka_topic_partition_list_copy(parts));
  Status st = RetryTransient(timeout_ms_, [&] {
    return FromKafka(rd_kafka_committed(rk_.get(), list.get(), timeout_ms_), "committed offsets");
  });
  std::vector<PartitionOwner::Assigned> out;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& e = list->elems[i];
    PartitionOwner::Assigned a;
    a.partition = static_cast<uint32_t>(e.partition);
    // Unknown (the brokers did not answer in time): the route's start applies, which
    // delivers again rather than skips.
    if (st.ok() && e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0) {
      a.committed = static_cast<uint64_t>(e.offset);
    }
    out.push_back(a);
  }
  return out;
}

void KafkaGroupMember::OnAssign(rd_kafka_topic_partition_list_t* parts) {
  if (Cooperative(rk_.get())) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_.get(), parts)) {
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk_.get(), parts);
  }
  rd_kafka_pause_partitions(rk_.get(), parts);
  if (parts->cnt == 0) return;
  std::vector<PartitionOwner::Assigned> assigned = Committed(parts);
  {
    std::lock_guard lock(mu_);
    for (const PartitionOwner::Assigned& a : assigned) owned_.insert(a.partition);
  }
  for (const PartitionOwner::Assigned& a : assigned) {
    if (a.committed) last_stored_[a.partition] = *a.committed;
  }
  std::vector<PositionStore::Entry> fresh = owner_->Assign(assigned);
  std::map<uint32_t, uint64_t> positions;
  for (const PositionStore::Entry& e : fresh) positions[e.partition] = e.offset;
  if (!positions.empty()) CommitNow(positions).ok();
}

void KafkaGroupMember::OnRevoke(rd_kafka_topic_partition_list_t* parts) {
  const bool lost = rd_kafka_assignment_lost(rk_.get()) != 0;
  std::vector<uint32_t> revoked;
  std::map<uint32_t, uint64_t> positions;
  {
    std::lock_guard lock(mu_);
    for (int i = 0; i < parts->cnt; ++i) {
      const auto p = static_cast<uint32_t>(parts->elems[i].partition);
      revoked.push_back(p);
      owned_.erase(p);
      last_stored_.erase(p);
      if (auto it = pending_.find(p); it != pending_.end()) {
        positions[p] = it->second;
        pending_.erase(it);
      }
    }
  }
  if (!revoked.empty()) {
    for (const PositionStore::Entry& e : owner_->Revoke(revoked, lost)) {
      positions[e.partition] = e.offset;
    }
  }
  // Before the partitions are given up: the next owner starts from these positions. Stored
  // too, as the unassign below commits the stored position of each partition it removes
  // (an older one would overwrite this commit).
  if (!lost && !positions.empty()) {
    Store(positions);
    if (Status st = CommitNow(positions); !st.ok()) {
      std::fprintf(stderr, "eragond: group %s: positions not committed at revoke: %s\n",
                   consumer_.c_str(), st.ToString().c_str());
    }
  }
  if (Cooperative(rk_.get())) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_.get(), parts)) {
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk_.get(), nullptr);
  }
}

Status KafkaGroupMember::CommitNow(const std::map<uint32_t, uint64_t>& positions) {
  PartitionList list = ToList(kafka_topic_, positions);
  return FromKafka(rd_kafka_commit(rk_.get(), list.get(), /*async=*/0),
                   "commit group " + consumer_);
}

void KafkaGroupMember::Commit(std::span<const PositionStore::Entry> entries) {
  std::lock_guard lock(mu_);
  for (const PositionStore::Entry& e : entries) {
    if (e.topic == topic_ && e.consumer == consumer_ && owned_.count(e.partition)) {
      pending_[e.partition] = e.offset;
    }
  }
}

void KafkaGroupMember::Store(const std::map<uint32_t, uint64_t>& positions) {
  PartitionList list = ToList(kafka_topic_, positions);
  // A partition no longer assigned is refused (__STATE): its revoke committed it.
  rd_kafka_offsets_store(rk_.get(), list.get());
}

// On the member's thread, between polls (never during a rebalance callback): a stored
// position stays stored until librdkafka's timer commits it, so a refused commit is tried
// again at its next tick.
void KafkaGroupMember::StorePending() {
  std::map<uint32_t, uint64_t> batch;
  {
    std::lock_guard lock(mu_);
    if (pending_.empty()) return;
    batch.swap(pending_);
  }
  Store(batch);
  // librdkafka's timer commits a stored position only when it is past the committed one:
  // one that moved back (a replay, a seek to an earlier time) is committed here, at once.
  // Refused mid-rebalance, the revoke commits the stored position instead.
  std::map<uint32_t, uint64_t> back;
  for (const auto& [p, offset] : batch) {
    auto it = last_stored_.find(p);
    if (it == last_stored_.end() || offset < it->second) back[p] = offset;
    last_stored_[p] = offset;
  }
  if (!back.empty()) rd_kafka_commit(rk_.get(), ToList(kafka_topic_, back).get(), /*async=*/1);
}

}  // namespace eragon::channel::kafka
