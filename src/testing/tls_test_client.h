// Test-only: one HTTPS exchange with plain OpenSSL (no Asio, no Beast), for tests of a TLS
// server: which certificate it shows, whether it asks for a client certificate, whether
// it answers.
#pragma once

#include <cstdint>
#include <string>

namespace eragon::testing {

struct TlsExchange {
  // Empty when the handshake succeeded and an answer was read to the end; otherwise what
  // failed: "connect: ...", "handshake: <OpenSSL reason>", "read: <OpenSSL reason>"
  // (TLS 1.3 reports a refused client certificate on the first read, after the client's
  // side of the handshake is done).
  std::string error;
  std::string answer;       // the raw HTTP answer (status line, header, body)
  std::string peer_issuer;  // the server certificate's issuer CN (after a handshake)
};

struct TlsClientSetup {
  std::string ca_file;           // PEM CAs the server must chain to (verified, host 127.0.0.1)
  std::string client_cert_file;  // optional client certificate (PEM) ...
  std::string client_key_file;   // ... and its key
};

// Connects to 127.0.0.1:`port`, handshakes as `setup` says and, when that succeeds,
// sends `request` (raw bytes, e.g. "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
// and reads until the server closes. Blocks up to 10 s.
TlsExchange TlsRequest(uint16_t port, const TlsClientSetup& setup, const std::string& request);

}  // namespace eragon::testing
