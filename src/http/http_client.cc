// All of Eragon's Boost.Beast client code. Blocking calls are built from Beast's async
// operations run to completion on a private io_context, because only the async
// operations of beast::tcp_stream honour its timeouts. https runs an Asio ssl::stream over
// that tcp_stream, so the same timeouts cover the handshake and the encrypted exchange.
#include <utility>  // before Boost: Boost 1.74 + GCC 12 in C++20 (DEPENDENCIES.md)

#include "http/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <optional>

namespace eragon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using beast::error_code;

Status TransportError(std::string_view what, const std::string& where, const error_code& ec) {
  std::string msg = std::string(what) + " " + where + ": ";
  msg += ec == beast::error::timeout ? "timed out" : ec.message();
  return Status::Unavailable(std::move(msg));
}

// True when `ec` means the peer closed a kept-alive connection under us.
bool IsClosedByPeer(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message || ec == ssl::error::stream_truncated;
}

// The TLS context of an https client: the system's CAs plus `options.tls.ca_file`, and the
// client certificate when given.
Status LoadClientTls(ssl::context& ctx, const HttpClientOptions& options) {
  error_code ec;
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_default_verify_paths(ec);  // no system CAs is not an error when ca_file is set
  if (!options.tls.ca_file.empty() && ctx.load_verify_file(options.tls.ca_file, ec)) {
    return Status::InvalidArgument("CA file " + options.tls.ca_file + ": " + ec.message());
  }
  if (options.tls.cert_file.empty() != options.tls.key_file.empty()) {
    return Status::InvalidArgument("a client certificate needs its key, and a key its certificate");
  }
  if (!options.tls.cert_file.empty() &&
      (ctx.use_certificate_chain_file(options.tls.cert_file, ec) ||
       ctx.use_private_key_file(options.tls.key_file, ssl::context::pem, ec))) {
    return Status::InvalidArgument("client certificate " + options.tls.cert_file + ": " +
                                   ec.message());
  }
  ctx.set_verify_mode(ssl::verify_peer);
  return Status::Ok();
}

// Asks `ssl` to verify the server's certificate for `host` (a name, with SNI, or an IP).
bool VerifyHost(SSL* ssl, const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (!ec) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
}

HttpReply ToReply(http::response<http::string_body>&& res) {
  HttpReply reply;
  reply.status = static_cast<int>(res.result_int());
  for (const auto& field : res.base()) {
    reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  reply.body = std::move(res.body());
  return reply;
}

}  // namespace

std::string HttpReply::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return "";
}

struct HttpClient::Conn {
  // Beast sizes each read by the buffer's free capacity (at least 512 bytes): reserve
  // room so an answer is read in one or a few recvmsg calls, not 512 bytes at a time.
  Conn() { buffer.reserve(64 * 1024); }

  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  std::optional<ssl::context> tls_context;             // https
  std::optional<ssl::stream<beast::tcp_stream&>> tls;  // https: per connection, over stream
  beast::flat_buffer buffer;
  bool open = false;

  template <typename F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(stream);
    }
  }

  // Runs the async operation started by `start` to completion; returns its error.
  template <typename Start>
  error_code Run(Start&& start) {
    error_code result;
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  Status Connect(const std::string& host, const std::string& port, const std::string& url,
                 int timeout_ms) {
    error_code ec;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) return TransportError("cannot resolve", host, ec);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    ec = Run([&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      Close();
      return TransportError("cannot connect to", url, ec);
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    open = true;
    if (tls_context) return Handshake(host, url);
    return Status::Ok();
  }

  // Within the connect timeout set by Connect.
  Status Handshake(const std::string& host, const std::string& url) {
    tls.emplace(stream, *tls_context);
    if (!VerifyHost(tls->native_handle(), host)) {
      Close();
      return Status::InvalidArgument("cannot verify a certificate for host '" + host + "'");
    }
    error_code ec = Run(
        [&](auto handler) { tls->async_handshake(ssl::stream_base::client, std::move(handler)); });
    if (!ec) return Status::Ok();
    long verify = SSL_get_verify_result(tls->native_handle());
    Close();
    if (verify != X509_V_OK) {
      return Status::Unavailable("TLS handshake with " + url + ": certificate verify failed: " +
                                 X509_verify_cert_error_string(verify));
    }
    return TransportError("TLS handshake with", url, ec);
  }

  error_code ReadAnswer(http::response_parser<http::string_body>& parser) {
    return Run([&](auto handler) {
      WithStream([&](auto& s) { http::async_read(s, buffer, parser, std::move(handler)); });
    });
  }

  void Close() {
    tls.reset();
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
    buffer.clear();
    open = false;
  }
};

HttpClient::HttpClient(std::string base_url, HttpClientOptions options)
    : base_url_(std::move(base_url)), options_(options), conn_(std::make_unique<Conn>()) {
  std::string_view rest = base_url_;
  const bool https = rest.substr(0, 8) == "https://";
  if (rest.substr(0, 7) != "http://" && !https) {
    url_status_ = Status::InvalidArgument("URL must start with http:// or https:// (got '" +
                                          base_url_ + "')");
    return;
  }
  rest.remove_prefix(https ? 8 : 7);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) prefix_ = std::string(rest.substr(slash));
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) colon = std::string_view::npos;
    host_ = std::string(authority.substr(1, close == std::string_view::npos ? 0 : close - 1));
    if (colon != std::string_view::npos && colon < close) colon = std::string_view::npos;
  } else {
    host_ = std::string(authority.substr(0, colon));
  }
  const char* default_port = https ? "443" : "80";
  port_ = colon == std::string_view::npos ? default_port : std::string(authority.substr(colon + 1));
  if (host_.empty() || port_.empty() ||
      port_.find_first_not_of("0123456789") != std::string::npos) {
    url_status_ = Status::InvalidArgument("cannot parse URL '" + base_url_ + "'");
    return;
  }
  if (https) {
    conn_->tls_context.emplace(ssl::context::tls_client);
    url_status_ = LoadClientTls(*conn_->tls_context, options_);
  }
}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (conn_->open) conn_->Close();
}

Result<HttpReply> HttpClient::Request(std::string_view method, std::string_view path,
                                      std::string_view body, const HttpHeaders& headers) {
  if (!url_status_.ok()) return url_status_;
  http::request<http::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(prefix_ + std::string(path));
  req.version(11);
  req.set(http::field::host, host_ + ":" + port_);
  req.set(http::field::user_agent, "eragon-client/1");
  bool has_content_type = false;
  for (const auto& [k, v] : headers) {
    req.insert(k, v);
    if (strcasecmp(k.c_str(), "content-type") == 0) has_content_type = true;
  }
  if (!body.empty() && !has_content_type) req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.keep_alive(true);
  req.prepare_payload();
  const bool head = method == "HEAD";

  Conn& c = *conn_;
  for (int attempt = 0;; ++attempt) {
    const bool reused = c.open;
    if (!c.open) {
      ERAGON_RETURN_IF_ERROR(c.Connect(host_, port_, base_url_, options_.connect_timeout_ms));
    }
    c.stream.expires_after(std::chrono::milliseconds(options_.request_timeout_ms));
    error_code ec = c.Run([&](auto handler) {
      c.WithStream([&](auto& s) { http::async_write(s, req, std::move(handler)); });
    });
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.max_reply_bytes);
    if (head) parser.skip(true);
    if (!ec) ec = c.ReadAnswer(parser);
    if (ec) {
      const bool retry = reused && attempt == 0 && !parser.got_some() && IsClosedByPeer(ec);
      c.Close();
      if (retry) continue;
      if (ec == http::error::body_limit) {
        return Status::TooLarge("answer from " + base_url_ + " is over the reply limit");
      }
      return TransportError("request to", base_url_, ec);
    }
    auto res = parser.release();
    const bool keep_alive = res.keep_alive();
    HttpReply reply = ToReply(std::move(res));
    if (!keep_alive) c.Close();
    return reply;
  }
}

Result<HttpReply> HttpClient::SendRaw(std::string_view raw) {
  if (!url_status_.ok()) return url_status_;
  Close();
  Conn& c = *conn_;
  ERAGON_RETURN_IF_ERROR(c.Connect(host_, port_, base_url_, options_.connect_timeout_ms));
  c.stream.expires_after(std::chrono::milliseconds(options_.request_timeout_ms));
  error_code ec = c.Run([&](auto handler) {
    c.WithStream([&](auto& s) {
      asio::async_write(s, asio::buffer(raw.data(), raw.size()), std::move(handler));
    });
  });
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_reply_bytes);
  if (!ec) ec = c.ReadAnswer(parser);
  // The connection is in an unknown state after a raw exchange: never reuse it.
  c.Close();
  if (ec) return TransportError("raw request to", base_url_, ec);
  return ToReply(parser.release());
}

}  // namespace eragon
