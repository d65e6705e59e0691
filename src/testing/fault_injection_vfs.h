// FaultInjectionVfs: an SQLite VFS shim over the default VFS that injects write and
// sync errors and simulates a power loss, for the store-fault tests (issue 16). Open a
// database on it by its name (sqlite3_open_v2's zVfs; the config store's
// ConfigStoreOptions::vfs).
//
// Power-loss model (PowerOff, then DropUnsyncedData once the connections are closed):
// every file written through the shim reverts to its content at its last successful
// xSync: bytes overwritten since are put back (the shim keeps what they held before),
// the file is cut to its synced size, and a file never synced is emptied. The -shm
// wal-index is not data (SQLite rebuilds it from the WAL at the next first open).
//
// Thread-safe. Tests only: nothing in eragond registers it.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace eragon::testing {

class FaultInjectionVfs {
 public:
  // Registers the shim under `name` (not as the default VFS); unregistered on destruction,
  // which must come after every connection using it is closed.
  explicit FaultInjectionVfs(std::string name);
  ~FaultInjectionVfs();
  FaultInjectionVfs(const FaultInjectionVfs&) = delete;
  FaultInjectionVfs& operator=(const FaultInjectionVfs&) = delete;

  const std::string& name() const { return name_; }
  // Each fault lasts until turned off: xWrite fails with SQLITE_IOERR_WRITE, xSync with
  // SQLITE_IOERR_FSYNC (without syncing: the data stays unsynced).
  void FailWrites(bool on) { fail_writes_ = on; }
  void FailSyncs(bool on) { fail_syncs_ = on; }
  // The machine stops: every later write, sync, truncate and delete fails without effect.
  void PowerOff() { powered_off_ = true; }
  // After PowerOff and closing every connection: reverts the files (see above) and turns
  // power and every fault off. Returns the number of files changed.
  int DropUnsyncedData();
  int64_t InjectedFailures() const { return injected_.load(); }

  // What the shim knows of one file since its last sync (for the file methods).
  struct FileState {
    int64_t synced_size = 0;
    std::vector<std::pair<int64_t, std::string>> undo;  // (offset, bytes before a write)
  };
  // REQUIRES: mu() held.
  FileState* StateOf(const std::string& path, bool existed);
  // Whether to fail now: `fault` is on, or the power is off. Counts injected failures.
  bool Fail(bool fault);
  bool fail_writes() const { return fail_writes_.load(); }
  bool fail_syncs() const { return fail_syncs_.load(); }
  std::mutex& mu() { return mu_; }
  sqlite3_vfs* base() const { return base_; }

 private:
  std::string name_;
  sqlite3_vfs* base_;
  sqlite3_vfs vfs_{};
  std::mutex mu_;
  // Open files point into it: entries are dropped only by DropUnsyncedData (all closed).
  std::map<std::string, FileState> files_;
  std::atomic<bool> fail_writes_{false}, fail_syncs_{false}, powered_off_{false};
  std::atomic<int64_t> injected_{0};
};

}  // namespace eragon::testing
