#include "sdk/backup_format.h"

#include <cstdio>
#include <cstring>

#include "core/crc32c.h"

namespace eragon::sdk {
namespace {

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 4);
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string FileName(uint64_t base, const char* suffix) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%s", static_cast<unsigned long long>(base), suffix);
  return buf;
}

// The payload size of a valid record at `pos`, or nullopt.
std::optional<uint32_t> ValidRecordAt(std::string_view data, uint64_t pos) {
  if (pos + kRecordHeaderBytes > data.size()) return std::nullopt;
  const uint32_t len = GetU32(data.data() + pos);
  if (len == 0 || len > data.size() - pos - kRecordHeaderBytes) return std::nullopt;
  uint32_t crc = crc32c::Value(data.data() + pos, 4);
  crc = crc32c::Extend(crc, data.data() + pos + kRecordHeaderBytes, len);
  if (crc != GetU32(data.data() + pos + 4)) return std::nullopt;
  return len;
}

}  // namespace

std::string SegmentFileName(uint64_t base) { return FileName(base, ".seg"); }
std::string AckFileName(uint64_t base) { return FileName(base, ".ack"); }

std::optional<uint64_t> ParseBackupFileName(std::string_view name, std::string_view suffix) {
  if (name.size() != 16 + suffix.size() || name.substr(16) != suffix) return std::nullopt;
  uint64_t v = 0;
  for (char c : name.substr(0, 16)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

void AppendRecord(std::string* out, std::string_view payload) {
  const size_t at = out->size();
  PutU32(out, static_cast<uint32_t>(payload.size()));
  uint32_t crc = crc32c::Value(out->data() + at, 4);
  crc = crc32c::Extend(crc, payload.data(), payload.size());
  PutU32(out, crc);
  out->append(payload);
}

SegmentScan ScanSegment(std::string_view data) {
  SegmentScan scan;
  uint64_t pos = 0;
  while (std::optional<uint32_t> len = ValidRecordAt(data, pos)) {
    scan.records.push_back({pos + kRecordHeaderBytes, *len});
    pos += kRecordHeaderBytes + *len;
  }
  scan.end = pos;
  for (uint64_t p = pos; p < data.size(); ++p) {
    if (data[p] != 0) {
      scan.tail_nonzero = true;
      break;
    }
  }
  if (!scan.tail_nonzero) return scan;
  // A torn write leaves garbage and zeros after the end, never a whole valid record.
  for (uint64_t p = pos + 1; p + kRecordHeaderBytes <= data.size(); ++p) {
    if (ValidRecordAt(data, p)) {
      scan.valid_after_bad = p;
      break;
    }
  }
  return scan;
}

void AppendAckRecord(std::string* out, std::span<const uint32_t> indexes) {
  std::string body;
  PutU32(&body, static_cast<uint32_t>(indexes.size()));
  for (uint32_t i : indexes) PutU32(&body, i);
  PutU32(out, crc32c::Value(body));
  out->append(body);
}

AckScan ScanAcks(std::string_view data) {
  AckScan scan;
  uint64_t pos = 0;
  while (pos + 8 <= data.size()) {
    const uint32_t n = GetU32(data.data() + pos + 4);
    if (n == 0 || n > (data.size() - pos - 8) / 4) break;
    const size_t body = 4 + size_t{n} * 4;
    if (crc32c::Value(data.data() + pos + 4, body) != GetU32(data.data() + pos)) break;
    for (uint32_t i = 0; i < n; ++i) scan.indexes.push_back(GetU32(data.data() + pos + 8 + 4 * i));
    pos += 4 + body;
  }
  scan.valid_bytes = pos;
  return scan;
}

}  // namespace eragon::sdk
