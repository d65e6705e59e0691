// The server's TLS context: TLS 1.2 or later, the certificate chain and key from PEM
// files, and optionally required client certificates. Loaded at start and again on
// HttpServer::ReloadTls (eragond: SIGHUP); a context that fails to load is never used.
#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

#include "http/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace eragon::http::detail {
namespace {

namespace ssl = boost::asio::ssl;
using ErrorCode = boost::system::error_code;

// "--tls-cert /x.pem: No such file or directory", checked before OpenSSL's vaguer
// "system lib" for a missing file.
Status Readable(const char* what, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    return Status::InvalidArgument(std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  std::fclose(f);
  return Status::Ok();
}

Status Failed(const char* what, const std::string& path, const ErrorCode& ec) {
  ERR_clear_error();
  return Status::InvalidArgument(std::string(what) + " " + path + ": " + ec.message());
}

Status RequireClientCerts(ssl::context& ctx, const std::string& ca_file) {
  ERAGON_RETURN_IF_ERROR(Readable("--tls-client-ca", ca_file));
  ErrorCode ec;
  if (ctx.load_verify_file(ca_file, ec)) return Failed("--tls-client-ca", ca_file, ec);
  // The CA names the server sends in its CertificateRequest, so clients pick the right
  // certificate.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
  if (names == nullptr) {
    ERR_clear_error();
    return Status::InvalidArgument("--tls-client-ca " + ca_file + ": no certificate in it");
  }
  SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  // Without a session id context OpenSSL refuses resumed sessions when clients are
  // verified.
  static constexpr unsigned char kSessionContext[] = "eragond";
  SSL_CTX_set_session_id_context(ctx.native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> LoadServerTlsContext(const TlsServerFiles& files) {
  ERAGON_RETURN_IF_ERROR(Readable("--tls-cert", files.cert_file));
  ERAGON_RETURN_IF_ERROR(Readable("--tls-key", files.key_file));
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::single_dh_use |
                   SSL_OP_NO_RENEGOTIATION);
  ErrorCode ec;
  if (ctx->use_certificate_chain_file(files.cert_file, ec)) {
    return Failed("--tls-cert", files.cert_file, ec);
  }
  if (ctx->use_private_key_file(files.key_file, ssl::context::pem, ec)) {
    return Failed("--tls-key", files.key_file, ec);
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("--tls-key " + files.key_file +
                                   " does not match the certificate in " + files.cert_file);
  }
  if (!files.client_ca_file.empty()) {
    ERAGON_RETURN_IF_ERROR(RequireClientCerts(*ctx, files.client_ca_file));
  }
  return ctx;
}

}  // namespace eragon::http::detail
