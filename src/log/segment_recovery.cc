#include "log/segment_recovery.h"

#include <algorithm>

namespace eragon::log {
namespace {

struct Pending {
  uint32_t partition;
  uint64_t offset;
  int64_t ts;
  uint64_t pos;
};

// One past the last non-zero byte of buf, or 0.
size_t EndOfNonZero(std::string_view buf) {
  size_t q = buf.size();
  while (q > 0 && buf[q - 1] == 0) --q;
  return q;
}

// Position of the first complete, CRC-valid record starting in (from, to), if any.
std::optional<size_t> FindValidRecord(std::string_view buf, size_t from, size_t to,
                                      uint32_t partitions) {
  RecordHeader h;
  for (size_t x = from + 1; x < to; ++x) {
    if (ParseRecord(buf, x, partitions, &h) == ParseResult::kOk) return x;
  }
  return std::nullopt;
}

Status Corrupt(const std::string& path, uint64_t pos, const std::string& why) {
  return Status::Corruption("segment " + path + ": " + why + " at byte " + std::to_string(pos));
}

// Scans buf (the whole file), filling seg's index with every complete batch. Returns the
// end of the last complete batch in *committed and the end of all non-zero bytes in *dirty.
Status ScanSegment(std::string_view buf, Segment* seg, bool is_last, std::vector<uint64_t>* next,
                   uint64_t* committed, uint64_t* dirty) {
  const uint32_t n = seg->partitions();
  std::vector<uint64_t> tentative = *next;
  std::vector<Pending> pending;
  size_t pos = SegmentHeaderSize(n);
  *committed = pos;
  ParseResult r;
  RecordHeader h;
  while ((r = ParseRecord(buf, pos, n, &h)) == ParseResult::kOk) {
    if (h.offset != tentative[h.partition]) break;  // out of sequence: a bad record
    pending.push_back({h.partition, h.offset, h.timestamp_ms, pos});
    ++tentative[h.partition];
    pos += kRecordHeaderSize + h.len;
    if (h.flags & kFlagBatchEnd) {
      for (const Pending& p : pending) seg->AddToIndex(p.partition, p.offset, p.ts, p.pos);
      pending.clear();
      *committed = pos;
      *next = tentative;
    }
  }
  const size_t q = EndOfNonZero(buf);
  *dirty = std::max<uint64_t>(q, *committed);
  const bool clean_end = (r == ParseResult::kEnd && q <= pos);
  if (!clean_end) {
    if (!is_last) return Corrupt(seg->path(), pos, "bad record in a sealed segment");
    if (auto valid = FindValidRecord(buf, pos, q, n)) {
      return Corrupt(
          seg->path(), pos,
          "bad record followed by a valid record (at byte " + std::to_string(*valid) + ")");
    }
  }
  if (!pending.empty() && !is_last) {
    return Corrupt(seg->path(), *committed, "unterminated batch in a sealed segment");
  }
  seg->set_data_end(*committed);
  return Status::Ok();
}

Status ZeroRange(Env* env, const std::string& path, uint64_t from, uint64_t to) {
  ERAGON_ASSIGN_OR_RETURN(auto file, env->OpenWritable(path));
  ERAGON_RETURN_IF_ERROR(file->Write(from, std::string(to - from, '\0')));
  ERAGON_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

}  // namespace

std::string IndexPathFor(const std::string& segment_path) { return segment_path + ".idx"; }

Result<std::shared_ptr<Segment>> RecoverSegment(Env* env, const std::string& path,
                                                uint32_t partitions, bool is_last,
                                                std::vector<uint64_t>* next) {
  ERAGON_ASSIGN_OR_RETURN(auto file, env->OpenReadable(path));
  ERAGON_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string head(std::min<uint64_t>(size, SegmentHeaderSize(partitions)), '\0');
  ERAGON_ASSIGN_OR_RETURN(size_t got, file->Read(0, head.size(), head.data()));
  head.resize(got);
  auto header = DecodeSegmentHeader(head, path);
  std::string all;
  if (!header.ok() || is_last) {
    ERAGON_ASSIGN_OR_RETURN(all, ReadFileToString(env, path));
  }
  if (!header.ok()) {
    const size_t hs = SegmentHeaderSize(partitions);
    if (!is_last || (all.size() > hs && !IsZero(all.data() + hs, all.size() - hs))) {
      return header.status();
    }
    // Created but never completed: nothing in it was acknowledged.
    file.reset();
    ERAGON_RETURN_IF_ERROR(env->RemoveFile(path));
    ERAGON_RETURN_IF_ERROR(env->SyncDir(DirName(path)));
    return std::shared_ptr<Segment>();
  }
  if (header->base.size() != partitions) {
    return Corrupt(path, 0,
                   "header has " + std::to_string(header->base.size()) + " partitions, topic has " +
                       std::to_string(partitions));
  }
  if (next->empty()) *next = header->base;
  if (header->base != *next)
    return Corrupt(path, 0, "base offsets do not follow the previous segment");
  auto seg = std::make_shared<Segment>(path, *header, size, std::move(file));
  if (!is_last) {
    auto idx = ReadFileToString(env, IndexPathFor(path));
    if (idx.ok() && seg->LoadIndex(*idx)) {
      for (uint32_t p = 0; p < partitions; ++p) {
        PartitionIndex ix = seg->Info(p);
        if (ix.any) (*next)[p] = ix.next;
      }
      return seg;
    }
    ERAGON_ASSIGN_OR_RETURN(all, ReadFileToString(env, path));
  }
  uint64_t committed = 0, dirty = 0;
  ERAGON_RETURN_IF_ERROR(ScanSegment(all, seg.get(), is_last, next, &committed, &dirty));
  if (dirty > committed) ERAGON_RETURN_IF_ERROR(ZeroRange(env, path, committed, dirty));
  if (!is_last) {
    // Best effort: a missing or stale index file is rebuilt by the next open.
    (void)WriteFileAtomically(env, IndexPathFor(path), seg->EncodeIndex());
  }
  return seg;
}

}  // namespace eragon::log
