// GET /v1/events/{id}/attempts: the event's attempt histories (API.md "Delivery
// attempts"), from the delivery store, on the worker pool.
#include <algorithm>
#include <charconv>
#include <tuple>

#include "core/hash.h"
#include "core/json.h"
#include "core/names.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;

namespace {

// Where an item stands in the answer's order: oldest first, then by consumer, then in
// the consumer's own order. A cursor is the position of a page's last item.
struct Position {
  int64_t at = 0;
  std::string consumer;
  uint64_t index = 0;
  auto operator<=>(const Position&) const = default;
};

std::string EncodeCursor(const Position& p) {
  return HexEncode(std::to_string(p.at) + "\n" + p.consumer + "\n" + std::to_string(p.index));
}

template <typename T>
bool ParseWhole(std::string_view s, T* out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::optional<Position> DecodeCursor(std::string_view text) {
  std::optional<std::string> raw = HexDecode(text);
  if (!raw) return std::nullopt;
  const size_t a = raw->find('\n');
  const size_t b = a == std::string::npos ? a : raw->find('\n', a + 1);
  if (b == std::string::npos) return std::nullopt;
  Position p;
  p.consumer = raw->substr(a + 1, b - a - 1);
  if (!ParseWhole(std::string_view(*raw).substr(0, a), &p.at) ||
      !ParseWhole(std::string_view(*raw).substr(b + 1), &p.index) ||
      !IsValidServiceName(p.consumer)) {
    return std::nullopt;
  }
  return p;
}

struct AttemptsQuery {
  std::string consumer;  // "" = every consumer
  std::optional<Position> after;
  size_t limit = 100;
};

// ?consumer= a service name, ?limit= 1..1000, ?after= a `next` of this endpoint.
Result<AttemptsQuery> ParseAttemptsQuery(const HttpRequest& req) {
  AttemptsQuery q;
  for (const auto& [k, v] : req.query) {
    if (k == "consumer") {
      if (!IsValidServiceName(v)) return Status::InvalidArgument("consumer: not a service name");
      q.consumer = v;
    } else if (k == "after") {
      q.after = DecodeCursor(v);
      if (!q.after) return Status::InvalidArgument("after: not a cursor returned by this endpoint");
    } else if (k == "limit") {
      if (!ParseWhole(std::string_view(v), &q.limit) || q.limit < 1 || q.limit > 1000) {
        return Status::InvalidArgument("limit: must be an integer from 1 to 1000");
      }
    }
  }
  return q;
}

void AttemptJson(const dispatch::AttemptView& v, JsonWriter& w) {
  const dispatch::AttemptRecord& r = v.record;
  w.BeginObject().Key("consumer").String(v.consumer).Key("attempt").Uint(r.attempt);
  w.Key("kind").String(dispatch::AttemptKindName(r.kind)).Key("at").Int(r.at);
  w.Key("duration_ms").Int(r.duration_ms).Key("status").Int(r.status);
  w.Key("error").String(r.error).Key("node").String(r.node).EndObject();
}

}  // namespace

HttpResponse ListAttempts(const ApiDeps& d, const Caller& caller, const HttpRequest& req) {
  Result<AttemptsQuery> q = ParseAttemptsQuery(req);
  if (!q.ok()) return StatusResponse(q.status());
  Result<FoundEvent> found = FindRequestedEvent(d, caller, req);
  if (!found.ok()) return StatusResponse(found.status());
  const index::Location& loc = found->holder.loc;
  std::vector<dispatch::AttemptView> all;
  if (d.dispatcher) {
    all = d.dispatcher->AttemptsOf(found->event.event_type, loc.topic, loc.partition, loc.offset,
                                   q->consumer);
  }
  std::vector<std::pair<Position, const dispatch::AttemptView*>> items;
  std::map<std::string, uint64_t> seen;  // per consumer: its records so far
  for (const dispatch::AttemptView& v : all) {
    Position p{v.record.at, v.consumer, seen[v.consumer]++};
    if (!q->after || *q->after < p) items.emplace_back(std::move(p), &v);
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const bool more = items.size() > q->limit;
  if (more) items.resize(q->limit);
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("items").BeginArray();
  for (const auto& [p, v] : items) AttemptJson(*v, w);
  w.EndArray().Key("next");
  if (more) {
    w.String(EncodeCursor(items.back().first));
  } else {
    w.Null();
  }
  w.EndObject();
  return HttpResponse::Json(200, std::move(out));
}

}  // namespace eragon::server
