// MultiChannel: the embedded channel and, when eragond runs with --kafka-brokers, the
// Kafka channel, as one Channel. Each topic lives in exactly one of them: OpenTopic puts
// it where TopicProperties::channel says (the producer route's `channel`), and every
// other call finds the topic where it is. Positions go to the store of the topic's
// channel.
#pragma once

#include <memory>
#include <string>

#include "channel/channel.h"

namespace eragon::channel {

class MultiChannel final : public Channel {
 public:
  // `kafka` may be null (no Kafka configured): OpenTopic with channel "kafka" is then
  // kInvalidArgument.
  MultiChannel(std::unique_ptr<Channel> embedded, std::unique_ptr<Channel> kafka);
  ~MultiChannel() override;

  // "embedded", or "embedded+kafka".
  std::string_view kind() const override;
  Result<Topic*> OpenTopic(const std::string& name, TopicProperties properties) override;
  Topic* FindTopic(std::string_view name) override;
  std::vector<std::string> TopicNames() const override;
  PositionStore* positions() override;
  // The group of the channel that holds `topic` (none when no channel has it open).
  Result<std::unique_ptr<GroupMember>> JoinGroup(const std::string& topic,
                                                 const std::string& consumer,
                                                 PartitionOwner* owner) override;
  Result<RetentionReport> RunRetention() override;
  Result<DiskUsage> GetDiskUsage() override;  // the embedded channel's disk
  Status Close() override;

  Channel* embedded() { return embedded_.get(); }
  Channel* kafka() { return kafka_.get(); }  // null without Kafka
  // The channel that holds `topic` (null when no channel has it open).
  Channel* ChannelOf(std::string_view topic);

 private:
  class Positions;
  std::unique_ptr<Channel> embedded_;
  std::unique_ptr<Channel> kafka_;
  std::unique_ptr<Positions> positions_;
};

}  // namespace eragon::channel
