// LogManagerImpl: the embedded channel (channel::Channel) — the log directory, its lock,
// its topics and the position store.
//
// Layout: <dir>/LOCK, <dir>/positions, <dir>/topics/<name>/{meta, <seq>.seg, <seq>.seg.idx}
#include <map>
#include <mutex>

#include "log/format.h"
#include "log/position_store.h"
#include "log/topic_log.h"

namespace eragon::log {
namespace {

bool ValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

std::string EncodeMeta(uint32_t partitions) {
  return "eragon-topic 1\npartitions=" + std::to_string(partitions) + "\n";
}

Result<uint32_t> DecodeMeta(const std::string& text, const std::string& path) {
  const std::string prefix = "eragon-topic 1\npartitions=";
  if (text.compare(0, prefix.size(), prefix) != 0) {
    return Status::Corruption("topic metadata " + path + " is malformed");
  }
  uint32_t n = 0;
  for (size_t i = prefix.size(); i < text.size() && text[i] != '\n'; ++i) {
    if (text[i] < '0' || text[i] > '9' || n > kMaxPartitions) {
      return Status::Corruption("topic metadata " + path + " has a bad partition count");
    }
    n = n * 10 + static_cast<uint32_t>(text[i] - '0');
  }
  if (n == 0 || n > kMaxPartitions) {
    return Status::Corruption("topic metadata " + path + " has a bad partition count");
  }
  return n;
}

class LogManagerImpl final : public LogManager {
 public:
  LogManagerImpl(std::string dir, LogOptions options)
      : dir_(std::move(dir)), topics_dir_(dir_ + "/topics"), options_(options) {}
  ~LogManagerImpl() override { (void)Close(); }

  std::string_view kind() const override { return "embedded"; }

  Status Init() {
    Env* env = options_.env;
    ERAGON_RETURN_IF_ERROR(env->CreateDirs(topics_dir_));
    ERAGON_ASSIGN_OR_RETURN(lock_, env->LockFile(dir_ + "/LOCK"));
    ERAGON_ASSIGN_OR_RETURN(positions_, FilePositionStore::Open(env, dir_ + "/positions"));
    ERAGON_ASSIGN_OR_RETURN(auto names, env->ListDir(topics_dir_));
    for (const auto& name : names) {
      const std::string meta = topics_dir_ + "/" + name + "/meta";
      if (!env->Exists(meta)) continue;  // creation never completed: nothing in it
      ERAGON_ASSIGN_OR_RETURN(std::string text, ReadFileToString(env, meta));
      ERAGON_ASSIGN_OR_RETURN(uint32_t partitions, DecodeMeta(text, meta));
      ERAGON_ASSIGN_OR_RETURN(
          auto topic, TopicLogImpl::Open(name, topics_dir_ + "/" + name, partitions, options_));
      topics_[name] = std::move(topic);
    }
    return Status::Ok();
  }

  Result<TopicLog*> OpenTopic(const std::string& name, TopicOptions options) override {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::Unavailable("log is closed");
    auto it = topics_.find(name);
    if (it != topics_.end()) {
      if (it->second->partitions() != options.partitions) {
        return Status::Conflict("topic " + name + " exists with " +
                                std::to_string(it->second->partitions()) + " partitions, not " +
                                std::to_string(options.partitions));
      }
      return static_cast<TopicLog*>(it->second.get());
    }
    if (!ValidTopicName(name)) {
      return Status::InvalidArgument("topic name must be 1..249 of [A-Za-z0-9._-]: '" + name + "'");
    }
    if (options.partitions == 0 || options.partitions > kMaxPartitions) {
      return Status::InvalidArgument("partitions must be 1..1024");
    }
    Env* env = options_.env;
    const std::string dir = topics_dir_ + "/" + name;
    ERAGON_RETURN_IF_ERROR(env->CreateDirs(dir));
    ERAGON_RETURN_IF_ERROR(env->SyncDir(topics_dir_));
    ERAGON_RETURN_IF_ERROR(WriteFileAtomically(env, dir + "/meta", EncodeMeta(options.partitions)));
    ERAGON_ASSIGN_OR_RETURN(auto topic,
                            TopicLogImpl::Open(name, dir, options.partitions, options_));
    TopicLog* out = topic.get();
    topics_[name] = std::move(topic);
    return out;
  }

  TopicLog* FindTopic(std::string_view name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = topics_.find(std::string(name));
    return it == topics_.end() ? nullptr : it->second.get();
  }

  std::vector<std::string> TopicNames() const override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (const auto& [name, t] : topics_) out.push_back(name);
    return out;
  }

  PositionStore* positions() override { return positions_.get(); }

  Result<RetentionReport> RunRetention() override {
    RetentionReport report;
    const int64_t now = options_.clock->WallMs();
    const auto entries = positions_->List();
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [name, topic] : topics_) {
      topic->ApplyRetention(now, SlowestCommitted(entries, name, topic->partitions()), &report);
    }
    return report;
  }

  Result<DiskUsage> GetDiskUsage() override {
    DiskUsage usage;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [name, topic] : topics_) usage.log_bytes += topic->SizeBytes();
    }
    ERAGON_ASSIGN_OR_RETURN(DiskSpace space, options_.env->GetDiskSpace(dir_));
    usage.total_bytes = space.total_bytes;
    usage.free_bytes = space.free_bytes;
    return usage;
  }

  Status Close() override {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    Status first;
    for (auto& [name, topic] : topics_) {
      Status s = topic->Close();
      if (first.ok() && !s.ok()) first = s;
    }
    return first;
  }

 private:
  // Per partition, the smallest committed position of any consumer of the topic; a
  // consumer that committed some partitions but not p counts as position 0 for p.
  static std::vector<std::optional<uint64_t>> SlowestCommitted(
      const std::vector<PositionStore::Entry>& entries, const std::string& topic,
      uint32_t partitions) {
    std::map<std::string, std::vector<std::optional<uint64_t>>> by_consumer;
    for (const auto& e : entries) {
      if (e.topic != topic || e.partition >= partitions) continue;
      auto& v = by_consumer[e.consumer];
      v.resize(partitions);
      v[e.partition] = e.offset;
    }
    std::vector<std::optional<uint64_t>> slowest(partitions);
    for (const auto& [consumer, v] : by_consumer) {
      for (uint32_t p = 0; p < partitions; ++p) {
        uint64_t pos = v[p].value_or(0);
        if (!slowest[p] || pos < *slowest[p]) slowest[p] = pos;
      }
    }
    return slowest;
  }

  const std::string dir_;
  const std::string topics_dir_;
  const LogOptions options_;
  mutable std::mutex mu_;  // guards topics_, closed_; taken before any topic lock
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<FilePositionStore> positions_;
  std::map<std::string, std::unique_ptr<TopicLogImpl>> topics_;
  bool closed_ = false;
};

}  // namespace

}  // namespace eragon::log

namespace eragon::channel {

Result<std::unique_ptr<Channel>> OpenEmbeddedChannel(const std::string& dir,
                                                     EmbeddedOptions options) {
  if (options.segment_bytes < 4096) {
    return Status::InvalidArgument("segment_bytes must be at least 4096");
  }
  auto m = std::make_unique<log::LogManagerImpl>(dir, options);
  ERAGON_RETURN_IF_ERROR(m->Init());
  return std::unique_ptr<Channel>(std::move(m));
}

}  // namespace eragon::channel
