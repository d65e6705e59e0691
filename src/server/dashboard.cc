#include "server/dashboard.h"

#include "http/http_error.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

namespace {

// The page may only load its own files and call this server; no framing (clickjacking).
constexpr std::string_view kPagePolicy =
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

const WebAsset* FindAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const WebAsset& a : WebAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

// True when an If-None-Match list names `etag` (or is "*").
bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  while (!if_none_match.empty()) {
    size_t comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

HttpResponse ServeWebAsset(std::string_view path, std::string_view if_none_match) {
  const WebAsset* a = FindAsset(path);
  if (a == nullptr)
    return http::ErrorResponse(Status::NotFound("no such file: " + std::string(path)));
  HttpResponse r;
  r.headers.Add("ETag", std::string(a->etag));
  // The file names carry no hash: the browser revalidates each time (a 304 when unchanged),
  // so a new eragond never leaves a stale page behind.
  r.headers.Add("Cache-Control", "no-cache");
  r.headers.Add("X-Content-Type-Options", "nosniff");
  if (a->path == "/index.html") {
    r.headers.Add("Content-Security-Policy", std::string(kPagePolicy));
    r.headers.Add("Referrer-Policy", "no-referrer");
  }
  if (EtagMatches(if_none_match, a->etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.content_type = std::string(a->content_type);
  r.body = std::string(a->body);
  return r;
}

void RegisterDashboard(http::Router& router) {
  auto serve = [](HttpRequest&& req, Responder respond) {
    respond(ServeWebAsset(req.path, req.Header("If-None-Match").value_or("")));
  };
  router.Get("/", serve);
  router.Get("/assets/{file}", serve);
}

}  // namespace eragon::server
