#include "cli/cli_context.h"

#include <simdjson.h>

#include <charconv>
#include <cstdio>
#include <iostream>

#include "core/time_format.h"

namespace eragon::cli {

void PrintError(std::string_view message) { std::cerr << "eragon: " << message << "\n"; }

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// "HTTP 404 not_found: no event with id x" from an API error body, or the raw body.
std::string DescribeError(const HttpReply& reply) {
  std::string line = "HTTP " + std::to_string(reply.status);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view code, message;
  if (!parser.parse(reply.body).get(doc) && !doc["error"]["code"].get(code) &&
      !doc["error"]["message"].get(message)) {
    line += " " + std::string(code) + ": " + std::string(message);
  } else if (!reply.body.empty()) {
    std::string body = reply.body.substr(0, 200);
    for (char& c : body) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    line += ": " + body;
  }
  if (std::string retry = reply.Header("Retry-After"); !retry.empty()) {
    line += " (retry after " + retry + " s)";
  }
  return line;
}

std::optional<int64_t> ParseTimeArg(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return ms;
  }
  return ParseRfc3339Ms(text);
}

int CallApi(const CliContext& ctx, std::string_view method, const std::string& path,
            std::string_view body, HttpReply* reply, const HttpHeaders& extra_headers) {
  HttpClientOptions options;
  options.tls = ctx.tls;
  HttpClient client(ctx.url, options);
  return CallApi(ctx, client, method, path, body, reply, extra_headers);
}

int CallApi(const CliContext& ctx, HttpClient& client, std::string_view method,
            const std::string& path, std::string_view body, HttpReply* reply,
            const HttpHeaders& extra_headers) {
  HttpHeaders headers = extra_headers;
  if (!ctx.token.empty()) headers.emplace_back("Authorization", "Bearer " + ctx.token);
  auto result = client.Request(method, path, body, headers);
  if (!result.ok()) {
    if (result.status().code() == Code::kInvalidArgument) {
      PrintError(result.status().message());
      return kExitUsage;
    }
    PrintError(result.status().message());
    return kExitUnreachable;
  }
  *reply = std::move(result).value();
  if (reply->status >= 200 && reply->status < 300) return kExitOk;
  std::string line = std::string(method) + " " + path + ": " + DescribeError(*reply);
  if (reply->status == 401 && ctx.token.empty()) {
    line +=
        " (no token: pass --token, set ERAGON_TOKEN, or point --data-dir at the "
        "server's data dir)";
  }
  PrintError(line);
  return kExitApiError;
}

}  // namespace eragon::cli
