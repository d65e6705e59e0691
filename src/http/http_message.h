// HttpRequest and HttpResponse: the HTTP messages that API handlers see. Plain structs
// with no Boost in sight, so handler code compiles fast and can be unit-tested without
// a socket. Not thread-safe; a message belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eragon::http {

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };

// "GET" → kGet; anything unknown → kOther. Method names are case-sensitive (RFC 9110).
Method ParseMethod(std::string_view name);
std::string_view MethodName(Method method);  // kOther → "OTHER"

// ASCII case-insensitive equality, for header names.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// An ordered list of header fields. Lookup by name is ASCII case-insensitive; values
// are kept as received (no folding of repeated fields).
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  void Add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every field called `name` by one with `value`.
  void Set(std::string_view name, std::string value);
  void Remove(std::string_view name);
  // The value of the first field called `name`, or nullopt. The view lives as long as
  // the field is neither removed nor replaced.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Contains(std::string_view name) const { return Get(name).has_value(); }
  // How many fields are called `name`.
  size_t Count(std::string_view name) const;

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void reserve(size_t n) { fields_.reserve(n); }
  void clear() { fields_.clear(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

struct HttpRequest {
  Method method = Method::kOther;
  std::string method_name;  // as received, e.g. "GET"
  std::string target;       // the raw request-target: "/v1/events?limit=10"
  std::string path;         // target up to '?', still percent-encoded
  // Query parameters in order, percent-decoded ('+' is a space).
  std::vector<std::pair<std::string, std::string>> query;
  // Path parameters captured by the matched route pattern, percent-decoded. The names
  // point into the Router, which outlives every request it dispatches.
  std::vector<std::pair<std::string_view, std::string>> params;
  // The matched route pattern ("/v1/routes/{event_type}/producer"); empty before routing
  // or when nothing matched. Points into the Router.
  std::string_view route;
  Headers headers;
  std::string body;
  int version = 11;  // 10 for HTTP/1.0, 11 for HTTP/1.1
  bool keep_alive = true;

  // The path parameter called `name`, or "" when the route has none of that name.
  std::string_view Param(std::string_view name) const;
  // The first query parameter called `name` (case-sensitive), or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  std::optional<std::string_view> Header(std::string_view name) const { return headers.Get(name); }

  // Sets `target`, `path` and `query` from a raw request-target.
  void SetTarget(std::string_view raw_target);
};

struct HttpResponse {
  int status = 200;
  // Empty means "application/json", the type of every API answer; sent only with a body.
  std::string content_type;
  // Extra fields. Content-Length, Content-Type and Connection are set by the server;
  // fields whose name or value holds CR, LF or NUL are dropped (no header injection).
  Headers headers;
  std::string body;

  static HttpResponse Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResponse Empty(int status) {
    HttpResponse r;
    r.status = status;
    return r;
  }
};

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). Invalid escapes are
// kept as they are.
std::string PercentDecode(std::string_view in, bool plus_is_space);

// The standard reason phrase ("Accepted"), or "Unknown".
std::string_view ReasonPhrase(int status);

}  // namespace eragon::http
