#include "http/router.h"

#include <cstdlib>
#include <iostream>

#include "http/http_error.h"

namespace eragon::http {

struct Router::Route {
  Method method;
  std::string pattern;
  // One entry per segment: the literal text, or the capture name when `capture`.
  struct Segment {
    std::string_view text;
    bool capture;
  };
  std::vector<Segment> segments;  // views into `pattern`
  Handler handler;
};

namespace {

// Splits "/a/b/c" into {"a","b","c"}; "/" into {""}.
void SplitPath(std::string_view path, std::vector<std::string_view>* out) {
  out->clear();
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (;;) {
    size_t slash = path.find('/');
    out->push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

Router::Router() = default;
Router::~Router() = default;

void Router::Add(Method method, std::string_view pattern, Handler handler) {
  if (pattern.empty() || pattern.front() != '/') {
    std::cerr << "Router::Add: pattern must start with '/': " << pattern << "\n";
    std::abort();
  }
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern.assign(pattern);
  route->handler = std::move(handler);
  std::vector<std::string_view> parts;
  SplitPath(route->pattern, &parts);
  for (std::string_view part : parts) {
    bool capture = part.size() >= 2 && part.front() == '{' && part.back() == '}';
    if (capture) part = part.substr(1, part.size() - 2);
    route->segments.push_back({part, capture});
  }
  routes_.push_back(std::move(route));
}

bool Router::Match(const Route& route, const std::vector<std::string_view>& segments,
                   HttpRequest* request) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Route::Segment& s = route.segments[i];
    if (s.capture ? segments[i].empty() : s.text != segments[i]) return false;
  }
  if (request != nullptr) {
    request->params.clear();
    for (size_t i = 0; i < segments.size(); ++i) {
      const Route::Segment& s = route.segments[i];
      if (s.capture) request->params.emplace_back(s.text, PercentDecode(segments[i], false));
    }
    request->route = route.pattern;
  }
  return true;
}

void Router::Dispatch(HttpRequest&& request, Responder responder,
                      std::string_view* matched_route) const {
  // Thread-local so the hot path does not allocate once warm.
  thread_local std::vector<std::string_view> segments;
  SplitPath(request.path, &segments);

  std::string allow;
  const Route* found = nullptr;
  for (const auto& route : routes_) {
    if (!Match(*route, segments, nullptr)) continue;
    if (route->method == request.method) {
      found = route.get();
      break;
    }
    if (!allow.empty()) allow.append(", ");
    allow.append(MethodName(route->method));
  }
  if (found == nullptr) {
    if (matched_route != nullptr) *matched_route = {};
    if (allow.empty()) {
      responder(ErrorResponse(404, "not_found", "no such endpoint: " + request.path));
    } else {
      HttpResponse r = ErrorResponse(405, "method_not_allowed",
                                     request.method_name + " is not allowed on " + request.path);
      r.headers.Add("Allow", std::move(allow));
      responder(std::move(r));
    }
    return;
  }
  Match(*found, segments, &request);
  if (matched_route != nullptr) *matched_route = found->pattern;
  found->handler(std::move(request), std::move(responder));
}

}  // namespace eragon::http
