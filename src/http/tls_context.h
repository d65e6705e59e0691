// Internal to eragon_http: builds the server's TLS context from PEM files (tls_context.cc).
// Asio and OpenSSL types, no Beast; included by http_server_impl.h only.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "eragon/status.h"
#include "http/http_server.h"

namespace eragon::http::detail {

// A TLS 1.2+ server context with `files`' certificate chain and key (which must match).
// With a client CA file, every client must present a certificate that chains to it (the
// handshake fails otherwise). InvalidArgument naming the file and OpenSSL's reason when a
// file cannot be read or used.
Result<std::shared_ptr<boost::asio::ssl::context>> LoadServerTlsContext(
    const TlsServerFiles& files);

}  // namespace eragon::http::detail
