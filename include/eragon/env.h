// Env: every file-system access of Eragon's storage goes through this interface, so
// tests can run on an in-memory file system (NewMemEnv) that injects faults and drops
// whatever was not synced, as a power loss would.
//
// All methods are thread-safe. Paths are plain strings; directories are separated by '/'.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/status.h"

namespace eragon {

// A file opened for writing at explicit offsets (pwrite). Data is durable only after
// Sync() returns ok; a new file's directory entry is durable only after Env::SyncDir.
// Not thread-safe: one writer at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at `offset`; extends the file when needed.
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  // fdatasync(2). A failure must not be retried: the caller turns read-only.
  virtual Status Sync() = 0;
  // Reserves space so the file is at least `size` bytes long; the new bytes read as zero.
  virtual Status Preallocate(uint64_t size) = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Status Close() = 0;
};

// A file opened for reading at explicit offsets (pread). Thread-safe.
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to n bytes at offset into scratch; returns the bytes read (fewer at EOF).
  virtual Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual Result<uint64_t> Size() const = 0;
};

// Held while a directory is owned by one process; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct DiskSpace {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;  // available to an unprivileged writer
};

class Env {
 public:
  virtual ~Env() = default;

  // Opens `path` for writing, creating it when absent (mode 0644 unless `mode` given).
  virtual Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                             int mode = 0644) = 0;
  virtual Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) = 0;
  // Creates `dir` and its missing parents.
  virtual Status CreateDirs(const std::string& dir) = 0;
  // fsyncs the directory itself, making created, renamed and removed entries durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Names (not paths) of the entries of `dir`, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Takes an exclusive lock on `path` (created if absent); fails when another process
  // holds it. The message says who holds it when known.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  virtual Result<DiskSpace> GetDiskSpace(const std::string& path) = 0;

  // The real file system. Never null; lives for the whole process.
  static Env* Default();
};

// Reads a whole file.
Result<std::string> ReadFileToString(Env* env, const std::string& path);
// Writes `data` to `path` so that a crash leaves either the old or the new content:
// write to path.tmp, sync, rename, sync the directory.
Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data);

// The directory part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string DirName(const std::string& path);

}  // namespace eragon
