// TlsClientFiles: the PEM files a client of an https eragond may need (ProducerOptions::tls,
// ConsumerOptions::tls). All empty: the system's CAs only, no client certificate.
#pragma once

#include <string>

namespace eragon {

struct TlsClientFiles {
  // PEM CAs trusted besides the system's default ones, e.g. the private CA that signed
  // eragond's --tls-cert. The server's certificate is always verified against the
  // endpoint's host name or IP address.
  std::string ca_file;
  // Both or neither: a client certificate and its key (PEM), for an eragond started
  // with --tls-client-ca.
  std::string cert_file;
  std::string key_file;
};

}  // namespace eragon
