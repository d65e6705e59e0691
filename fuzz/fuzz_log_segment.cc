// Log segment recovery (log/segment_recovery.h) from arbitrary bytes: the first byte
// picks the partition count (1..4) and whether the segment is the topic's last (torn
// tail repair) or sealed (strict); the rest is written as a segment file on tmpfs and
// recovered through the real Env, then every partition is read to its end. Whatever
// recovery accepts must read back without error.
#include <cstddef>
#include <cstdint>
#include <fstream>

#include "eragon/env.h"
#include "fuzz/fuzz_util.h"
#include "log/segment_recovery.h"

using eragon::fuzz::Check;

namespace {

void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void ReadEverything(const eragon::log::Segment& seg) {
  for (uint32_t p = 0; p < seg.partitions(); ++p) {
    eragon::log::PartitionIndex info = seg.Info(p);
    uint64_t from = seg.base(p);
    while (info.any && from < info.next) {
      std::vector<eragon::log::LogRecord> out;
      size_t budget = 1 << 20;
      eragon::Status st = seg.Read(p, from, info.next, 64, &budget, &out);
      Check(st.ok(), "a recovered segment reads without error");
      if (out.empty()) break;
      Check(out.front().offset >= from, "reads go forward");
      from = out.back().offset + 1;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static eragon::fuzz::ScratchDir dir("log");
  const uint32_t partitions = 1 + (data[0] >> 1) % 4;
  const bool is_last = (data[0] & 1) != 0;
  const std::string path = dir.path() + "/00000000000000000001.seg";
  WriteFile(path, data + 1, size - 1);
  {  // the segment (and its file) is closed before the next input replaces it
    std::vector<uint64_t> next;
    auto seg =
        eragon::log::RecoverSegment(eragon::Env::Default(), path, partitions, is_last, &next);
    if (seg.ok() && *seg != nullptr) {
      Check(next.size() == partitions, "next has one offset per partition");
      ReadEverything(**seg);
    }
  }
  std::remove(path.c_str());
  std::remove(eragon::log::IndexPathFor(path).c_str());
  return 0;
}
