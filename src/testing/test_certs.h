// Test-only: a throw-away PKI made with OpenSSL's C API at run time.
#pragma once

#include <string>

#include "eragon/status.h"

namespace eragon::dispatch::testing {

struct TestPki {
  std::string ca_cert_file;      // PEM: the CA's self-signed certificate
  std::string server_cert_file;  // PEM: for localhost, 127.0.0.1 and ::1, signed by the CA
  std::string server_key_file;   // PEM: the server's private key (P-256)
  std::string client_cert_file;  // PEM: a client certificate (CN "client"), signed by the CA
  std::string client_key_file;   // PEM: its private key
};

// Creates a new CA and a server and a client certificate signed by it under `dir` (files
// prefixed with `name`). Every call makes new keys, so two PKIs never trust each other.
Result<TestPki> MakeTestPki(const std::string& dir, const std::string& name);

}  // namespace eragon::dispatch::testing
