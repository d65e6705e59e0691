// Helpers shared by the log tests: a MemEnv-backed log with small segments.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/mem_env.h"
#include "log/log.h"

namespace eragon::log::testing {

inline constexpr char kDir[] = "/data";

struct LogFixture {
  std::unique_ptr<MemEnv> env = NewMemEnv();
  ManualClock clock;
  LogOptions options;
  std::unique_ptr<LogManager> log;

  LogFixture() {
    options.env = env.get();
    options.clock = &clock;
    options.segment_bytes = 16 << 10;
    options.retention_ms = 0;
  }
  Status Open() {
    auto r = channel::OpenEmbeddedChannel(kDir, options);
    if (!r.ok()) return r.status();
    log = std::move(r).value();
    return Status::Ok();
  }
  void Reopen() {
    if (log) {
      EXPECT_TRUE(log->Close().ok());
    }
    log.reset();
    ASSERT_TRUE(Open().ok());
  }
  // Simulates a power loss: close everything without syncing more, drop unsynced data.
  void Crash() {
    env->DropUnsyncedData();  // before Close, whose final sync would save everything
    log.reset();
    env->DropUnsyncedData();
  }
  TopicLog* Topic(const std::string& name = "t", uint32_t partitions = 1) {
    auto r = log->OpenTopic(name, TopicOptions{partitions});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : nullptr;
  }
  std::string SegmentPath(const std::string& topic, uint64_t seq) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%020llu.seg", static_cast<unsigned long long>(seq));
    return std::string(kDir) + "/topics/" + topic + "/" + buf;
  }
};

inline Result<std::vector<RecordPosition>> AppendOne(TopicLog* t, const std::string& payload,
                                                     const std::string& key = "k", int64_t ts = 0) {
  AppendRecord r{key, payload, ts};
  return t->Append(std::span<const AppendRecord>(&r, 1));
}

inline std::vector<std::string> ReadAll(TopicLog* t, uint32_t partition, uint64_t from = 0) {
  std::vector<std::string> out;
  for (;;) {
    auto r = t->Read(partition, from, 1000, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->empty()) return out;
    for (auto& rec : *r) out.push_back(rec.payload);
    from = r->back().offset + 1;
  }
}

inline std::string Payload(int i, size_t size = 100) {
  std::string s = "record-" + std::to_string(i) + "-";
  s.resize(size, static_cast<char>('a' + i % 26));
  return s;
}

}  // namespace eragon::log::testing
