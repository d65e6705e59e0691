// On-disk formats of the log: segment header, record framing, sealed-segment index.
// All integers little-endian. See README.md for the layout diagrams.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/status.h"

namespace eragon::log {

inline constexpr char kSegmentMagic[8] = {'E', 'R', 'A', 'G', 'O', 'N', 'S', 'G'};
inline constexpr char kIndexMagic[8] = {'E', 'R', 'A', 'G', 'O', 'N', 'I', 'X'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kMaxPartitions = 1024;
inline constexpr uint32_t kMaxPayload = 16u << 20;

// Record: [crc32c u32][len u32][partition u32][offset u64][timestamp i64][flags u8][payload]
// crc covers everything after itself. A header of all zero bytes marks the end of data
// (preallocated space is zero-filled; no valid record encodes to zeros).
inline constexpr size_t kRecordHeaderSize = 29;
inline constexpr uint8_t kFlagBatchEnd = 1;  // last record of an AppendAsync batch

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t len = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  uint8_t flags = 0;
};

// Appends one encoded record to *out.
void EncodeRecord(uint32_t partition, uint64_t offset, int64_t timestamp_ms, uint8_t flags,
                  std::string_view payload, std::string* out);
RecordHeader DecodeRecordHeader(const char* p);  // REQUIRES: kRecordHeaderSize bytes
bool IsZero(const char* p, size_t n);

enum class ParseResult {
  kOk,     // a complete record with a good CRC
  kEnd,    // an all-zero header: end of data
  kShort,  // the buffer ends inside the record
  kBad,    // impossible header or CRC mismatch
};
// Parses the record at buf[pos]. `partitions` bounds the partition field. Without
// `check_crc` only the header's structure is checked (kOk: a plausible header and the
// whole record in buf): enough to step over a record nobody reads.
ParseResult ParseRecord(std::string_view buf, size_t pos, uint32_t partitions, RecordHeader* h,
                        bool check_crc = true);
// Whether the CRC of the (complete) record at buf[pos] with header h matches.
bool RecordCrcMatches(std::string_view buf, size_t pos, const RecordHeader& h);

// Segment header: magic, version, header size, segment sequence number, creation time,
// partition count, then per partition the next offset at creation (the base), then a
// crc32c of everything before it. Records start at header size.
struct SegmentHeader {
  uint64_t seq = 0;
  int64_t created_ms = 0;
  std::vector<uint64_t> base;  // one per partition
};
size_t SegmentHeaderSize(uint32_t partitions);
std::string EncodeSegmentHeader(const SegmentHeader& h);
// Fails with kCorruption (naming `file`) on a bad magic, version or CRC.
Result<SegmentHeader> DecodeSegmentHeader(std::string_view buf, const std::string& file);

// Little-endian helpers for the encoders.
void PutU32(std::string* out, uint32_t v);
void PutU64(std::string* out, uint64_t v);
uint32_t GetU32(const char* p);
uint64_t GetU64(const char* p);

}  // namespace eragon::log
