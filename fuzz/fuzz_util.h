// Helpers shared by the fuzz targets (fuzz/README.md): a crash-on-broken-promise check
// that stays on in every build type, and a per-process scratch directory on tmpfs.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace eragon::fuzz {

// Aborts with the message when a property the code promises does not hold (libFuzzer
// then saves the input as a crash).
inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property broken: %s\n", what);
    std::abort();
  }
}

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A fresh empty directory for this process (under /dev/shm when it exists: the targets
// write a file per input), emptied again by Reset.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    std::filesystem::path base =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    path_ = (base / ("eragon-fuzz-" + name + "-" + std::to_string(getpid()))).string();
    Reset();
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  void Reset() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    std::filesystem::create_directories(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace eragon::fuzz
