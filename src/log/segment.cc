#include "log/segment.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "core/crc32c.h"

namespace eragon::log {
namespace {

constexpr size_t kReadChunk = 64 << 10;

// ~4 KiB of file per index entry overall: partitions interleave, so each partition
// indexes every 4 KiB x partitions (capped at 1 MiB of scan per lookup).
uint64_t StrideFor(uint32_t partitions) {
  return std::min<uint64_t>(uint64_t{4096} * partitions, 1 << 20);
}

}  // namespace

Segment::Segment(std::string path, SegmentHeader header, uint64_t file_bytes,
                 std::unique_ptr<ReadableFile> file)
    : path_(std::move(path)),
      header_(std::move(header)),
      stride_(StrideFor(static_cast<uint32_t>(header_.base.size()))),
      file_bytes_(file_bytes),
      file_(std::move(file)),
      index_(header_.base.size()) {
  data_end_.store(SegmentHeaderSize(partitions()));
}

void Segment::AddToIndex(uint32_t p, uint64_t offset, int64_t ts, uint64_t pos) {
  std::lock_guard<std::mutex> l(mu_);
  PartitionIndex& ix = index_[p];
  if (!ix.any) {
    ix.any = true;
    ix.first = offset;
  }
  ix.next = offset + 1;
  ix.max_ts = std::max(ix.max_ts, ts);
  max_ts_ = std::max(max_ts_, ts);
  if (ix.entries.empty() || pos - ix.entries.back().pos >= stride_) {
    ix.entries.push_back({offset, pos, ix.max_ts});
  }
}

PartitionIndex Segment::Info(uint32_t p) const {
  std::lock_guard<std::mutex> l(mu_);
  const PartitionIndex& ix = index_[p];
  return PartitionIndex{ix.any, ix.first, ix.next, ix.max_ts, {}};
}

int64_t Segment::max_ts() const {
  std::lock_guard<std::mutex> l(mu_);
  return max_ts_;
}

uint64_t Segment::LookupPos(uint32_t p, uint64_t offset) const {
  std::lock_guard<std::mutex> l(mu_);
  const auto& e = index_[p].entries;
  auto it = std::upper_bound(e.begin(), e.end(), offset,
                             [](uint64_t o, const IndexEntry& x) { return o < x.offset; });
  if (it == e.begin()) return e.empty() ? SegmentHeaderSize(partitions()) : e.front().pos;
  return std::prev(it)->pos;
}

Status Segment::Scan(uint64_t pos, const Visitor& visit, const Filter& wanted) const {
  const uint64_t end = data_end();
  std::string buf;
  uint64_t buf_pos = pos;  // file position of buf[0]
  // Makes buf hold [pos, pos + n) (or up to data_end).
  auto cover = [&](size_t n) -> Status {
    if (pos >= buf_pos && pos + n <= buf_pos + buf.size()) return Status::Ok();
    size_t want = std::min<uint64_t>(std::max(n, kReadChunk), end - pos);
    buf.resize(want);
    ERAGON_ASSIGN_OR_RETURN(size_t got, file_->Read(pos, want, buf.data()));
    buf.resize(got);
    buf_pos = pos;
    return Status::Ok();
  };
  while (pos < end) {
    ERAGON_RETURN_IF_ERROR(cover(kRecordHeaderSize));
    if (pos - buf_pos + kRecordHeaderSize <= buf.size()) {
      uint32_t len = DecodeRecordHeader(buf.data() + (pos - buf_pos)).len;
      ERAGON_RETURN_IF_ERROR(cover(kRecordHeaderSize + std::min(len, kMaxPayload)));
    }
    RecordHeader h;
    const size_t at = pos - buf_pos;
    auto bad = [&] {
      return Status::Corruption("segment " + path_ + ": bad record at byte " + std::to_string(pos));
    };
    if (ParseRecord(buf, at, partitions(), &h, /*check_crc=*/false) != ParseResult::kOk) {
      return bad();
    }
    if (!wanted || wanted(h)) {
      if (!RecordCrcMatches(buf, at, h)) return bad();
      if (!visit(h, pos, std::string_view(buf.data() + at + kRecordHeaderSize, h.len))) break;
    }
    pos += kRecordHeaderSize + h.len;
  }
  return Status::Ok();
}

Status Segment::Read(uint32_t p, uint64_t from, uint64_t end, size_t max_records, size_t* budget,
                     std::vector<LogRecord>* out) const {
  auto wanted = [&](const RecordHeader& h) { return h.partition == p && h.offset >= from; };
  return Scan(
      LookupPos(p, from),
      [&](const RecordHeader& h, uint64_t, std::string_view data) {
        if (h.offset >= end || max_records == 0) return false;
        if (!out->empty() && data.size() > *budget) return false;
        out->push_back(LogRecord{p, h.offset, h.timestamp_ms, std::string(data), nullptr});
        *budget -= std::min(*budget, data.size());
        --max_records;
        // Stop here rather than parse (and CRC-check) a record the caller did not ask for.
        return max_records > 0 && *budget > 0 && h.offset + 1 < end;
      },
      wanted);
}

Result<std::optional<uint64_t>> Segment::FindTime(uint32_t p, int64_t ts) const {
  uint64_t start;
  {
    std::lock_guard<std::mutex> l(mu_);
    const auto& e = index_[p].entries;
    auto it = std::find_if(e.begin(), e.end(), [&](const IndexEntry& x) { return x.max_ts >= ts; });
    if (it == e.end() && index_[p].max_ts < ts) return std::optional<uint64_t>();
    start = (it == e.begin() || e.empty()) ? SegmentHeaderSize(partitions()) : std::prev(it)->pos;
  }
  std::optional<uint64_t> found;
  ERAGON_RETURN_IF_ERROR(Scan(
      start,
      [&](const RecordHeader& h, uint64_t, std::string_view) {
        found = h.offset;
        return false;
      },
      [&](const RecordHeader& h) { return h.partition == p && h.timestamp_ms >= ts; }));
  return found;
}

std::string Segment::EncodeIndex() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out(kIndexMagic, 8);
  PutU32(&out, kFormatVersion);
  PutU32(&out, partitions());
  PutU64(&out, header_.seq);
  PutU64(&out, data_end());
  PutU64(&out, static_cast<uint64_t>(max_ts_));
  for (const PartitionIndex& ix : index_) {
    PutU32(&out, ix.any ? 1 : 0);
    PutU64(&out, ix.first);
    PutU64(&out, ix.next);
    PutU64(&out, static_cast<uint64_t>(ix.max_ts));
    PutU32(&out, static_cast<uint32_t>(ix.entries.size()));
    for (const IndexEntry& e : ix.entries) {
      PutU64(&out, e.offset);
      PutU64(&out, e.pos);
      PutU64(&out, static_cast<uint64_t>(e.max_ts));
    }
  }
  PutU32(&out, crc32c::Value(out));
  return out;
}

bool Segment::LoadIndex(std::string_view data) {
  if (data.size() < 44 || data.compare(0, 8, std::string_view(kIndexMagic, 8)) != 0) return false;
  if (crc32c::Value(data.data(), data.size() - 4) != GetU32(data.data() + data.size() - 4)) {
    return false;
  }
  const char* p = data.data() + 8;
  const char* limit = data.data() + data.size() - 4;
  if (GetU32(p) != kFormatVersion || GetU32(p + 4) != partitions() || GetU64(p + 8) != seq()) {
    return false;
  }
  const uint64_t end = GetU64(p + 16);
  if (end > file_bytes() || end < SegmentHeaderSize(partitions())) return false;
  std::vector<PartitionIndex> index(partitions());
  int64_t max_ts = static_cast<int64_t>(GetU64(p + 24));
  p += 32;
  for (PartitionIndex& ix : index) {
    if (limit - p < 32) return false;
    ix.any = GetU32(p) != 0;
    ix.first = GetU64(p + 4);
    ix.next = GetU64(p + 12);
    ix.max_ts = static_cast<int64_t>(GetU64(p + 20));
    uint32_t n = GetU32(p + 28);
    p += 32;
    if (static_cast<uint64_t>(limit - p) < uint64_t{n} * 24) return false;
    for (uint32_t i = 0; i < n; ++i, p += 24) {
      ix.entries.push_back({GetU64(p), GetU64(p + 8), static_cast<int64_t>(GetU64(p + 16))});
    }
  }
  if (p != limit) return false;
  std::lock_guard<std::mutex> l(mu_);
  index_ = std::move(index);
  max_ts_ = max_ts;
  set_data_end(end);
  return true;
}

std::string SegmentFileName(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64 ".seg", seq);
  return buf;
}

std::optional<uint64_t> ParseSegmentFileName(const std::string& name) {
  if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) return std::nullopt;
  uint64_t seq = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return seq;
}

}  // namespace eragon::log
