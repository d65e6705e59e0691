#include "dispatch/attempt_record.h"

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

void AppendAttemptRecord(const AttemptRecord& r, std::string* out) {
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

std::string_view LastAttemptRecords(std::string_view run, size_t keep) {
  std::vector<size_t> starts;
  size_t pos = 0;
  for (size_t size = RecordSize(run); size > 0; size = RecordSize(run.substr(pos))) {
    starts.push_back(pos);
    pos += size;
    if (pos >= run.size()) break;
  }
  if (starts.size() <= keep) return run.substr(0, pos);
  return run.substr(starts[starts.size() - keep], pos - starts[starts.size() - keep]);
}

}  // namespace eragon::dispatch
