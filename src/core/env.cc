// Env helpers shared by every Env implementation.
#include "eragon/env.h"

namespace eragon {

Result<std::string> ReadFileToString(Env* env, const std::string& path) {
  ERAGON_ASSIGN_OR_RETURN(auto file, env->OpenReadable(path));
  ERAGON_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string out(size, '\0');
  size_t done = 0;
  while (done < size) {
    ERAGON_ASSIGN_OR_RETURN(size_t n, file->Read(done, size - done, out.data() + done));
    if (n == 0) break;  // shrank while reading
    done += n;
  }
  out.resize(done);
  return out;
}

Status WriteFileAtomically(Env* env, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    ERAGON_ASSIGN_OR_RETURN(auto file, env->OpenWritable(tmp));
    ERAGON_RETURN_IF_ERROR(file->Truncate(0));
    ERAGON_RETURN_IF_ERROR(file->Write(0, data));
    ERAGON_RETURN_IF_ERROR(file->Sync());
    ERAGON_RETURN_IF_ERROR(file->Close());
  }
  ERAGON_RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(DirName(path));
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace eragon
