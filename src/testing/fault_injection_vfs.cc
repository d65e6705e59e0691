#include "testing/fault_injection_vfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace eragon::testing {
namespace {

// Our file: SQLite allocates szOsFile bytes; the default VFS's file follows this header.
struct ShimFile {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file
  FaultInjectionVfs* vfs;
  FaultInjectionVfs::FileState* state;  // null: not tracked (a temporary file)
  sqlite3_file* real;
};

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real; }
FaultInjectionVfs* VfsOf(sqlite3_vfs* v) { return static_cast<FaultInjectionVfs*>(v->pAppData); }

int64_t RealSize(sqlite3_file* real) {
  sqlite3_int64 size = 0;
  return real->pMethods->xFileSize(real, &size) == SQLITE_OK ? size : 0;
}

// Keeps what [off, off + n) held below the synced size, so a power loss can put it back.
void KeepOldBytes(ShimFile* f, int64_t off, int64_t n) {
  if (f->state == nullptr || off >= f->state->synced_size) return;
  const int64_t end = std::min({off + n, f->state->synced_size, RealSize(f->real)});
  if (end <= off) return;
  std::string old(static_cast<size_t>(end - off), '\0');
  f->real->pMethods->xRead(f->real, old.data(), static_cast<int>(old.size()), off);
  f->state->undo.emplace_back(off, std::move(old));
}

int ShimClose(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int ShimRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int ShimWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  ShimFile* s = Shim(f);
  if (s->vfs->Fail(s->vfs->fail_writes())) return SQLITE_IOERR_WRITE;
  std::lock_guard lock(s->vfs->mu());
  KeepOldBytes(s, off, n);
  return s->real->pMethods->xWrite(s->real, buf, n, off);
}
int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  ShimFile* s = Shim(f);
  if (s->vfs->Fail(s->vfs->fail_writes())) return SQLITE_IOERR_TRUNCATE;
  std::lock_guard lock(s->vfs->mu());
  KeepOldBytes(s, size, RealSize(s->real) - size);
  return s->real->pMethods->xTruncate(s->real, size);
}
int ShimSync(sqlite3_file* f, int flags) {
  ShimFile* s = Shim(f);
  if (s->vfs->Fail(s->vfs->fail_syncs())) return SQLITE_IOERR_FSYNC;
  std::lock_guard lock(s->vfs->mu());
  int rc = s->real->pMethods->xSync(s->real, flags);
  if (rc == SQLITE_OK && s->state != nullptr) {
    s->state->undo.clear();
    s->state->synced_size = RealSize(s->real);
  }
  return rc;
}
int ShimFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int ShimLock(sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); }
int ShimUnlock(sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); }
int ShimCheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int ShimFileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int ShimSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int ShimDeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShimShmMap(sqlite3_file* f, int pg, int pgsz, int extend, void volatile** pp) {
  return Real(f)->pMethods->xShmMap(Real(f), pg, pgsz, extend, pp);
}
int ShimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShimShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShimShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }

// Version 2: no xFetch, so SQLite never maps a file (every write passes xWrite).
const sqlite3_io_methods kShimMethods = {2,
                                         ShimClose,
                                         ShimRead,
                                         ShimWrite,
                                         ShimTruncate,
                                         ShimSync,
                                         ShimFileSize,
                                         ShimLock,
                                         ShimUnlock,
                                         ShimCheckReservedLock,
                                         ShimFileControl,
                                         ShimSectorSize,
                                         ShimDeviceCharacteristics,
                                         ShimShmMap,
                                         ShimShmLock,
                                         ShimShmBarrier,
                                         ShimShmUnmap,
                                         nullptr,
                                         nullptr};

int ShimOpen(sqlite3_vfs* v, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  FaultInjectionVfs* vfs = VfsOf(v);
  ShimFile* s = Shim(file);
  s->vfs = vfs;
  s->real = reinterpret_cast<sqlite3_file*>(s + 1);
  s->state = nullptr;
  struct stat st;
  const bool existed = name != nullptr && ::stat(name, &st) == 0;
  int rc = vfs->base()->xOpen(vfs->base(), name, s->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    file->pMethods = nullptr;
    return rc;
  }
  if (name != nullptr) {
    std::lock_guard lock(vfs->mu());
    s->state = vfs->StateOf(name, existed);
  }
  file->pMethods = &kShimMethods;
  return SQLITE_OK;
}

int ShimDelete(sqlite3_vfs* v, const char* name, int sync_dir) {
  FaultInjectionVfs* vfs = VfsOf(v);
  if (vfs->Fail(false)) return SQLITE_IOERR_DELETE;
  int rc = vfs->base()->xDelete(vfs->base(), name, sync_dir);
  if (rc == SQLITE_OK) {
    std::lock_guard lock(vfs->mu());
    *vfs->StateOf(name, false) = {};
  }
  return rc;
}

// Puts back the bytes written since the last sync, then cuts the file to its synced size.
bool Revert(const std::string& path, const FaultInjectionVfs::FileState& f) {
  int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) return false;
  for (auto it = f.undo.rbegin(); it != f.undo.rend(); ++it) {
    (void)!::pwrite(fd, it->second.data(), it->second.size(), it->first);
  }
  struct stat st;
  const bool longer = ::fstat(fd, &st) == 0 && st.st_size > f.synced_size;
  if (longer) (void)!::ftruncate(fd, f.synced_size);
  ::close(fd);
  return longer || !f.undo.empty();
}

}  // namespace

FaultInjectionVfs::FaultInjectionVfs(std::string name)
    : name_(std::move(name)), base_(sqlite3_vfs_find(nullptr)) {
  vfs_ = *base_;
  vfs_.pNext = nullptr;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.szOsFile = static_cast<int>(sizeof(ShimFile)) + base_->szOsFile;
  vfs_.xOpen = ShimOpen;
  vfs_.xDelete = ShimDelete;
  sqlite3_vfs_register(&vfs_, /*makeDflt=*/0);
}

FaultInjectionVfs::~FaultInjectionVfs() { sqlite3_vfs_unregister(&vfs_); }

FaultInjectionVfs::FileState* FaultInjectionVfs::StateOf(const std::string& path, bool existed) {
  auto [it, inserted] = files_.try_emplace(path);
  if (inserted && existed) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) it->second.synced_size = st.st_size;
  }
  return &it->second;
}

bool FaultInjectionVfs::Fail(bool fault) {
  if (!fault && !powered_off_.load()) return false;
  ++injected_;
  return true;
}

int FaultInjectionVfs::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  int changed = 0;
  for (auto& [path, f] : files_) {
    if (Revert(path, f)) ++changed;
    f = {};
  }
  files_.clear();
  fail_writes_ = fail_syncs_ = powered_off_ = false;
  return changed;
}

}  // namespace eragon::testing
