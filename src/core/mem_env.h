// MemEnv: an in-memory Env for tests, with fault injection.
//
// Power-loss model (DropUnsyncedData): every file reverts to its content as of its last
// successful WritableFile::Sync(); a directory entry created, renamed or removed since
// the last SyncDir() of its directory reverts too (new files vanish, renames undo,
// removed files return). Directories themselves are durable at once.
//
// Thread-safe. Files opened before DropUnsyncedData keep pointing at their (reverted)
// contents; tests normally close everything first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "eragon/env.h"

namespace eragon {

class MemEnv : public Env {
 public:
  // Simulates a power loss (see above). Clears no injected errors.
  virtual void DropUnsyncedData() = 0;
  // Every later WritableFile::Write (resp. Sync, SyncDir) fails with `s` until called
  // again with an ok Status.
  virtual void SetWriteError(Status s) = 0;
  virtual void SetSyncError(Status s) = 0;
  // Every later WritableFile::Preallocate fails with `s` (e.g. StorageFull for ENOSPC)
  // until called again with an ok Status.
  virtual void SetPreallocateError(Status s) = 0;
  // After n more successful writes, writes fail with an IOError (until SetWriteError(ok)).
  virtual void FailAfterNWrites(int64_t n) = 0;

  // Direct byte access, bypassing the fault model (no sync needed to be "durable").
  virtual Status CorruptByte(const std::string& path, uint64_t offset, uint8_t xor_mask) = 0;
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  virtual Result<std::string> FileContents(const std::string& path) = 0;
  virtual Status SetFileContents(const std::string& path, std::string data) = 0;
  // Number of successful WritableFile::Sync calls so far.
  virtual int64_t SyncCount() const = 0;
};

std::unique_ptr<MemEnv> NewMemEnv();

}  // namespace eragon
