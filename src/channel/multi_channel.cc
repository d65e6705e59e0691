#include "channel/multi_channel.h"

#include <map>

namespace eragon::channel {

// Each entry goes to the position store of the channel that holds its topic; topics no
// channel has open go to the embedded store (where embedded positions outlive restarts
// before their topic is reopened).
class MultiChannel::Positions final : public PositionStore {
 public:
  explicit Positions(MultiChannel* owner) : owner_(owner) {}

  Status Commit(std::span<const Entry> entries) override {
    std::map<PositionStore*, std::vector<Entry>> by_store;
    for (const Entry& e : entries) by_store[StoreOf(e.topic)].push_back(e);
    for (auto& [store, list] : by_store) ERAGON_RETURN_IF_ERROR(store->Commit(list));
    return Status::Ok();
  }
  std::optional<uint64_t> Get(std::string_view topic, std::string_view consumer,
                              uint32_t partition) const override {
    return StoreOf(topic)->Get(topic, consumer, partition);
  }
  std::vector<Entry> List() const override {
    std::vector<Entry> out = owner_->embedded_->positions()->List();
    if (owner_->kafka_) {
      std::vector<Entry> k = owner_->kafka_->positions()->List();
      out.insert(out.end(), k.begin(), k.end());
    }
    return out;
  }
  Status Remove(std::string_view topic, std::string_view consumer) override {
    return StoreOf(topic)->Remove(topic, consumer);
  }

 private:
  PositionStore* StoreOf(std::string_view topic) const {
    Channel* k = owner_->kafka_.get();
    if (k != nullptr && k->FindTopic(topic) != nullptr) return k->positions();
    return owner_->embedded_->positions();
  }
  MultiChannel* owner_;
};

MultiChannel::MultiChannel(std::unique_ptr<Channel> embedded, std::unique_ptr<Channel> kafka)
    : embedded_(std::move(embedded)),
      kafka_(std::move(kafka)),
      positions_(std::make_unique<Positions>(this)) {}

MultiChannel::~MultiChannel() { Close().ok(); }

PositionStore* MultiChannel::positions() { return positions_.get(); }

std::string_view MultiChannel::kind() const { return kafka_ ? "embedded+kafka" : "embedded"; }

Channel* MultiChannel::ChannelOf(std::string_view topic) {
  if (embedded_->FindTopic(topic) != nullptr) return embedded_.get();
  if (kafka_ && kafka_->FindTopic(topic) != nullptr) return kafka_.get();
  return nullptr;
}

Result<Topic*> MultiChannel::OpenTopic(const std::string& name, TopicProperties properties) {
  const bool want_kafka = properties.channel == "kafka";
  if (want_kafka && !kafka_) {
    return Status::InvalidArgument(
        "channel: kafka is not configured (start eragond with "
        "--kafka-brokers)");
  }
  Channel* target = want_kafka ? kafka_.get() : embedded_.get();
  Channel* other = want_kafka ? embedded_.get() : kafka_.get();
  if (other != nullptr && other->FindTopic(name) != nullptr) {
    return Status::Conflict("topic '" + name + "' already exists on channel " +
                            std::string(other->kind()));
  }
  return target->OpenTopic(name, properties);
}

Result<std::unique_ptr<GroupMember>> MultiChannel::JoinGroup(const std::string& topic,
                                                             const std::string& consumer,
                                                             PartitionOwner* owner) {
  Channel* c = ChannelOf(topic);
  if (c == nullptr) return std::unique_ptr<GroupMember>();
  return c->JoinGroup(topic, consumer, owner);
}

Topic* MultiChannel::FindTopic(std::string_view name) {
  if (Topic* t = embedded_->FindTopic(name)) return t;
  return kafka_ ? kafka_->FindTopic(name) : nullptr;
}

std::vector<std::string> MultiChannel::TopicNames() const {
  std::vector<std::string> out = embedded_->TopicNames();
  if (kafka_) {
    std::vector<std::string> k = kafka_->TopicNames();
    out.insert(out.end(), k.begin(), k.end());
  }
  return out;
}

Result<RetentionReport> MultiChannel::RunRetention() { return embedded_->RunRetention(); }

Result<DiskUsage> MultiChannel::GetDiskUsage() { return embedded_->GetDiskUsage(); }

Status MultiChannel::Close() {
  Status k = kafka_ ? kafka_->Close() : Status::Ok();
  Status e = embedded_->Close();
  return e.ok() ? k : e;
}

}  // namespace eragon::channel
