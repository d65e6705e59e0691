#include "testing/fault_injection_fs.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace eragon::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

std::string Normal(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string DirOf(const std::string& normal_path) {
  return std::filesystem::path(normal_path).parent_path().string();
}

IOStatus Injected(const char* what) { return IOStatus::IOError("injected fault", what); }

class FaultWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::unique_ptr<rocksdb::FSWritableFile> f, FaultInjectionFs* fs,
                    std::string path, uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), path_(std::move(path)), size_(size) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    if (fs_->ShouldFail(FaultInjectionFs::Op::kWrite, path_)) return Injected("append");
    IOStatus s = target()->Append(data, o, dbg);
    if (s.ok()) Grew(size_ + data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo&,
                  IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* dbg) override {
    if (fs_->ShouldFail(FaultInjectionFs::Op::kWrite, path_)) return Injected("append");
    IOStatus s = target()->PositionedAppend(data, offset, o, dbg);
    if (s.ok()) Grew(std::max(size_, offset + data.size()));
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo&, IODebugContext* dbg) override {
    return PositionedAppend(data, offset, o, dbg);
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    return Synced(target()->Sync(o, dbg));
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    return Synced(target()->Fsync(o, dbg));
  }
  IOStatus RangeSync(uint64_t, uint64_t, const IOOptions&, IODebugContext*) override {
    return IOStatus::OK();  // a hint; durability comes from Sync/Fsync only
  }

 private:
  void Grew(uint64_t size) {
    size_ = size;
    fs_->Appended(path_, size_, /*synced=*/false);
  }
  IOStatus Synced(IOStatus real) {
    // Checked before the real sync's result counts: a failed fsync must look failed even
    // though the real one may have worked.
    if (fs_->ShouldFail(FaultInjectionFs::Op::kSync, path_)) return Injected("sync");
    if (real.ok()) fs_->Appended(path_, size_, /*synced=*/true);
    return real;
  }

  FaultInjectionFs* fs_;
  const std::string path_;
  uint64_t size_;
};

class FaultRandomAccessFile : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  FaultRandomAccessFile(std::unique_ptr<rocksdb::FSRandomAccessFile> f, FaultInjectionFs* fs,
                        std::string path)
      : FSRandomAccessFileOwnerWrapper(std::move(f)), fs_(fs), path_(std::move(path)) {}
  IOStatus Read(uint64_t offset, size_t n, const IOOptions& o, Slice* result, char* scratch,
                IODebugContext* dbg) const override {
    if (fs_->ShouldFail(FaultInjectionFs::Op::kRead, path_)) return Injected("read");
    return target()->Read(offset, n, o, result, scratch, dbg);
  }
  IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t n, const IOOptions& o,
                     IODebugContext* dbg) override {
    if (fs_->ShouldFail(FaultInjectionFs::Op::kRead, path_)) return Injected("read");
    return target()->MultiRead(reqs, n, o, dbg);
  }

 private:
  FaultInjectionFs* fs_;
  const std::string path_;
};

class FaultDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  FaultDirectory(std::unique_ptr<rocksdb::FSDirectory> d, FaultInjectionFs* fs, std::string dir)
      : FSDirectoryWrapper(std::move(d)), fs_(fs), dir_(std::move(dir)) {}
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    return Synced(FSDirectoryWrapper::Fsync(o, dbg));
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& d) override {
    return Synced(FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, d));
  }

 private:
  IOStatus Synced(IOStatus real) {
    if (fs_->ShouldFail(FaultInjectionFs::Op::kSync, dir_ + "/")) return Injected("dir sync");
    if (real.ok()) fs_->DirSynced(dir_);
    return real;
  }
  FaultInjectionFs* fs_;
  const std::string dir_;
};

}  // namespace

void FaultInjectionFs::FailSyncs(bool on, std::string name_part) {
  std::lock_guard lock(mu_);
  sync_fault_ = {on, std::move(name_part)};
}
void FaultInjectionFs::FailWrites(bool on, std::string name_part) {
  std::lock_guard lock(mu_);
  write_fault_ = {on, std::move(name_part)};
}
void FaultInjectionFs::FailReads(bool on, std::string name_part) {
  std::lock_guard lock(mu_);
  read_fault_ = {on, std::move(name_part)};
}

bool FaultInjectionFs::ShouldFail(Op op, const std::string& path) {
  bool fail = op != Op::kRead && powered_off_.load();
  if (!fail) {
    std::lock_guard lock(mu_);
    const Fault& f = op == Op::kSync ? sync_fault_ : op == Op::kWrite ? write_fault_ : read_fault_;
    fail = f.on && path.find(f.name_part) != std::string::npos;
  }
  if (fail) ++injected_;
  return fail;
}

void FaultInjectionFs::Appended(const std::string& path, uint64_t new_size, bool synced) {
  std::lock_guard lock(mu_);
  FileState& f = files_[path];
  f.size = new_size;
  if (synced) f.synced = new_size;
}

void FaultInjectionFs::DirSynced(const std::string& dir) {
  std::lock_guard lock(mu_);
  for (auto& [path, f] : files_) {
    if (DirOf(path) == dir) f.new_entry = false;
  }
}

IOStatus FaultInjectionFs::Track(const std::string& f, bool created) {
  uint64_t size = 0;
  std::error_code ec;
  if (!created && std::filesystem::exists(f, ec)) size = std::filesystem::file_size(f, ec);
  std::lock_guard lock(mu_);
  FileState& st = files_[Normal(f)];
  st = FileState{size, size, created};
  return IOStatus::OK();
}

IOStatus FaultInjectionFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                                           IODebugContext* dbg) {
  if (ShouldFail(Op::kWrite, f)) return Injected("create");
  std::unique_ptr<rocksdb::FSWritableFile> real;
  IOStatus s = target()->NewWritableFile(f, o, &real, dbg);
  if (!s.ok()) return s;
  Track(f, /*created=*/true);
  *r = std::make_unique<FaultWritableFile>(std::move(real), this, Normal(f), 0);
  return s;
}

IOStatus FaultInjectionFs::ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              IODebugContext* dbg) {
  if (ShouldFail(Op::kWrite, f)) return Injected("reopen");
  const bool existed = std::filesystem::exists(f);
  std::unique_ptr<rocksdb::FSWritableFile> real;
  IOStatus s = target()->ReopenWritableFile(f, o, &real, dbg);
  if (!s.ok()) return s;
  Track(f, /*created=*/!existed);
  const uint64_t size = existed ? std::filesystem::file_size(f) : 0;
  *r = std::make_unique<FaultWritableFile>(std::move(real), this, Normal(f), size);
  return s;
}

IOStatus FaultInjectionFs::NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                               std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                               IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSRandomAccessFile> real;
  IOStatus s = target()->NewRandomAccessFile(f, o, &real, dbg);
  if (s.ok()) *r = std::make_unique<FaultRandomAccessFile>(std::move(real), this, Normal(f));
  return s;
}

IOStatus FaultInjectionFs::NewDirectory(const std::string& name, const IOOptions& o,
                                        std::unique_ptr<rocksdb::FSDirectory>* r,
                                        IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSDirectory> real;
  IOStatus s = target()->NewDirectory(name, o, &real, dbg);
  if (s.ok()) *r = std::make_unique<FaultDirectory>(std::move(real), this, Normal(name));
  return s;
}

IOStatus FaultInjectionFs::RenameFile(const std::string& s, const std::string& t,
                                      const IOOptions& o, IODebugContext* dbg) {
  if (ShouldFail(Op::kWrite, t)) return Injected("rename");
  IOStatus st = target()->RenameFile(s, t, o, dbg);
  if (!st.ok()) return st;
  std::lock_guard lock(mu_);
  FileState moved;
  if (auto it = files_.find(Normal(s)); it != files_.end()) {
    moved = it->second;
    files_.erase(it);
  } else {
    moved.size = moved.synced = std::filesystem::file_size(t);
  }
  moved.new_entry = true;  // the new name is durable once the directory is synced
  files_[Normal(t)] = moved;
  return st;
}

IOStatus FaultInjectionFs::DeleteFile(const std::string& f, const IOOptions& o,
                                      IODebugContext* dbg) {
  if (ShouldFail(Op::kWrite, f)) return Injected("delete");
  IOStatus s = target()->DeleteFile(f, o, dbg);
  if (s.ok()) {
    std::lock_guard lock(mu_);
    files_.erase(Normal(f));
  }
  return s;
}

int FaultInjectionFs::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  int changed = 0;
  for (const auto& [path, f] : files_) {
    std::error_code ec;
    if (f.new_entry) {
      changed += std::filesystem::remove(path, ec) ? 1 : 0;
    } else if (std::filesystem::exists(path, ec) &&
               std::filesystem::file_size(path, ec) > f.synced) {
      changed += ::truncate(path.c_str(), static_cast<off_t>(f.synced)) == 0 ? 1 : 0;
    }
  }
  files_.clear();
  sync_fault_ = write_fault_ = read_fault_ = Fault{};
  powered_off_ = false;
  return changed;
}

std::unique_ptr<rocksdb::Env> NewFaultInjectionEnv(const std::shared_ptr<FaultInjectionFs>& fs) {
  return rocksdb::NewCompositeEnv(fs);
}

}  // namespace eragon::testing
