#include "log/format.h"

#include <bit>
#include <cstring>

#include "core/crc32c.h"

namespace eragon::log {

static_assert(std::endian::native == std::endian::little, "the log format assumes little-endian");

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void EncodeRecord(uint32_t partition, uint64_t offset, int64_t timestamp_ms, uint8_t flags,
                  std::string_view payload, std::string* out) {
  const size_t start = out->size();
  PutU32(out, 0);  // crc, filled below
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, partition);
  PutU64(out, offset);
  PutU64(out, static_cast<uint64_t>(timestamp_ms));
  out->push_back(static_cast<char>(flags));
  out->append(payload);
  uint32_t crc = crc32c::Value(out->data() + start + 4, out->size() - start - 4);
  std::memcpy(out->data() + start, &crc, 4);
}

RecordHeader DecodeRecordHeader(const char* p) {
  RecordHeader h;
  h.crc = GetU32(p);
  h.len = GetU32(p + 4);
  h.partition = GetU32(p + 8);
  h.offset = GetU64(p + 12);
  h.timestamp_ms = static_cast<int64_t>(GetU64(p + 20));
  h.flags = static_cast<uint8_t>(p[28]);
  return h;
}

bool IsZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

bool RecordCrcMatches(std::string_view buf, size_t pos, const RecordHeader& h) {
  return crc32c::Value(buf.data() + pos + 4, kRecordHeaderSize - 4 + h.len) == h.crc;
}

ParseResult ParseRecord(std::string_view buf, size_t pos, uint32_t partitions, RecordHeader* h,
                        bool check_crc) {
  if (pos + kRecordHeaderSize > buf.size()) {
    return IsZero(buf.data() + pos, buf.size() - pos) ? ParseResult::kEnd : ParseResult::kShort;
  }
  const char* p = buf.data() + pos;
  if (IsZero(p, kRecordHeaderSize)) return ParseResult::kEnd;
  *h = DecodeRecordHeader(p);
  if (h->len > kMaxPayload || h->partition >= partitions || (h->flags & ~kFlagBatchEnd)) {
    return ParseResult::kBad;
  }
  if (pos + kRecordHeaderSize + h->len > buf.size()) return ParseResult::kShort;
  if (!check_crc) return ParseResult::kOk;
  return RecordCrcMatches(buf, pos, *h) ? ParseResult::kOk : ParseResult::kBad;
}

size_t SegmentHeaderSize(uint32_t partitions) { return 40 + 8 * size_t{partitions} + 4; }

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out(kSegmentMagic, 8);
  PutU32(&out, kFormatVersion);
  PutU32(&out, static_cast<uint32_t>(SegmentHeaderSize(h.base.size())));
  PutU64(&out, h.seq);
  PutU64(&out, static_cast<uint64_t>(h.created_ms));
  PutU32(&out, static_cast<uint32_t>(h.base.size()));
  PutU32(&out, 0);
  for (uint64_t b : h.base) PutU64(&out, b);
  PutU32(&out, crc32c::Value(out));
  return out;
}

Result<SegmentHeader> DecodeSegmentHeader(std::string_view buf, const std::string& file) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("segment " + file + ": bad header at byte 0: " + why);
  };
  if (buf.size() < 44 || std::memcmp(buf.data(), kSegmentMagic, 8) != 0) return bad("magic");
  if (GetU32(buf.data() + 8) != kFormatVersion) {
    return bad("unsupported format version " + std::to_string(GetU32(buf.data() + 8)));
  }
  const uint32_t partitions = GetU32(buf.data() + 32);
  if (partitions == 0 || partitions > kMaxPartitions) return bad("partition count");
  const size_t size = SegmentHeaderSize(partitions);
  if (GetU32(buf.data() + 12) != size || buf.size() < size) return bad("size");
  if (crc32c::Value(buf.data(), size - 4) != GetU32(buf.data() + size - 4)) return bad("crc");
  SegmentHeader h;
  h.seq = GetU64(buf.data() + 16);
  h.created_ms = static_cast<int64_t>(GetU64(buf.data() + 24));
  for (uint32_t i = 0; i < partitions; ++i) h.base.push_back(GetU64(buf.data() + 40 + 8 * i));
  return h;
}

}  // namespace eragon::log
