// The SDK's local event backup (sdk/backup_format.h) recovering arbitrary files: the
// input is [u16 n][n bytes of ack file][segment file]; both are written into a fresh
// backup directory on tmpfs and OpenFileQueue recovers it. Every record it hands out is
// then acknowledged, and a second open must find nothing left to send.
#include <cstddef>
#include <cstdint>
#include <fstream>

#include "eragon/event_queue.h"
#include "fuzz/fuzz_util.h"
#include "sdk/backup_format.h"

using eragon::fuzz::AsView;
using eragon::fuzz::Check;

namespace {

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

eragon::FileQueueOptions Options(const std::string& dir) {
  eragon::FileQueueOptions o;
  o.dir = dir;
  o.fsync = eragon::BackupFsync::kInterval;
  o.segment_bytes = 4096;
  return o;
}

std::vector<eragon::QueuedRecord> TakeAll(eragon::EventQueue& q) {
  std::vector<eragon::QueuedRecord> all;
  for (;;) {
    std::vector<eragon::QueuedRecord> batch;
    Check(q.Take(256, std::chrono::milliseconds(0), &batch).ok(), "Take after open");
    if (batch.empty()) return all;
    for (auto& r : batch) all.push_back(std::move(r));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static eragon::fuzz::ScratchDir dir("backup");
  dir.Reset();
  std::string_view in = AsView(data + 2, size - 2);
  const size_t ack_bytes = std::min<size_t>(data[0] | (data[1] << 8), in.size());
  WriteFile(dir.path() + "/" + eragon::sdk::AckFileName(0), in.substr(0, ack_bytes));
  WriteFile(dir.path() + "/" + eragon::sdk::SegmentFileName(0), in.substr(ack_bytes));
  std::vector<uint64_t> seqs;
  {
    auto q = eragon::OpenFileQueue(Options(dir.path()));
    if (!q.ok()) return 0;
    for (const eragon::QueuedRecord& r : TakeAll(**q)) {
      Check(!r.payload.empty(), "recovered records are not empty");
      seqs.push_back(r.seq);
    }
    Check((*q)->Done(seqs).ok(), "Done of every recovered record");
    (*q)->Close();
  }
  auto again = eragon::OpenFileQueue(Options(dir.path()));
  Check(again.ok(), "a backup reopens after a clean close");
  Check(TakeAll(**again).empty(), "acknowledged records are not replayed");
  (*again)->Close();
  return 0;
}
