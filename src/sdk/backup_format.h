// The on-disk format of the file-backed event queue (the local event backup).
//
// Directory: LOCK (the process lock), <base>.seg segment files and <base>.ack ack files,
// where <base> is the seq of the segment's first record as 16 lower-case hex digits.
//
// Segment: records back to back from offset 0, then zeros (segments are preallocated):
//   [u32 length, little-endian, >= 1][u32 CRC32C of the 4 length bytes and the payload]
//   [payload]
// The records of a segment have consecutive seqs starting at <base>.
//
// Ack file: records back to back, each
//   [u32 CRC32C of the rest][u32 count n >= 1][n x u32 record index (seq - base)]
// naming records of <base>.seg the server acknowledged (or that failed for good). Ack files
// are written without fsync: losing a tail only replays acknowledged events, which the
// server's publish dedup absorbs.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace eragon::sdk {

inline constexpr size_t kRecordHeaderBytes = 8;

std::string SegmentFileName(uint64_t base);  // "000000000000002a.seg"
std::string AckFileName(uint64_t base);      // "000000000000002a.ack"
// The base of a segment (".seg") or ack (".ack") file name; nullopt for other names.
std::optional<uint64_t> ParseBackupFileName(std::string_view name, std::string_view suffix);

// Appends one framed record to *out. REQUIRES: 1 <= payload.size() < 2^32.
void AppendRecord(std::string* out, std::string_view payload);

struct SegmentScan {
  struct Record {
    uint64_t offset;  // of the payload
    uint32_t size;
  };
  std::vector<Record> records;  // the valid prefix
  uint64_t end = 0;             // the offset just past the last valid record
  bool tail_nonzero = false;    // some byte at or after `end` is not zero (a torn tail)
  // When a CRC-valid record starts after a bad one: its offset (the segment is corrupt in
  // the middle, not torn at the end).
  std::optional<uint64_t> valid_after_bad;
};

// Reads the records of a segment's bytes. Never fails: the caller decides whether a bad
// tail is a torn write to cut (last segment) or corruption (sealed segment).
SegmentScan ScanSegment(std::string_view data);

// Appends one ack record for `indexes` to *out. REQUIRES: !indexes.empty().
void AppendAckRecord(std::string* out, std::span<const uint32_t> indexes);

struct AckScan {
  std::vector<uint32_t> indexes;
  uint64_t valid_bytes = 0;  // length of the valid prefix (the rest is a torn tail)
};
AckScan ScanAcks(std::string_view data);

}  // namespace eragon::sdk
