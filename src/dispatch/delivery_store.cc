// The store-neutral parts of delivery_store.h: state names and bytes, and the batch.
// DeliveryBatch: changes appended to one buffer as <kind> <consumer> <scope> <key> and then
// the kind's fixed fields; strings are a 4-byte length and the bytes (little-endian).
#include "dispatch/delivery_store.h"

#include "core/byte_order.h"
#include "core/event_codec.h"

namespace eragon::dispatch {
namespace {

void PutView(std::string* out, std::string_view s) {
  PutLe(out, s.size(), 4);
  out->append(s);
}

// Reads what Begin and the Put* methods appended; the buffer is the batch's own, so a
// short read is a bug, not corruption.
class Reader {
 public:
  Reader(std::string_view buf, size_t pos) : buf_(buf), pos_(pos) {}
  uint64_t Fixed(int bytes) {
    uint64_t v = GetLe(buf_.data() + pos_, bytes);
    pos_ += bytes;
    return v;
  }
  std::string_view View() {
    const size_t n = Fixed(4);
    std::string_view s = buf_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view buf_;
  size_t pos_;
};

void PutString(std::string* out, std::string_view s) {
  PutLe(out, s.size(), 4);
  out->append(s);
}
bool GetString(std::string_view* in, std::string* out) {
  if (in->size() < 4) return false;
  size_t n = GetLe(in->data(), 4);
  if (in->size() < 4 + n) return false;
  out->assign(in->substr(4, n));
  in->remove_prefix(4 + n);
  return true;
}

}  // namespace

std::string_view StateName(DeliveryStateKind k) {
  switch (k) {
    case DeliveryStateKind::kPending:
      return "pending";
    case DeliveryStateKind::kInFlight:
      return "in_flight";
    case DeliveryStateKind::kRetrying:
      return "retrying";
    case DeliveryStateKind::kDelivered:
      return "delivered";
    case DeliveryStateKind::kDead:
      return "dead";
    case DeliveryStateKind::kSkippedDuplicate:
      return "skipped_duplicate";
    case DeliveryStateKind::kExpired:
      return "expired";
    case DeliveryStateKind::kFiltered:
      return "filtered";
  }
  return "pending";
}

void AppendDeliveryState(const DeliveryState& s, std::string* out) {
  out->push_back(static_cast<char>(s.state));
  PutLe(out, s.attempts, 4);
  PutLe(out, static_cast<uint32_t>(s.last_status), 4);
  PutLe(out, static_cast<uint64_t>(s.next_attempt_at), 8);
  PutLe(out, static_cast<uint64_t>(s.delivered_at), 8);
  out->append(s.last_error);
}

std::optional<DeliveryState> DecodeDeliveryState(std::string_view v) {
  if (v.size() < 25) return std::nullopt;
  DeliveryState s;
  s.state = static_cast<DeliveryStateKind>(v[0]);
  s.attempts = static_cast<uint32_t>(GetLe(v.data() + 1, 4));
  s.last_status = static_cast<int32_t>(GetLe(v.data() + 5, 4));
  s.next_attempt_at = static_cast<int64_t>(GetLe(v.data() + 9, 8));
  s.delivered_at = static_cast<int64_t>(GetLe(v.data() + 17, 8));
  s.last_error.assign(v.substr(25));
  return s;
}

void DeliveryBatch::Begin(DeliveryOp::Kind kind, std::string_view consumer, std::string_view scope,
                          std::string_view key) {
  buf_.push_back(static_cast<char>(kind));
  PutView(&buf_, consumer);
  PutView(&buf_, scope);
  PutView(&buf_, key);
  ++count_;
}

void DeliveryBatch::PutState(std::string_view consumer, std::string_view topic, uint32_t partition,
                             uint64_t offset, const DeliveryState& state) {
  Begin(DeliveryOp::Kind::kPutState, consumer, topic, {});
  PutLe(&buf_, partition, 4);
  PutLe(&buf_, offset, 8);
  size_t at;
  BeginSized(&at);
  AppendDeliveryState(state, &buf_);
  EndSized(at);
}

void DeliveryBatch::AddAttempt(std::string_view consumer, std::string_view topic,
                               uint32_t partition, uint64_t offset, const AttemptFields& attempt) {
  Begin(DeliveryOp::Kind::kAddAttempt, consumer, topic, {});
  PutLe(&buf_, partition, 4);
  PutLe(&buf_, offset, 8);
  size_t at;
  BeginSized(&at);
  AppendAttemptRecord(attempt, &buf_);
  EndSized(at);
}

void DeliveryBatch::AppendAttempts(const DeliveryBatch& attempts) {
  buf_.append(attempts.buf_);  // no dead letters in it: nothing indexes attempts.dead_
  count_ += attempts.count_;
}

void DeliveryBatch::BeginSized(size_t* at) {
  *at = buf_.size();
  buf_.append(4, '\0');  // the length, known once the value is appended
}

void DeliveryBatch::EndSized(size_t at) {
  const uint64_t n = buf_.size() - at - 4;
  for (int i = 0; i < 4; ++i) buf_[at + i] = static_cast<char>((n >> (8 * i)) & 0xff);
}

void DeliveryBatch::PutDead(std::string_view consumer, const DeadLetter& dead) {
  Begin(DeliveryOp::Kind::kPutDead, consumer, {}, {});
  PutLe(&buf_, dead_.size(), 4);
  dead_.push_back(dead);
}

void DeliveryBatch::RemoveDead(std::string_view key) {
  Begin(DeliveryOp::Kind::kRemoveDead, {}, {}, key);
}

void DeliveryBatch::ClaimDedup(std::string_view consumer, std::string_view event_type,
                               std::string_view key, int64_t now_ms, int64_t ttl_ms) {
  Begin(DeliveryOp::Kind::kClaimDedup, consumer, event_type, key);
  PutLe(&buf_, static_cast<uint64_t>(now_ms), 8);
  PutLe(&buf_, static_cast<uint64_t>(ttl_ms > 0 ? now_ms + ttl_ms : INT64_MAX), 8);
}

void DeliveryBatch::MarkRedrive(std::string_view consumer, std::string_view topic,
                                std::string_view dead_key, uint32_t partition) {
  Begin(DeliveryOp::Kind::kMarkRedrive, consumer, topic, dead_key);
  PutLe(&buf_, partition, 4);
}

void DeliveryBatch::UnmarkRedrive(std::string_view consumer, std::string_view topic,
                                  std::string_view dead_key) {
  Begin(DeliveryOp::Kind::kUnmarkRedrive, consumer, topic, dead_key);
}

void DeliveryBatch::Clear() {
  buf_.clear();
  dead_.clear();
  count_ = 0;
}

bool DeliveryBatch::Next(size_t* pos, DeliveryOp* op) const {
  if (*pos >= buf_.size()) return false;
  op->kind = static_cast<DeliveryOp::Kind>(buf_[*pos]);
  Reader r(buf_, *pos + 1);
  op->consumer = r.View();
  op->scope = r.View();
  op->key = r.View();
  switch (op->kind) {
    case DeliveryOp::Kind::kPutState:
    case DeliveryOp::Kind::kAddAttempt:
      op->partition = static_cast<uint32_t>(r.Fixed(4));
      op->offset = r.Fixed(8);
      op->state = r.View();
      break;
    case DeliveryOp::Kind::kPutDead:
      op->dead = &dead_[r.Fixed(4)];
      break;
    case DeliveryOp::Kind::kMarkRedrive:
      op->partition = static_cast<uint32_t>(r.Fixed(4));
      break;
    case DeliveryOp::Kind::kClaimDedup:
      op->claimed_at = static_cast<int64_t>(r.Fixed(8));
      op->expires_at = static_cast<int64_t>(r.Fixed(8));
      break;
    default:
      break;
  }
  *pos = r.pos();
  return true;
}

std::string EncodeDeadLetter(const DeadLetter& d) {
  std::string v;
  std::string record;
  EncodeEventRecord(d.event, &record);
  PutString(&v, record);
  PutString(&v, d.topic);
  PutLe(&v, d.partition, 4);
  PutLe(&v, d.offset, 8);
  PutLe(&v, d.attempts, 4);
  PutLe(&v, static_cast<uint32_t>(d.last_status), 4);
  PutLe(&v, static_cast<uint64_t>(d.dead_at), 8);
  PutString(&v, d.last_error);
  return v;
}

std::optional<DeadLetter> DecodeDeadLetter(std::string_view v) {
  DeadLetter d;
  std::string record;
  if (!GetString(&v, &record) || !GetString(&v, &d.topic) || v.size() < 28) return std::nullopt;
  Result<Event> e = DecodeEventRecord(record);
  if (!e.ok()) return std::nullopt;
  d.event = std::move(*e);
  d.partition = static_cast<uint32_t>(GetLe(v.data(), 4));
  d.offset = GetLe(v.data() + 4, 8);
  d.attempts = static_cast<uint32_t>(GetLe(v.data() + 12, 4));
  d.last_status = static_cast<int32_t>(GetLe(v.data() + 16, 4));
  d.dead_at = static_cast<int64_t>(GetLe(v.data() + 20, 8));
  v.remove_prefix(28);
  if (!GetString(&v, &d.last_error)) return std::nullopt;
  return d;
}

}  // namespace eragon::dispatch
