// The dashboard (API.md "Dashboard"): the web console built from web/ (scripts/web-build)
// and embedded into eragond at build time (cmake/EmbedWeb.cmake), served at `/` without
// authentication (the pages sign in with a token and call the API themselves).
#pragma once

#include <span>
#include <string_view>

#include "http/router.h"

namespace eragon::server {

// One built file: its URL path ("/index.html", "/assets/app.js"), Content-Type, ETag
// (quoted) and bytes.
struct WebAsset {
  std::string_view path;
  std::string_view content_type;
  std::string_view etag;
  std::string_view body;
};

// Every embedded file (generated source).
std::span<const WebAsset> WebAssets();

// The answer for GET `path` with the request's If-None-Match: the file (200), 304 when
// the ETag matches, or 404 not_found for any path that is not exactly an embedded file
// (so nothing outside them, e.g. "/assets/../x", can be reached). "/" is index.html.
http::HttpResponse ServeWebAsset(std::string_view path, std::string_view if_none_match);

// GET / and GET /assets/{file}.
void RegisterDashboard(http::Router& router);

}  // namespace eragon::server
