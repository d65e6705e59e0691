#include "testing/tls_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace eragon::testing {
namespace {

struct Free {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(SSL* p) const { SSL_free(p); }
};

std::string OpenSslError(const char* what) {
  unsigned long e = ERR_get_error();
  std::string msg = std::string(what) + ": ";
  msg += e != 0 ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown"
                : "connection closed";
  ERR_clear_error();
  return msg;
}

int ConnectLoopback(uint16_t port, std::string* error) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

std::unique_ptr<SSL_CTX, Free> MakeContext(const TlsClientSetup& setup, std::string* error) {
  std::unique_ptr<SSL_CTX, Free> ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  bool ok = SSL_CTX_load_verify_locations(ctx.get(), setup.ca_file.c_str(), nullptr) == 1;
  if (ok && !setup.client_cert_file.empty()) {
    ok = SSL_CTX_use_certificate_chain_file(ctx.get(), setup.client_cert_file.c_str()) == 1 &&
         SSL_CTX_use_PrivateKey_file(ctx.get(), setup.client_key_file.c_str(), SSL_FILETYPE_PEM) ==
             1;
  }
  if (!ok) {
    *error = OpenSslError("client set-up");
    return nullptr;
  }
  return ctx;
}

std::string IssuerCn(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, cn, sizeof(cn));
  X509_free(cert);
  return cn;
}

// Writes `request`, reads until the peer closes; sets `error` on a failure.
void Exchange(SSL* ssl, const std::string& request, TlsExchange* out) {
  if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) {
    out->error = OpenSslError("write");
    return;
  }
  char buf[16 * 1024];
  for (;;) {
    int n = SSL_read(ssl, buf, sizeof(buf));
    if (n > 0) {
      out->answer.append(buf, static_cast<size_t>(n));
      continue;
    }
    int err = SSL_get_error(ssl, n);
    bool clean_end = err == SSL_ERROR_ZERO_RETURN ||
                     (err == SSL_ERROR_SYSCALL && !out->answer.empty()) ||
                     (err == SSL_ERROR_SSL && !out->answer.empty());
    if (!clean_end) out->error = OpenSslError("read");
    ERR_clear_error();
    return;
  }
}

}  // namespace

TlsExchange TlsRequest(uint16_t port, const TlsClientSetup& setup, const std::string& request) {
  TlsExchange out;
  auto ctx = MakeContext(setup, &out.error);
  if (!ctx) return out;
  int fd = ConnectLoopback(port, &out.error);
  if (fd < 0) return out;
  std::unique_ptr<SSL, Free> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1");
  if (SSL_connect(ssl.get()) != 1) {
    out.error = OpenSslError("handshake");
  } else {
    out.peer_issuer = IssuerCn(ssl.get());
    Exchange(ssl.get(), request, &out);
    SSL_shutdown(ssl.get());
  }
  ssl.reset();
  ::close(fd);
  return out;
}

}  // namespace eragon::testing
