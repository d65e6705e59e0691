#include "dispatch/attempt_record.h"

#include <algorithm>
#include <array>

#include "core/byte_order.h"

namespace eragon::dispatch {
namespace {
constexpr size_t kFixed = 1 + 4 + 8 + 8 + 4;

// The length of the record starting the run (its length field included), or 0 when the
// run does not start with a whole record.
size_t RecordSize(std::string_view run) {
  if (run.size() < 4) return 0;
  const size_t n = GetLe(run.data(), 4);
  if (n < kFixed + 4 || run.size() - 4 < n) return 0;
  return 4 + n;
}

struct Entry {
  size_t pos = 0;   // in the run
  size_t size = 0;  // slot byte included
  uint8_t slot = 0;
  bool cut = false;
};

// The block's entries, up to the first malformed one.
std::vector<Entry> ParseBlock(std::string_view run) {
  std::vector<Entry> out;
  for (size_t pos = 0; run.size() - pos >= 5;) {
    Entry e;
    e.pos = pos;
    e.slot = static_cast<uint8_t>(run[pos]);
    e.cut = GetLe(run.data() + pos + 1, 4) == 0;
    const size_t record = e.cut ? 4 : RecordSize(run.substr(pos + 1));
    if (record == 0) break;
    e.size = 1 + record;
    out.push_back(e);
    pos += e.size;
  }
  return out;
}

// Marks the entries a trim keeps: walking back from the newest, a cut drops the older
// entries of lower slots, and each slot keeps its newest kAttemptsKept records.
std::vector<bool> Kept(const std::vector<Entry>& entries, bool keep_cuts) {
  std::vector<bool> keep(entries.size(), false);
  std::array<uint32_t, kAttemptBlock> count{};
  uint32_t floor = 0;  // slots below it were cut
  for (size_t i = entries.size(); i-- > 0;) {
    const Entry& e = entries[i];
    if (e.cut) {
      keep[i] = keep_cuts;
      floor = std::max<uint32_t>(floor, e.slot);
    } else if (e.slot >= floor && count[e.slot] < kAttemptsKept) {
      ++count[e.slot];
      keep[i] = true;
    }
  }
  return keep;
}
}  // namespace

std::string_view AttemptKindName(AttemptKind k) {
  switch (k) {
    case AttemptKind::kPush:
      return "push";
    case AttemptKind::kProbe:
      return "probe";
    case AttemptKind::kFetch:
      return "fetch";
    case AttemptKind::kAck:
      return "ack";
    case AttemptKind::kNack:
      return "nack";
    case AttemptKind::kTimeout:
      return "timeout";
  }
  return "push";
}

AttemptFields FieldsOf(const AttemptRecord& r) {
  return {r.kind, r.attempt, r.at, r.duration_ms, r.status, r.error, r.node};
}

void AppendAttemptRecord(const AttemptFields& r, std::string* out) {
  const size_t n = kFixed + 4 + r.error.size() + r.node.size();
  PutLe(out, n, 4);
  out->push_back(static_cast<char>(r.kind));
  PutLe(out, r.attempt, 4);
  PutLe(out, static_cast<uint64_t>(r.at), 8);
  PutLe(out, static_cast<uint64_t>(r.duration_ms), 8);
  PutLe(out, static_cast<uint32_t>(r.status), 4);
  PutLe(out, r.error.size(), 4);
  out->append(r.error);
  out->append(r.node);
}

std::vector<AttemptRecord> DecodeAttemptRecords(std::string_view run) {
  std::vector<AttemptRecord> out;
  for (size_t size = RecordSize(run); size > 0; size = RecordSize(run)) {
    std::string_view v = run.substr(4, size - 4);
    run.remove_prefix(size);
    const size_t error_len = GetLe(v.data() + kFixed, 4);
    if (v.size() < kFixed + 4 + error_len) break;
    AttemptRecord& r = out.emplace_back();
    r.kind = static_cast<AttemptKind>(v[0]);
    r.attempt = static_cast<uint32_t>(GetLe(v.data() + 1, 4));
    r.at = static_cast<int64_t>(GetLe(v.data() + 5, 8));
    r.duration_ms = static_cast<int64_t>(GetLe(v.data() + 13, 8));
    r.status = static_cast<int32_t>(GetLe(v.data() + 21, 4));
    r.error.assign(v.substr(kFixed + 4, error_len));
    r.node.assign(v.substr(kFixed + 4 + error_len));
  }
  return out;
}

void AppendAttemptEntry(uint64_t offset, std::string_view record, std::string* out) {
  out->push_back(static_cast<char>(offset % kAttemptBlock));
  out->append(record);
}

void AppendAttemptCut(uint64_t offset, std::string* out) {
  out->push_back(static_cast<char>(offset % kAttemptBlock));
  out->append(4, '\0');
}

void TrimAttemptBlock(std::string_view run, bool keep_cuts, std::string* out) {
  const std::vector<Entry> entries = ParseBlock(run);
  const std::vector<bool> keep = Kept(entries, keep_cuts);
  out->clear();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (keep[i]) out->append(run.substr(entries[i].pos, entries[i].size));
  }
}

std::vector<AttemptRecord> AttemptsInBlock(std::string_view run, uint64_t offset) {
  const std::vector<Entry> entries = ParseBlock(run);
  const std::vector<bool> keep = Kept(entries, false);
  std::vector<AttemptRecord> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (!keep[i] || e.cut || e.slot != offset % kAttemptBlock) continue;
    std::vector<AttemptRecord> one = DecodeAttemptRecords(run.substr(e.pos + 1, e.size - 1));
    for (AttemptRecord& r : one) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace eragon::dispatch
