// FilePositionStore: PositionStore kept in one append-only file of CRC'd records,
// group-committed (concurrent Commit calls share one write and one fsync), compacted on
// open and when it grows large, by rewriting it with WriteFileAtomically.
//
// Record: [crc32c u32][len u32][kind u8][topic len u16][topic][consumer len u16][consumer]
//         then for kind 1 (commit) [partition u32][offset u64]; kind 2 removes the
//         consumer's positions on the topic. crc covers everything after itself.
// A torn last record is dropped on open; a bad record followed by more data is
// Code::kCorruption. A failed write or fsync turns the store read-only, never retried.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "log/log.h"

namespace eragon::log {

class FilePositionStore final : public PositionStore {
 public:
  static Result<std::unique_ptr<FilePositionStore>> Open(Env* env, std::string path);

  Status Commit(std::span<const Entry> entries) override;
  std::optional<uint64_t> Get(std::string_view topic, std::string_view consumer,
                              uint32_t partition) const override;
  std::vector<Entry> List() const override;
  Status Remove(std::string_view topic, std::string_view consumer) override;

 private:
  using Key = std::tuple<std::string, std::string, uint32_t>;  // topic, consumer, partition
  struct Writer {
    std::string data;
    std::vector<Entry> commits;
    std::optional<std::pair<std::string, std::string>> remove;
    bool done = false;
    Status status;
  };

  FilePositionStore(Env* env, std::string path) : env_(env), path_(std::move(path)) {}
  Status Load();
  Status Rewrite();  // REQUIRES: mu_ held, no write in flight
  Status Submit(Writer* w);
  void Apply(const Writer& w);  // REQUIRES: mu_ held

  Env* const env_;
  const std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Writer*> writers_;  // front is the leader doing the I/O
  std::map<Key, uint64_t> positions_;
  std::unique_ptr<WritableFile> file_;
  uint64_t file_size_ = 0;
  Status health_;
};

}  // namespace eragon::log
