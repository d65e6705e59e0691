// Router: maps (method, path) to a handler. Patterns are literal segments and
// `{name}` captures of one whole, non-empty segment:
//   router.Add(Method::kPut, "/v1/routes/{event_type}/consumers/{consumer}", handler);
// A path that matches no pattern answers 404 not_found; a path that matches a pattern
// only under other methods answers 405 with an Allow header.
//
// Thread safety: Add() only before the router is handed to a server; Dispatch() is then
// safe from many threads at once. The router must outlive every server and request
// that uses it (requests hold views of its pattern strings).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_message.h"
#include "http/responder.h"

namespace eragon::http {

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // REQUIRES: `pattern` starts with '/'; no (method, pattern) pair is added twice.
  void Add(Method method, std::string_view pattern, Handler handler);
  void Get(std::string_view pattern, Handler h) { Add(Method::kGet, pattern, std::move(h)); }
  void Post(std::string_view pattern, Handler h) { Add(Method::kPost, pattern, std::move(h)); }
  void Put(std::string_view pattern, Handler h) { Add(Method::kPut, pattern, std::move(h)); }
  void Delete(std::string_view pattern, Handler h) { Add(Method::kDelete, pattern, std::move(h)); }

  // Matches request.path, fills request.params and request.route, then calls the
  // handler, or answers 404/405 through `responder`. `*matched_route` (when not null)
  // is set to the pattern ("" when none matched) before the handler is called.
  void Dispatch(HttpRequest&& request, Responder responder,
                std::string_view* matched_route = nullptr) const;

 private:
  struct Route;
  static bool Match(const Route& route, const std::vector<std::string_view>& segments,
                    HttpRequest* request);

  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace eragon::http
