// What every `eragon` command shares: where the server is, the token, the output mode,
// and one call that turns an HTTP exchange into an exit code and a one-line error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/http_client.h"

namespace eragon::cli {

// Exit codes of the `eragon` command (README.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitApiError = 1;     // the server answered non-2xx
inline constexpr int kExitUsage = 2;        // bad command line or unreadable local input
inline constexpr int kExitUnreachable = 3;  // no answer from the server

struct CliContext {
  std::string url;       // --url, ERAGON_URL, else http://127.0.0.1:7070
  TlsClientFiles tls;    // https: --ca-file, --client-cert, --client-key (or ERAGON_...)
  std::string token;     // --token, ERAGON_TOKEN, else <data_dir>/admin.token
  std::string data_dir;  // --data-dir, default ./eragon-data
  bool json = false;     // --json: print the server's body as is
  bool token_from_file_missing = false;
};

// Sends one request with the context's token. On a 2xx answer stores it in `*reply` and
// returns kExitOk; otherwise prints one line on stderr (status, API error code and
// message) and returns kExitApiError or kExitUnreachable.
int CallApi(const CliContext& ctx, std::string_view method, const std::string& path,
            std::string_view body, HttpReply* reply, const HttpHeaders& extra_headers = {});
// The same on the caller's client, so a loop of calls keeps one connection alive and
// may use its own timeouts (long polls).
int CallApi(const CliContext& ctx, HttpClient& client, std::string_view method,
            const std::string& path, std::string_view body, HttpReply* reply,
            const HttpHeaders& extra_headers = {});

// A time given on the command line: milliseconds since the Unix epoch ("1764144000000")
// or RFC 3339 ("2026-11-26T08:00:00Z", "2026-11-26T09:00:00.5+01:00"). nullopt when
// neither.
std::optional<int64_t> ParseTimeArg(std::string_view text);

// "HTTP 404 not_found: <message>" (and "(retry after N s)") for a non-2xx answer.
std::string DescribeError(const HttpReply& reply);

// Percent-encodes one path segment or query value (all but RFC 3986 unreserved bytes).
std::string UrlEncode(std::string_view s);

// Prints "eragon: <message>" on stderr.
void PrintError(std::string_view message);

}  // namespace eragon::cli
