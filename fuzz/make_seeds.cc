// Writes the binary seed inputs of fuzz_log_segment and fuzz_sdk_backup into
// fuzz/corpus/ (run once by hand: bin/fuzz_make_seeds <repo>/fuzz/corpus): real
// segments written by the log and by the SDK's backup, in the targets' input framing.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>

#include "eragon/event_queue.h"
#include "log/log.h"
#include "sdk/backup_format.h"

namespace fs = std::filesystem;
using namespace eragon;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void WriteSeed(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
  std::printf("%s (%zu bytes)\n", p.c_str(), bytes.size());
}

// A topic of `partitions` partitions with a few records; returns its segment file.
std::string LogSegment(const fs::path& tmp, uint32_t partitions, int records) {
  fs::remove_all(tmp);
  log::LogOptions o;
  o.segment_bytes = 4096;
  auto ch = channel::OpenEmbeddedChannel(tmp.string(), o);
  if (!ch.ok()) std::abort();
  auto t = (*ch)->OpenTopic("t", log::TopicOptions{partitions});
  if (!t.ok()) std::abort();
  for (int i = 0; i < records; ++i) {
    std::string key = "key-" + std::to_string(i), payload = "payload-" + std::to_string(i);
    log::AppendRecord r{key, payload, 1000 + i};
    if (!(*t)->Append(std::span<const log::AppendRecord>(&r, 1)).ok()) std::abort();
  }
  if (!(*ch)->Close().ok()) std::abort();
  std::string seg;
  for (const auto& e : fs::recursive_directory_iterator(tmp)) {
    if (e.path().extension() == ".seg") seg = ReadFile(e.path());
  }
  seg.resize(std::min<size_t>(seg.size(), 2048));  // the zero tail adds nothing
  return seg;
}

std::string Backup(int records, int acked) {
  std::string seg, ack;
  for (int i = 0; i < records; ++i)
    sdk::AppendRecord(&seg, "{\"event\":" + std::to_string(i) + "}");
  std::vector<uint32_t> idx;
  for (int i = 0; i < acked; ++i) idx.push_back(static_cast<uint32_t>(i));
  if (!idx.empty()) sdk::AppendAckRecord(&ack, idx);
  std::string in(2, '\0');
  in[0] = static_cast<char>(ack.size() & 0xff);
  in[1] = static_cast<char>(ack.size() >> 8);
  return in + ack + seg;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <fuzz/corpus>\n", argv[0]);
    return 2;
  }
  fs::path corpus = argv[1];
  fs::path tmp = fs::temp_directory_path() / "eragon-make-seeds";
  fs::create_directories(corpus / "log_segment");
  fs::create_directories(corpus / "sdk_backup");
  // First byte: bit 0 = last segment, bits 1-2 = partitions - 1.
  WriteSeed(corpus / "log_segment" / "last_1p", std::string(1, '\x01') + LogSegment(tmp, 1, 3));
  WriteSeed(corpus / "log_segment" / "sealed_1p", std::string(1, '\x00') + LogSegment(tmp, 1, 3));
  WriteSeed(corpus / "log_segment" / "last_3p", std::string(1, '\x05') + LogSegment(tmp, 3, 6));
  WriteSeed(corpus / "sdk_backup" / "three_none_acked", Backup(3, 0));
  WriteSeed(corpus / "sdk_backup" / "three_two_acked", Backup(3, 2));
  WriteSeed(corpus / "sdk_backup" / "empty", Backup(0, 0));
  fs::remove_all(tmp);
  return 0;
}
