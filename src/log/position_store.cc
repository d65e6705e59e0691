#include "log/position_store.h"

#include <cstring>

#include "core/crc32c.h"
#include "log/format.h"

namespace eragon::log {
namespace {

constexpr uint8_t kCommit = 1;
constexpr uint8_t kRemove = 2;
constexpr uint64_t kCompactAtBytes = 1 << 20;

void PutString(std::string* out, std::string_view s) {
  uint16_t n = static_cast<uint16_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), 2);
  out->append(s);
}

void Frame(const std::string& body, std::string* out) {
  PutU32(out, 0);
  PutU32(out, static_cast<uint32_t>(body.size()));
  out->append(body);
  uint32_t crc = crc32c::Value(out->data() + out->size() - body.size() - 4, body.size() + 4);
  std::memcpy(out->data() + out->size() - body.size() - 8, &crc, 4);
}

void EncodeCommit(std::string_view topic, std::string_view consumer, uint32_t partition,
                  uint64_t offset, std::string* out) {
  std::string body(1, static_cast<char>(kCommit));
  PutString(&body, topic);
  PutString(&body, consumer);
  PutU32(&body, partition);
  PutU64(&body, offset);
  Frame(body, out);
}

void EncodeRemove(std::string_view topic, std::string_view consumer, std::string* out) {
  std::string body(1, static_cast<char>(kRemove));
  PutString(&body, topic);
  PutString(&body, consumer);
  Frame(body, out);
}

// Reads a u16-prefixed string from body at *pos.
bool GetString(std::string_view body, size_t* pos, std::string* s) {
  if (*pos + 2 > body.size()) return false;
  uint16_t n;
  std::memcpy(&n, body.data() + *pos, 2);
  if (*pos + 2 + n > body.size()) return false;
  s->assign(body.substr(*pos + 2, n));
  *pos += 2 + n;
  return true;
}

}  // namespace

Result<std::unique_ptr<FilePositionStore>> FilePositionStore::Open(Env* env, std::string path) {
  std::unique_ptr<FilePositionStore> s(new FilePositionStore(env, std::move(path)));
  ERAGON_RETURN_IF_ERROR(s->Load());
  std::lock_guard<std::mutex> l(s->mu_);
  ERAGON_RETURN_IF_ERROR(s->Rewrite());
  return s;
}

Status FilePositionStore::Load() {
  if (!env_->Exists(path_)) return Status::Ok();
  ERAGON_ASSIGN_OR_RETURN(std::string data, ReadFileToString(env_, path_));
  size_t pos = 0;
  while (pos + 8 <= data.size()) {
    const uint32_t len = GetU32(data.data() + pos + 4);
    const bool complete = pos + 8 + len <= data.size();
    if (!complete || crc32c::Value(data.data() + pos + 4, len + 4) != GetU32(data.data() + pos)) {
      if (!complete || pos + 8 + len == data.size()) break;  // torn tail
      return Status::Corruption("positions file " + path_ + ": bad record at byte " +
                                std::to_string(pos));
    }
    std::string_view body(data.data() + pos + 8, len);
    size_t at = 1;
    Writer w;
    std::string topic, consumer;
    if (body.empty() || !GetString(body, &at, &topic) || !GetString(body, &at, &consumer)) {
      return Status::Corruption("positions file " + path_ + ": malformed record at byte " +
                                std::to_string(pos));
    }
    if (body[0] == kCommit && at + 12 == body.size()) {
      w.commits.push_back(
          {topic, consumer, GetU32(body.data() + at), GetU64(body.data() + at + 4)});
    } else if (body[0] == kRemove && at == body.size()) {
      w.remove.emplace(topic, consumer);
    } else {
      return Status::Corruption("positions file " + path_ + ": unknown record at byte " +
                                std::to_string(pos));
    }
    Apply(w);
    pos += 8 + len;
  }
  return Status::Ok();
}

Status FilePositionStore::Rewrite() {
  std::string data;
  for (const auto& [key, offset] : positions_) {
    EncodeCommit(std::get<0>(key), std::get<1>(key), std::get<2>(key), offset, &data);
  }
  if (file_) (void)file_->Close();
  file_.reset();
  ERAGON_RETURN_IF_ERROR(WriteFileAtomically(env_, path_, data));
  ERAGON_ASSIGN_OR_RETURN(file_, env_->OpenWritable(path_));
  file_size_ = data.size();
  return Status::Ok();
}

void FilePositionStore::Apply(const Writer& w) {
  for (const Entry& e : w.commits) positions_[{e.topic, e.consumer, e.partition}] = e.offset;
  if (w.remove) {
    auto it = positions_.lower_bound({w.remove->first, w.remove->second, 0});
    while (it != positions_.end() && std::get<0>(it->first) == w.remove->first &&
           std::get<1>(it->first) == w.remove->second) {
      it = positions_.erase(it);
    }
  }
}

Status FilePositionStore::Submit(Writer* w) {
  std::unique_lock<std::mutex> l(mu_);
  if (!health_.ok()) return health_;
  writers_.push_back(w);
  cv_.wait(l, [&] { return w->done || writers_.front() == w; });
  if (w->done) return w->status;
  // Leader: write everything queued so far with one write and one fsync.
  std::vector<Writer*> group(writers_.begin(), writers_.end());
  std::string data;
  for (Writer* x : group) data += x->data;
  const uint64_t at = file_size_;
  l.unlock();
  Status s = file_->Write(at, data);
  const bool write_failed = !s.ok();
  if (s.ok()) s = file_->Sync();
  l.lock();
  if (s.ok()) {
    file_size_ += data.size();
    for (Writer* x : group) Apply(*x);
  } else if (!(write_failed && s.code() == Code::kStorageFull && file_->Truncate(at).ok())) {
    health_ = Status::ReadOnly("positions store " + path_ +
                               " is read-only after a failed write or fsync: " + s.ToString());
    s = health_;
  }  // else ENOSPC writing (no fsync ran): the torn bytes are cut off, the commits fail
     // with StorageFull and the store stays writable, so commits resume once space is freed
  for (Writer* x : group) {
    writers_.pop_front();
    x->status = s;
    x->done = true;
  }
  if (s.ok() && file_size_ > kCompactAtBytes && file_size_ > 8 * 40 * positions_.size()) {
    Status c = Rewrite();
    if (!c.ok()) health_ = Status::ReadOnly("positions store compaction failed: " + c.ToString());
  }
  cv_.notify_all();
  return s;
}

Status FilePositionStore::Commit(std::span<const Entry> entries) {
  Writer w;
  for (const Entry& e : entries) {
    if (e.topic.size() > 0xffff || e.consumer.size() > 0xffff) {
      return Status::InvalidArgument("topic or consumer name too long");
    }
    EncodeCommit(e.topic, e.consumer, e.partition, e.offset, &w.data);
    w.commits.push_back(e);
  }
  if (entries.empty()) return Status::Ok();
  return Submit(&w);
}

Status FilePositionStore::Remove(std::string_view topic, std::string_view consumer) {
  if (topic.size() > 0xffff || consumer.size() > 0xffff) {
    return Status::InvalidArgument("topic or consumer name too long");
  }
  Writer w;
  EncodeRemove(topic, consumer, &w.data);
  w.remove.emplace(std::string(topic), std::string(consumer));
  return Submit(&w);
}

std::optional<uint64_t> FilePositionStore::Get(std::string_view topic, std::string_view consumer,
                                               uint32_t partition) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = positions_.find({std::string(topic), std::string(consumer), partition});
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

std::vector<PositionStore::Entry> FilePositionStore::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Entry> out;
  for (const auto& [key, offset] : positions_) {
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), offset});
  }
  return out;
}

}  // namespace eragon::log
