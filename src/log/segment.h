// Segment: one file of a topic's log (records of all partitions interleaved) and its
// in-memory sparse index per partition.
//
// Thread safety: the topic's writer thread is the only one that calls AddToIndex and
// set_data_end; any thread may read. Records below data_end() are complete on disk (or
// in the page cache); readers additionally bound themselves by the durable watermark.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "eragon/env.h"
#include "log/format.h"
#include "log/log.h"

namespace eragon::log {

// Sparse index of one partition within one segment. An entry is added for the first
// record and then whenever the record lies at least `stride` file bytes after the
// previous entry, so memory is O(segment bytes / stride) per partition.
struct IndexEntry {
  uint64_t offset = 0;
  uint64_t pos = 0;    // file position of the record
  int64_t max_ts = 0;  // max timestamp of this partition's records up to this one
};
struct PartitionIndex {
  bool any = false;
  uint64_t first = 0;  // first offset in this segment
  uint64_t next = 0;   // one past the last offset in this segment
  int64_t max_ts = INT64_MIN;
  std::vector<IndexEntry> entries;
};

class Segment {
 public:
  Segment(std::string path, SegmentHeader header, uint64_t file_bytes,
          std::unique_ptr<ReadableFile> file);

  const std::string& path() const { return path_; }
  uint64_t seq() const { return header_.seq; }
  uint32_t partitions() const { return static_cast<uint32_t>(header_.base.size()); }
  // Next offset of the partition when this segment was created.
  uint64_t base(uint32_t p) const { return header_.base[p]; }
  const SegmentHeader& header() const { return header_; }
  uint64_t file_bytes() const { return file_bytes_.load(); }
  void set_file_bytes(uint64_t n) { file_bytes_.store(n); }
  // End of the last complete record written.
  uint64_t data_end() const { return data_end_.load(std::memory_order_acquire); }
  void set_data_end(uint64_t pos) { data_end_.store(pos, std::memory_order_release); }

  void AddToIndex(uint32_t p, uint64_t offset, int64_t ts, uint64_t pos);
  PartitionIndex Info(uint32_t p) const;  // without entries
  // Newest record timestamp of the segment (INT64_MIN when empty).
  int64_t max_ts() const;

  // Appends to *out the records of partition p with offsets in [from, end), stopping
  // after max_records or once *budget bytes of payload are used (always at least one
  // record when out is empty). Fails with kCorruption on a bad record.
  Status Read(uint32_t p, uint64_t from, uint64_t end, size_t max_records, size_t* budget,
              std::vector<LogRecord>* out) const;
  // Offset of the first record of p with timestamp >= ts, if this segment has one.
  Result<std::optional<uint64_t>> FindTime(uint32_t p, int64_t ts) const;

  // The index file written when the segment is sealed; LoadIndex rejects a file that does
  // not match this segment (then the caller rebuilds the index by scanning).
  std::string EncodeIndex() const;
  bool LoadIndex(std::string_view data);

 private:
  using Visitor = std::function<bool(const RecordHeader&, uint64_t pos, std::string_view)>;
  using Filter = std::function<bool(const RecordHeader&)>;
  // Calls visit for each record from file position `pos` up to data_end() that `wanted`
  // accepts (every record without a filter), verifying its CRC, until visit returns
  // false. Records the filter turns down are stepped over by their header alone: the
  // partitions of a topic share its segments, so a read of one partition would otherwise
  // CRC-check every other partition's records in between.
  Status Scan(uint64_t pos, const Visitor& visit, const Filter& wanted = nullptr) const;
  uint64_t LookupPos(uint32_t p, uint64_t offset) const;

  const std::string path_;
  const SegmentHeader header_;
  const uint64_t stride_;
  std::atomic<uint64_t> file_bytes_;
  std::atomic<uint64_t> data_end_{0};
  std::unique_ptr<ReadableFile> file_;
  mutable std::mutex mu_;  // guards index_, max_ts_
  std::vector<PartitionIndex> index_;
  int64_t max_ts_ = INT64_MIN;
};

std::string SegmentFileName(uint64_t seq);  // "00000000000000000001.seg"
// The sequence number of a segment file name, or nullopt when it is not one.
std::optional<uint64_t> ParseSegmentFileName(const std::string& name);

}  // namespace eragon::log
