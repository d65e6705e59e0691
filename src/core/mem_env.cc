#include "core/mem_env.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace eragon {
namespace {

// One inode: live bytes, and the bytes as of the last Sync (what survives power loss).
struct MemFile {
  std::mutex mu;
  std::string data;
  std::string synced;
  uint64_t dirty_lo = UINT64_MAX;  // [dirty_lo, dirty_hi) differs from `synced`
  uint64_t dirty_hi = 0;

  void MarkDirty(uint64_t lo, uint64_t hi) {
    dirty_lo = std::min(dirty_lo, lo);
    dirty_hi = std::max(dirty_hi, hi);
  }
  void Resize(uint64_t size) {
    MarkDirty(std::min<uint64_t>(size, data.size()), std::max<uint64_t>(size, data.size()));
    data.resize(size, '\0');
  }
  void Sync() {
    synced.resize(data.size(), '\0');
    uint64_t hi = std::min<uint64_t>(dirty_hi, data.size());
    if (dirty_lo < hi) synced.replace(dirty_lo, hi - dirty_lo, data, dirty_lo, hi - dirty_lo);
    dirty_lo = UINT64_MAX;
    dirty_hi = 0;
  }
  void RevertToSynced() {
    data = synced;
    dirty_lo = UINT64_MAX;
    dirty_hi = 0;
  }
};

// Injected faults, shared by the Env and its open files.
struct Faults {
  std::mutex mu;
  Status write_error;
  Status sync_error;
  Status preallocate_error;
  int64_t writes_left = -1;  // -1: unlimited
  int64_t sync_count = 0;

  Status OnWrite() {
    std::lock_guard<std::mutex> l(mu);
    if (!write_error.ok()) return write_error;
    if (writes_left == 0) return Status::IOError("injected write failure (EIO)");
    if (writes_left > 0) --writes_left;
    return Status::Ok();
  }
  Status OnSync() {
    std::lock_guard<std::mutex> l(mu);
    if (!sync_error.ok()) return sync_error;
    ++sync_count;
    return Status::Ok();
  }
};

std::string Normalize(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::shared_ptr<MemFile> f, std::shared_ptr<Faults> faults)
      : f_(std::move(f)), faults_(std::move(faults)) {}
  Status Write(uint64_t offset, std::string_view data) override {
    ERAGON_RETURN_IF_ERROR(faults_->OnWrite());
    std::lock_guard<std::mutex> l(f_->mu);
    if (f_->data.size() < offset + data.size()) f_->Resize(offset + data.size());
    f_->data.replace(offset, data.size(), data);
    f_->MarkDirty(offset, offset + data.size());
    return Status::Ok();
  }
  Status Sync() override {
    ERAGON_RETURN_IF_ERROR(faults_->OnSync());
    std::lock_guard<std::mutex> l(f_->mu);
    f_->Sync();
    return Status::Ok();
  }
  Status Preallocate(uint64_t size) override {
    {
      std::lock_guard<std::mutex> l(faults_->mu);
      if (!faults_->preallocate_error.ok()) return faults_->preallocate_error;
    }
    std::lock_guard<std::mutex> l(f_->mu);
    if (f_->data.size() < size) f_->Resize(size);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> l(f_->mu);
    f_->Resize(size);
    return Status::Ok();
  }
  Status Close() override { return Status::Ok(); }

 private:
  std::shared_ptr<MemFile> f_;
  std::shared_ptr<Faults> faults_;
};

class MemReadableFile final : public ReadableFile {
 public:
  explicit MemReadableFile(std::shared_ptr<MemFile> f) : f_(std::move(f)) {}
  Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    std::lock_guard<std::mutex> l(f_->mu);
    if (offset >= f_->data.size()) return size_t{0};
    size_t got = std::min<uint64_t>(n, f_->data.size() - offset);
    std::copy_n(f_->data.data() + offset, got, scratch);
    return got;
  }
  Result<uint64_t> Size() const override {
    std::lock_guard<std::mutex> l(f_->mu);
    return static_cast<uint64_t>(f_->data.size());
  }

 private:
  std::shared_ptr<MemFile> f_;
};

class MemEnvImpl;

class MemFileLock final : public FileLock {
 public:
  MemFileLock(MemEnvImpl* env, std::string path) : env_(env), path_(std::move(path)) {}
  ~MemFileLock() override;

 private:
  MemEnvImpl* env_;
  std::string path_;
};

class MemEnvImpl final : public MemEnv {
 public:
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path, int) override {
    std::string p = Normalize(path);
    std::lock_guard<std::mutex> l(mu_);
    if (!dirs_.count(DirName(p))) return Status::NotFound("no such directory: " + DirName(p));
    auto& f = live_[p];
    if (!f) f = std::make_shared<MemFile>();
    return std::unique_ptr<WritableFile>(new MemWritableFile(f, faults_));
  }

  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(Normalize(path));
    if (it == live_.end()) return Status::NotFound("no such file: " + path);
    return std::unique_ptr<ReadableFile>(new MemReadableFile(it->second));
  }

  Status CreateDirs(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    for (std::string d = Normalize(dir); d != "." && d != "/" && !d.empty(); d = DirName(d)) {
      if (live_.count(d)) return Status::IOError("not a directory: " + d);
      dirs_.insert(d);
    }
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    ERAGON_RETURN_IF_ERROR(faults_->OnSync());
    std::string d = Normalize(dir);
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = durable_.begin(); it != durable_.end();) {
      if (DirName(it->first) == d && !live_.count(it->first)) {
        it = durable_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [path, file] : live_) {
      if (DirName(path) == d) durable_[path] = file;
    }
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    std::string d = Normalize(dir);
    std::lock_guard<std::mutex> l(mu_);
    if (!dirs_.count(d)) return Status::NotFound("no such directory: " + dir);
    std::vector<std::string> names;
    auto add = [&](const std::string& path) {
      if (DirName(path) == d) names.push_back(path.substr(d.size() + 1));
    };
    for (const auto& entry : live_) add(entry.first);
    for (const auto& sub : dirs_) add(sub);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool Exists(const std::string& path) override {
    std::string p = Normalize(path);
    std::lock_guard<std::mutex> l(mu_);
    return live_.count(p) || dirs_.count(p);
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    auto f = Find(path);
    if (!f) return Status::NotFound("no such file: " + path);
    std::lock_guard<std::mutex> l(f->mu);
    return static_cast<uint64_t>(f->data.size());
  }

  Status RemoveFile(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    if (live_.erase(Normalize(path)) == 0) return Status::NotFound("no such file: " + path);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(Normalize(from));
    if (it == live_.end()) return Status::NotFound("no such file: " + from);
    auto f = it->second;
    live_.erase(it);
    live_[Normalize(to)] = std::move(f);
    return Status::Ok();
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    std::string p = Normalize(path);
    std::lock_guard<std::mutex> l(mu_);
    if (!locks_.insert(p).second) {
      return Status::Unavailable("directory " + DirName(p) +
                                 " is locked by another process (lock file " + p + ")");
    }
    if (!live_.count(p)) live_[p] = std::make_shared<MemFile>();
    return std::unique_ptr<FileLock>(new MemFileLock(this, p));
  }

  Result<DiskSpace> GetDiskSpace(const std::string&) override {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t used = 0;
    for (const auto& entry : live_) {
      std::lock_guard<std::mutex> fl(entry.second->mu);
      used += entry.second->data.size();
    }
    DiskSpace space;
    space.total_bytes = kDiskBytes;
    space.free_bytes = used >= kDiskBytes ? 0 : kDiskBytes - used;
    return space;
  }

  void DropUnsyncedData() override {
    std::lock_guard<std::mutex> l(mu_);
    live_ = durable_;
    for (auto& entry : live_) {
      std::lock_guard<std::mutex> fl(entry.second->mu);
      entry.second->RevertToSynced();
    }
  }

  void SetWriteError(Status s) override {
    std::lock_guard<std::mutex> l(faults_->mu);
    faults_->write_error = std::move(s);
    if (faults_->write_error.ok()) faults_->writes_left = -1;
  }
  void SetSyncError(Status s) override {
    std::lock_guard<std::mutex> l(faults_->mu);
    faults_->sync_error = std::move(s);
  }
  void SetPreallocateError(Status s) override {
    std::lock_guard<std::mutex> l(faults_->mu);
    faults_->preallocate_error = std::move(s);
  }
  void FailAfterNWrites(int64_t n) override {
    std::lock_guard<std::mutex> l(faults_->mu);
    faults_->writes_left = n;
  }
  int64_t SyncCount() const override {
    std::lock_guard<std::mutex> l(faults_->mu);
    return faults_->sync_count;
  }

  Status CorruptByte(const std::string& path, uint64_t offset, uint8_t xor_mask) override {
    auto f = Find(path);
    if (!f) return Status::NotFound("no such file: " + path);
    std::lock_guard<std::mutex> l(f->mu);
    if (offset >= f->data.size()) return Status::InvalidArgument("offset past end of file");
    f->data[offset] = static_cast<char>(f->data[offset] ^ xor_mask);
    f->synced = f->data;
    return Status::Ok();
  }
  Status TruncateFile(const std::string& path, uint64_t size) override {
    auto f = Find(path);
    if (!f) return Status::NotFound("no such file: " + path);
    std::lock_guard<std::mutex> l(f->mu);
    f->data.resize(size, '\0');
    f->synced = f->data;
    return Status::Ok();
  }
  Result<std::string> FileContents(const std::string& path) override {
    auto f = Find(path);
    if (!f) return Status::NotFound("no such file: " + path);
    std::lock_guard<std::mutex> l(f->mu);
    return f->data;
  }
  Status SetFileContents(const std::string& path, std::string data) override {
    auto f = Find(path);
    if (!f) return Status::NotFound("no such file: " + path);
    std::lock_guard<std::mutex> l(f->mu);
    f->data = std::move(data);
    f->synced = f->data;
    return Status::Ok();
  }

  void Unlock(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    locks_.erase(path);
  }

 private:
  static constexpr uint64_t kDiskBytes = 1ull << 30;

  std::shared_ptr<MemFile> Find(const std::string& path) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(Normalize(path));
    return it == live_.end() ? nullptr : it->second;
  }

  mutable std::mutex mu_;  // guards the maps below; taken before any MemFile::mu
  std::map<std::string, std::shared_ptr<MemFile>> live_;
  std::map<std::string, std::shared_ptr<MemFile>> durable_;  // entries as of last SyncDir
  std::set<std::string> dirs_{"/", "."};
  std::set<std::string> locks_;
  std::shared_ptr<Faults> faults_ = std::make_shared<Faults>();
};

MemFileLock::~MemFileLock() { env_->Unlock(path_); }

}  // namespace

std::unique_ptr<MemEnv> NewMemEnv() { return std::make_unique<MemEnvImpl>(); }

}  // namespace eragon
