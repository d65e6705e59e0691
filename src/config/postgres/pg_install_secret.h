// A cluster's install secret: the 32 bytes that key the ids the server derives (schedule
// ticks, saga steps, platform events; API.md "ids ... keyed with a per-install secret").
// A cluster is one install, so every node must derive the same ids: the first node to
// start stores its own secret in PostgreSQL (table install_secret), and every node uses
// the stored one from then on.
#pragma once

#include <string>

#include "eragon/status.h"

namespace eragon::config {

// Stores `proposed` (32 bytes) unless a secret is stored already, and answers the stored
// one. Unavailable when PostgreSQL cannot be reached, Corruption when the stored value is
// not 64 hex digits. REQUIRES: the schema is migrated (OpenPgConfigStore).
Result<std::string> SharedInstallSecret(const std::string& url, const std::string& proposed);

}  // namespace eragon::config
