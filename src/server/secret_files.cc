#include "server/secret_files.h"

#include "core/hash.h"

namespace eragon::server {

Status WriteSecretFile(Env* env, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  if (env->Exists(tmp)) ERAGON_RETURN_IF_ERROR(env->RemoveFile(tmp));
  {
    ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, env->OpenWritable(tmp, 0600));
    ERAGON_RETURN_IF_ERROR(f->Write(0, data));
    ERAGON_RETURN_IF_ERROR(f->Sync());
    ERAGON_RETURN_IF_ERROR(f->Close());
  }
  ERAGON_RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDir(DirName(path));
}

Result<std::string> EnsureInstallSecret(Env* env, const std::string& data_dir) {
  const std::string path = data_dir + "/install.secret";
  if (env->Exists(path)) {
    ERAGON_ASSIGN_OR_RETURN(std::string text, ReadFileToString(env, path));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::optional<std::string> secret = HexDecode(text);
    if (!secret || secret->size() != 32) {
      return Status::InvalidArgument(path + ": not 64 hex digits (restore it from a backup)");
    }
    return *secret;
  }
  std::string secret = RandomBytes(32);
  ERAGON_RETURN_IF_ERROR(WriteSecretFile(env, path, HexEncode(secret) + "\n"));
  return secret;
}

}  // namespace eragon::server
