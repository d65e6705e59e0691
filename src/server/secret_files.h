// Secrets eragond keeps in its data dir: the admin token file and the install secret.
#pragma once

#include <string>
#include <string_view>

#include "eragon/env.h"
#include "eragon/status.h"

namespace eragon::server {

// Writes `data` to `path` atomically (temp file, fsync, rename, fsync of the dir), the
// file created with mode 0600.
Status WriteSecretFile(Env* env, const std::string& path, std::string_view data);

// The install secret: 32 random bytes kept (as 64 hex digits) in
// <data_dir>/install.secret, created on first start and the same on every later one. It
// keys the ids the server derives (schedule ticks), so no other service can predict them.
// A file that exists but does not hold 64 hex digits is an error (never replaced: a new
// secret would fire already-fired ticks again).
Result<std::string> EnsureInstallSecret(Env* env, const std::string& data_dir);

}  // namespace eragon::server
