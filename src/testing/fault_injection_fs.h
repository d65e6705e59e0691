// FaultInjectionFs: a rocksdb::FileSystem over the real one that injects I/O errors and
// simulates a power loss, for the store-fault tests (issue 16). RocksDB's own
// FaultInjectionTestFS is not shipped by Debian; this is a small one in its spirit.
//
// Power-loss model (PowerOff, then DropUnsyncedData once the databases are closed):
// every file written through this FS reverts to its size at its last successful
// Sync/Fsync (RocksDB's files are append-only, so that is its synced content), and a
// file created or renamed since the last fsync of its directory disappears. Files that
// existed before this FS saw them count as durable. Removed files stay removed.
//
// Thread-safe. Tests only: nothing in eragond constructs it.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace eragon::testing {

class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  FaultInjectionFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "EragonFaultInjectionFs"; }

  // Each fault lasts until turned off. `name_part` limits it to files whose path contains
  // it (".log": the WAL; ".sst": table files; "" = every file).
  void FailSyncs(bool on, std::string name_part = "");
  void FailWrites(bool on, std::string name_part = "");
  void FailReads(bool on, std::string name_part = "");
  // The machine stops: every later write, sync, create, rename and delete fails without
  // effect. Close the databases after this; nothing they write while closing lands.
  void PowerOff() { powered_off_ = true; }
  // After PowerOff and closing every database: reverts the files to what was synced (see
  // above) and turns power and every fault off. Returns the number of files changed.
  int DropUnsyncedData();
  // Injected failures so far (syncs, writes, reads).
  int64_t InjectedFailures() const { return injected_.load(); }

  // Bookkeeping for the wrapped files (not for callers).
  enum class Op { kSync, kWrite, kRead };
  bool ShouldFail(Op op, const std::string& path);
  void Appended(const std::string& path, uint64_t new_size, bool synced);
  void DirSynced(const std::string& dir);

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& s, const std::string& t,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool new_entry = false;  // created or renamed since its directory's last fsync
  };
  struct Fault {
    bool on = false;
    std::string name_part;
  };
  rocksdb::IOStatus Track(const std::string& f, bool created);

  std::mutex mu_;
  std::map<std::string, FileState> files_;  // by normalized path
  Fault sync_fault_, write_fault_, read_fault_;
  std::atomic<bool> powered_off_{false};
  std::atomic<int64_t> injected_{0};
};

// An Env over a FaultInjectionFs for rocksdb::Options::env; `fs` must outlive it.
std::unique_ptr<rocksdb::Env> NewFaultInjectionEnv(const std::shared_ptr<FaultInjectionFs>& fs);

}  // namespace eragon::testing
