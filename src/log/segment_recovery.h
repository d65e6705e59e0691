// Opening a segment file when a topic opens: header check, index load or rebuild, and
// the torn-tail repair of the last segment.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eragon/env.h"
#include "log/segment.h"

namespace eragon::log {

// Opens the segment at `path` of a topic with `partitions` partitions.
//
// *next holds, per partition, the offset the segment must start at (the previous
// segment's end; empty for the oldest segment, which then defines it); on return it is
// one past the segment's last record.
//
// Sealed segments (is_last false) load their index file, or are scanned when it is
// missing or stale; any bad record or unterminated batch in them is Code::kCorruption.
// The last segment is always scanned: a torn tail (a bad or partial record, or an
// unterminated batch, followed only by zeros or the end of the file) is cut off by
// zeroing it on disk and syncing; a bad record followed by a valid one is kCorruption
// naming the file and byte position. Returns nullptr (after removing the file) when the
// last segment's header was never completely written and nothing follows it.
Result<std::shared_ptr<Segment>> RecoverSegment(Env* env, const std::string& path,
                                                uint32_t partitions, bool is_last,
                                                std::vector<uint64_t>* next);

std::string IndexPathFor(const std::string& segment_path);  // "<segment>.idx"

}  // namespace eragon::log
