// The disk's raw write figures that eragon-log-bench and `eragon-bench sdk` set their
// results against: one loop of pwrite + fdatasync, so both programs measure "raw" alike.
#pragma once

#include <cstddef>
#include <string>

#include "eragon/status.h"

namespace eragon::bench {

// Writes `block`-byte blocks sequentially into a preallocated 1 GiB file in `dir` (wrapping
// to the start at the end), each followed by fdatasync, for `seconds`; returns the
// pwrite+fdatasync pairs per second. The file is removed afterwards. An error
// (Status::FromErrno) names the call, the file and errno.
Result<double> RawFsyncLoop(const std::string& dir, size_t block, double seconds);

// The disk's raw sequential write bandwidth: RawFsyncLoop with 1 MiB blocks, in MB/s
// (10^6 bytes).
Result<double> RawSequentialMbPerS(const std::string& dir, double seconds);

}  // namespace eragon::bench
