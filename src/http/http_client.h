// HttpClient: a small blocking HTTP/1.1 client for Eragon's API (used by the `eragon` CLI
// and by the integration tests). One connection, kept alive between requests and
// re-opened when the server closed it.
//
// Thread safety: none. Use one HttpClient per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eragon/status.h"
#include "eragon/tls.h"

namespace eragon {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;
  HttpHeaders headers;  // in the order received
  std::string body;

  // The first header named `name` (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

struct HttpClientOptions {
  // Limit for resolving and connecting, in milliseconds.
  int connect_timeout_ms = 5'000;
  // Limit for writing one request and reading its whole answer, in milliseconds.
  int request_timeout_ms = 30'000;
  // Answers with a body larger than this fail with kTooLarge.
  uint64_t max_reply_bytes = 64ull << 20;

  // https only: extra CAs and a client certificate (eragon/tls.h).
  TlsClientFiles tls;
};

class HttpClient {
 public:
  // `base_url` is "http://HOST:PORT" or "https://HOST:PORT" with an optional path prefix
  // ("http://h:1/api"). An invalid URL, or TLS files that cannot be loaded, are reported
  // by every Request (kInvalidArgument).
  explicit HttpClient(std::string base_url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads its answer. `path` starts with '/' and may hold a query.
  // A non-empty `body` is sent with Content-Type application/json unless `headers` names
  // another. Any HTTP status is a successful Result; errors are transport failures:
  // kUnavailable (cannot connect, TLS handshake or certificate verification failed,
  // connection lost, timeout; the message says which),
  // kInvalidArgument (bad URL), kTooLarge (answer over max_reply_bytes).
  //
  // When a kept-alive connection turns out to be closed by the server before any byte
  // of the answer arrived, the request is sent once more on a new connection (the
  // usual keep-alive race; Eragon's publish is idempotent by event id).
  Result<HttpReply> Request(std::string_view method, std::string_view path,
                            std::string_view body = {}, const HttpHeaders& headers = {});

  // Writes `raw` (a request as bytes, possibly malformed or incomplete) on a fresh
  // connection and reads one answer. For tests of the server's framing limits.
  Result<HttpReply> SendRaw(std::string_view raw);

  // Closes the connection; the next Request opens a new one.
  void Close();

  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }

 private:
  struct Conn;

  std::string base_url_;
  HttpClientOptions options_;
  Status url_status_;
  std::string host_;
  std::string port_;
  std::string prefix_;  // path prefix from the URL, without trailing '/'
  std::unique_ptr<Conn> conn_;
};

}  // namespace eragon
