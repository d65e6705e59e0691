#include "bench/raw_disk.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace eragon::bench {
namespace {

double NowS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Preallocates `size` bytes of the file at `fd`, then writes it with `block`-byte pwrites,
// each followed by fdatasync, for `seconds`; returns the pairs per second.
Result<double> WriteAndSync(int fd, const std::string& path, size_t block, off_t size,
                            double seconds) {
  // Preallocated and synced first, so the loop measures data writes, not block allocation.
  if (::posix_fallocate(fd, 0, size) != 0 && ::ftruncate(fd, size) != 0) {
    return Status::FromErrno("ftruncate", path, errno);
  }
  ::fdatasync(fd);
  const std::string buf(block, 'r');
  off_t off = 0;
  int64_t ops = 0;
  const double start = NowS();
  double now = start;
  while (now - start < seconds) {
    if (off + static_cast<off_t>(block) > size) off = 0;
    if (::pwrite(fd, buf.data(), block, off) != static_cast<ssize_t>(block)) {
      return Status::FromErrno("pwrite", path, errno);
    }
    if (::fdatasync(fd) != 0) return Status::FromErrno("fdatasync", path, errno);
    off += static_cast<off_t>(block);
    ++ops;
    now = NowS();
  }
  return static_cast<double>(ops) / (now - start);
}

}  // namespace

Result<double> RawFsyncLoop(const std::string& dir, size_t block, double seconds) {
  const std::string path = dir + "/raw-" + std::to_string(block);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  Result<double> r = WriteAndSync(fd, path, block, off_t{1} << 30, seconds);
  ::close(fd);
  ::unlink(path.c_str());
  return r;
}

Result<double> RawSequentialMbPerS(const std::string& dir, double seconds) {
  constexpr size_t kBlock = 1 << 20;
  ERAGON_ASSIGN_OR_RETURN(double ops_per_s, RawFsyncLoop(dir, kBlock, seconds));
  return ops_per_s * kBlock / 1e6;
}

}  // namespace eragon::bench
