// The embedded channel: topics in the embedded durable log (src/log) — one log per topic,
// split into partitions, stored as preallocated segment files of CRC32C-checked records,
// with group commit — and positions in a file beside them.
//
// Durability under each fsync policy (see src/log/README.md for the file format):
//  - kAlways: an append's callback runs only after its bytes, and the directory entry
//    of any segment file it created, are fsynced. Readers see it from then on.
//  - kInterval: the callback runs after write(2); an fsync happens at least every
//    interval_ms; readers see a record only after the fsync that covered it.
//  - kNever: the callback runs after write(2); readers see it from then on.
//  - A failed write or fsync is never retried: the topic turns read-only and every later
//    append fails with Code::kReadOnly and a message naming the original cause.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "channel/channel.h"
#include "eragon/clock.h"
#include "eragon/env.h"
#include "eragon/status.h"

namespace eragon::channel {

enum class FsyncPolicy { kAlways, kInterval, kNever };

struct FsyncOptions {
  FsyncPolicy policy = FsyncPolicy::kAlways;
  int64_t interval_ms = 1000;  // only for kInterval
};
// Parses "always", "interval:<ms>" (ms >= 1) or "never".
Result<FsyncOptions> ParseFsyncOptions(std::string_view text);
std::string FsyncOptionsToString(const FsyncOptions& o);

struct EmbeddedOptions {
  Env* env = Env::Default();       // not owned; must outlive the channel
  Clock* clock = Clock::System();  // not owned
  FsyncOptions fsync;
  // Size each segment file is preallocated to; a segment rolls when the next write
  // would not fit. A batch never spans segments.
  uint64_t segment_bytes = 64ull << 20;
  // Retention per topic: segments whose newest record is older than this are deleted
  // (0 = keep forever) ...
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;
  // ... and the oldest segments are deleted while the topic is larger than this
  // (0 = no size limit).
  uint64_t retention_bytes = 0;
  // Bytes accepted but not yet written, per topic; appends beyond it fail at once with
  // Code::kResourceExhausted (the server answers 429) instead of queueing without bound.
  uint64_t max_pending_bytes = 64ull << 20;
  // Commit statistics (may be empty), e.g. for metrics: called after each group commit
  // with the seconds spent in write(2) and in fdatasync (< 0 when the commit did not
  // sync), and the bytes and records written. A sync on its own (kInterval's timer,
  // sealing a segment under kInterval/kNever, close) is reported with write_seconds,
  // bytes and records 0. Called on the committing thread (a topic's writer thread, or a
  // caller of the blocking Append, see Topic::Append), never concurrently for one
  // topic, but concurrently for different topics; it delays the next commit, so keep
  // it cheap and non-blocking.
  std::function<void(double write_seconds, double fsync_seconds, uint64_t bytes, size_t records)>
      on_commit;
};

// Opens (creating when absent) the embedded channel rooted at `dir`, recovering every
// topic: a torn tail is truncated; a bad record followed by valid data fails the open
// with Code::kCorruption naming the file and byte position. The directory is locked
// while the channel is open. Defined by the embedded log (library eragon_log, which a
// program using this links; nothing else of src/log needs to be named).
Result<std::unique_ptr<Channel>> OpenEmbeddedChannel(const std::string& dir,
                                                     EmbeddedOptions options);

}  // namespace eragon::channel
