// Pull (fetch, ack, nack) and dead letters, redrive, replay and seek.
#include <algorithm>
#include <charconv>

#include "core/event_codec.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/names.h"
#include "server/api.h"
#include "server/route_admin.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

namespace {

constexpr int64_t kMaxWaitMs = 60'000;
constexpr int64_t kMaxAckTimeoutMs = 12 * 3'600'000;

// Reads an optional integer field of a JSON object within [lo, hi].
Status IntField(const simdjson::dom::element& obj, const char* name, int64_t lo, int64_t hi,
                int64_t* out) {
  simdjson::dom::element v;
  if (obj[name].get(v) != simdjson::SUCCESS) return Status::Ok();
  int64_t n = 0;
  if (v.get_int64().get(n) != simdjson::SUCCESS || n < lo || n > hi) {
    return Status::InvalidArgument(std::string(name) + ": must be an integer from " +
                                   std::to_string(lo) + " to " + std::to_string(hi));
  }
  *out = n;
  return Status::Ok();
}

// Parses a body that must be a JSON object ("" counts as {}).
Result<simdjson::dom::element> ObjectBody(std::string_view body) {
  if (TrimJsonWhitespace(body).empty()) body = "{}";
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::element root, ParseJson(body));
  if (!root.is_object()) return Status::InvalidArgument("body: must be a JSON object");
  ERAGON_RETURN_IF_ERROR(CheckUniqueKeys(root));
  return root;
}

// The string array `name` of a JSON object (required when `required`).
Result<std::vector<std::string>> StringArray(const simdjson::dom::element& obj, const char* name,
                                             bool required) {
  std::vector<std::string> out;
  simdjson::dom::element v;
  if (obj[name].get(v) != simdjson::SUCCESS) {
    if (required) return Status::InvalidArgument(std::string(name) + ": required");
    return out;
  }
  simdjson::dom::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string(name) + ": must be an array of strings");
  }
  for (simdjson::dom::element e : arr) {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) {
      return Status::InvalidArgument(std::string(name) + ": must be an array of strings");
    }
    out.emplace_back(s);
  }
  if (out.size() > 1000) return Status::TooLarge(std::string(name) + ": at most 1000 entries");
  return out;
}

}  // namespace

std::string Authorization(const HttpRequest& req) {
  return std::string(req.Header("Authorization").value_or(""));
}

// Straight into one buffer sized up front: the events' data dominate (1 KiB each in the
// benchmark), the rest is the envelope and the other fields.
std::string PulledMessagesJson(const std::vector<dispatch::PulledMessage>& msgs) {
  size_t size = 32;
  for (const auto& m : msgs) {
    const Event& e = *m.event;
    size += 192 + m.ack_id.size() + e.id.size() + e.event_type.size() + e.entity_id.size() +
            e.producer.size() + e.traceparent.size() + e.data.size();
  }
  std::string out;
  out.reserve(size);
  JsonWriter w(&out);
  w.BeginObject().Key("messages").BeginArray();
  for (const auto& m : msgs) {
    w.BeginObject().Key("ack_id").String(m.ack_id).Key("attempt").Uint(m.attempt).Key("event");
    EventToJson(*m.event, w);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return out;
}

namespace {

// A consumer acts only as itself; admins may act for anyone.
Status RequireSelf(const Caller& c, std::string_view consumer) {
  if (c.admin || (c.consumer && c.service == consumer)) return Status::Ok();
  return Status::PermissionDenied("service '" + c.service + "' may not act as consumer '" +
                                  std::string(consumer) + "'");
}

struct PullCall {
  std::string consumer;
  simdjson::dom::element body;  // lives in this thread's parser until its next parse
};

// The checks of every pull call in API.md's order: the consumer's name and the body (400),
// then the caller is that consumer or an admin (403).
Result<PullCall> CheckPull(const Caller& caller, const HttpRequest& req) {
  PullCall call{std::string(req.Param("consumer")), {}};
  Result<simdjson::dom::element> body = ObjectBody(req.body);
  if (!IsValidServiceName(call.consumer)) {
    return Status::InvalidArgument("consumer: not a valid service name");
  }
  if (!body.ok()) return body.status();
  ERAGON_RETURN_IF_ERROR(RequireSelf(caller, call.consumer));
  call.body = *body;
  return call;
}

// POST /v1/consumers/{consumer}/ack: durable (fsynced) before the answer.
HttpResponse AckMessages(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  Result<PullCall> call = CheckPull(c, req);
  if (!call.ok()) return StatusResponse(call.status());
  Result<std::vector<std::string>> ids = StringArray(call->body, "ack_ids", true);
  if (!ids.ok()) return StatusResponse(ids.status());
  std::vector<std::string> missed;
  const bool fan_out = FansOut(d, req);
  Result<size_t> n = d.dispatcher->Ack(call->consumer, *ids, fan_out ? &missed : nullptr);
  if (!n.ok()) return StatusResponse(n.status());
  if (!missed.empty()) {
    *n += ForwardAcks(d, "ack", call->consumer, missed, -1, Authorization(req));
  }
  return HttpResponse::Json(200, "{\"acked\":" + std::to_string(*n) + "}");
}

}  // namespace

// Long-polls in the dispatcher, which answers (from its own thread) when messages come.
void Api::FetchMessages(HttpRequest&& req, Responder respond) {
  std::optional<Caller> caller = Authenticate(req, respond);
  if (!caller) return;
  Result<PullCall> call = CheckPull(*caller, req);
  if (!call.ok()) return respond(StatusResponse(call.status()));
  int64_t max = 100, wait_ms = 5000, ack_timeout = 30'000;
  for (Status st : {IntField(call->body, "max", 1, 1000, &max),
                    IntField(call->body, "wait_ms", 0, kMaxWaitMs, &wait_ms),
                    IntField(call->body, "ack_timeout_ms", 1, kMaxAckTimeoutMs, &ack_timeout)}) {
    if (!st.ok()) return respond(StatusResponse(st));
  }
  if (FansOut(d_, req)) {
    return FetchFromCluster(d_,
                            PullFetch{call->consumer, static_cast<size_t>(max), wait_ms,
                                      ack_timeout, Authorization(req)},
                            std::move(respond));
  }
  auto shared = std::make_shared<Responder>(std::move(respond));
  d_.dispatcher->Fetch(call->consumer, max, wait_ms, ack_timeout,
                       [shared](std::vector<dispatch::PulledMessage> msgs) {
                         (*shared)(HttpResponse::Json(200, PulledMessagesJson(msgs)));
                       });
}

// A nack changes the leased slots in memory only (the worker persists a retry later).
void Api::NackMessages(HttpRequest&& req, Responder respond) {
  std::optional<Caller> caller = Authenticate(req, respond);
  if (!caller) return;
  Result<PullCall> call = CheckPull(*caller, req);
  if (!call.ok()) return respond(StatusResponse(call.status()));
  Result<std::vector<std::string>> ids = StringArray(call->body, "ack_ids", true);
  int64_t delay = 0;
  Status st =
      ids.ok() ? IntField(call->body, "delay_ms", 0, kMaxAckTimeoutMs, &delay) : ids.status();
  if (!st.ok()) return respond(StatusResponse(st));
  std::vector<std::string> missed;
  Result<size_t> n =
      d_.dispatcher->Nack(call->consumer, *ids, delay, FansOut(d_, req) ? &missed : nullptr);
  if (!n.ok() || missed.empty()) {
    return respond(n.ok() ? HttpResponse::Json(200, "{\"nacked\":" + std::to_string(*n) + "}")
                          : StatusResponse(n.status()));
  }
  // Ids this node does not lease: the other nodes' (blocking calls, so on the peer threads).
  auto shared = std::make_shared<Responder>(std::move(respond));
  d_.peers->Post([d = d_, consumer = call->consumer, missed = std::move(missed), delay,
                  auth = Authorization(req), here = *n, shared] {
    size_t total = here + ForwardAcks(d, "nack", consumer, missed, delay, auth);
    (*shared)(HttpResponse::Json(200, "{\"nacked\":" + std::to_string(total) + "}"));
  });
}

void Api::RegisterConsumers(http::Router& router) {
  router.Post("/v1/consumers/{consumer}/fetch",
              [this](HttpRequest&& r, Responder s) { FetchMessages(std::move(r), std::move(s)); });
  router.Post("/v1/consumers/{consumer}/ack", OnWorkers(AckMessages));
  router.Post("/v1/consumers/{consumer}/nack",
              [this](HttpRequest&& r, Responder s) { NackMessages(std::move(r), std::move(s)); });
  RegisterDeadLetters(router);
}

namespace {

// An admin operation on one consumer route: `type` and `consumer` are valid names of an
// existing route, `body` a JSON object.
using ConsumerRouteOp = HttpResponse (*)(const ApiDeps& d, const std::string& type,
                                         const std::string& consumer, simdjson::dom::element body,
                                         const HttpRequest& req);

// The checks of every admin operation on a consumer route in API.md's order: the names
// and the body (400), the route (404), the admin role (403); then `op`.
BlockingHandler OnConsumerRoute(ConsumerRouteOp op) {
  return [op](const ApiDeps& d, const Caller& c, const HttpRequest& req) {
    std::string type(req.Param("event_type")), consumer(req.Param("consumer"));
    if (!IsValidEventType(type) || !IsValidServiceName(consumer)) {
      return StatusResponse(Status::InvalidArgument("event_type or consumer: invalid name"));
    }
    Result<simdjson::dom::element> body = ObjectBody(req.body);
    if (!body.ok()) return StatusResponse(body.status());
    auto route = FoundForAdmin(d.store->GetConsumer(type, consumer), c, "no such consumer route");
    if (!route.ok()) return StatusResponse(route.status());
    return op(d, type, consumer, *body, req);
  };
}

struct DeadQuery {
  std::string after;  // the store key to list after ("" = from the start)
  size_t limit = 100;
};

// ?after= must be a `next` of this endpoint (a hex-encoded store key), ?limit= 1..1000.
Result<DeadQuery> ParseDeadQuery(const HttpRequest& req) {
  DeadQuery q;
  for (const auto& [k, v] : req.query) {
    if (k == "after") {
      std::optional<std::string> key = HexDecode(v);
      if (!key || key->empty()) {
        return Status::InvalidArgument("after: not a cursor returned by this endpoint");
      }
      q.after = std::move(*key);
    }
    if (k == "limit") {
      auto r = std::from_chars(v.data(), v.data() + v.size(), q.limit);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size() || q.limit < 1 || q.limit > 1000) {
        return Status::InvalidArgument("limit: must be an integer from 1 to 1000");
      }
    }
  }
  return q;
}

// GET .../dead: oldest first; `next` is set whenever the page is full.
HttpResponse ListDeadLetters(const ApiDeps& d, const std::string& type, const std::string& consumer,
                             simdjson::dom::element, const HttpRequest& req) {
  Result<DeadQuery> q = ParseDeadQuery(req);
  if (!q.ok()) return StatusResponse(q.status());
  std::vector<dispatch::DeadLetter> dead =
      d.deliveries->ListDead(consumer, type, q->after, q->limit);
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("items").BeginArray();
  for (const auto& l : dead) {
    w.BeginObject().Key("event");
    EventToJson(l.event, w);
    w.Key("attempts").Uint(l.attempts).Key("last_status").Int(l.last_status);
    w.Key("last_error").String(l.last_error).Key("dead_at").Int(l.dead_at).EndObject();
  }
  w.EndArray().Key("next");
  if (dead.size() == q->limit) {
    w.String(HexEncode(dead.back().key));
  } else {
    w.Null();
  }
  w.EndObject();
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse RedriveDeadLetters(const ApiDeps& d, const std::string& type,
                                const std::string& consumer, simdjson::dom::element body,
                                const HttpRequest&) {
  Result<std::vector<std::string>> ids = StringArray(body, "ids", false);
  if (!ids.ok()) return StatusResponse(ids.status());
  Result<size_t> n = d.dispatcher->Redrive(type, consumer, *ids);
  if (!n.ok()) return StatusResponse(n.status());
  return HttpResponse::Json(200, "{\"redriven\":" + std::to_string(*n) + "}");
}

// The answer of a replay or seek; it tells a forwarding node how many partitions moved.
HttpResponse MovedResponse(const dispatch::Moved& moved, std::string body) {
  HttpResponse r = HttpResponse::Json(200, std::move(body));
  r.headers.Set(std::string(kMovedHeader), std::to_string(moved.partitions));
  return r;
}

HttpResponse Replay(const ApiDeps& d, const std::string& type, const std::string& consumer,
                    simdjson::dom::element body, const HttpRequest& req) {
  int64_t from = -1;
  if (Status st = IntField(body, "from", 0, INT64_MAX, &from); !st.ok()) {
    return StatusResponse(st);
  }
  if (from < 0) return StatusResponse(Status::InvalidArgument("from: required (ms)"));
  bool ignore = false;
  simdjson::dom::element v;
  if (body["ignore_dedup"].get(v) == simdjson::SUCCESS &&
      v.get_bool().get(ignore) != simdjson::SUCCESS) {
    return StatusResponse(Status::InvalidArgument("ignore_dedup: must be a boolean"));
  }
  dispatch::Moved moved;
  Status st = d.dispatcher->Replay(type, consumer, from, ignore, &moved);
  if (st.ok()) st = MovedEverywhere(d, req, "replay", type, consumer, &moved);
  if (!st.ok()) return StatusResponse(st);
  return MovedResponse(moved, "{\"replaying_from\":" + std::to_string(from) + "}");
}

HttpResponse Seek(const ApiDeps& d, const std::string& type, const std::string& consumer,
                  simdjson::dom::element body, const HttpRequest& req) {
  int64_t to = -1;
  simdjson::dom::element v;
  if (body["to"].get(v) != simdjson::SUCCESS) {
    return StatusResponse(Status::InvalidArgument("to: required (\"latest\" or ms)"));
  }
  std::string_view s;
  if (v.get_string().get(s) == simdjson::SUCCESS) {
    if (s != "latest") {
      return StatusResponse(Status::InvalidArgument("to: \"latest\" or a time in ms"));
    }
  } else if (v.get_int64().get(to) != simdjson::SUCCESS || to < 0) {
    return StatusResponse(Status::InvalidArgument("to: \"latest\" or a time in ms"));
  }
  dispatch::Moved moved;
  Status st = d.dispatcher->Seek(type, consumer, to, &moved);
  if (st.ok()) st = MovedEverywhere(d, req, "seek", type, consumer, &moved);
  if (!st.ok()) return StatusResponse(st);
  return MovedResponse(moved, "{\"seeked\":true}");
}

// POST .../enabled {"enabled": bool}: pauses or resumes the route and keeps every other
// setting, its secret and header values too (a GET hides them, so a PUT of what a GET
// showed would drop them). Answers {"enabled": bool}.
HttpResponse SetEnabled(const ApiDeps& d, const std::string& type, const std::string& consumer,
                        simdjson::dom::element body, const HttpRequest&) {
  bool enabled = false;
  simdjson::dom::element v;
  if (body["enabled"].get(v) != simdjson::SUCCESS ||
      v.get_bool().get(enabled) != simdjson::SUCCESS) {
    return StatusResponse(Status::InvalidArgument("enabled: required, true or false"));
  }
  Result<std::optional<config::ConsumerRoute>> route = d.store->GetConsumer(type, consumer);
  if (!route.ok()) return StatusResponse(route.status());
  if (!*route) return StatusResponse(Status::NotFound("no such consumer route"));
  config::ConsumerRoute changed = std::move(**route);
  changed.enabled = enabled;
  config::ConsumerRoute stored;
  Result<config::PutOutcome> outcome = d.route_admin->PutConsumer(std::move(changed), &stored);
  if (!outcome.ok()) return StatusResponse(outcome.status());
  return HttpResponse::Json(
      200, std::string("{\"enabled\":") + (stored.enabled ? "true" : "false") + "}");
}

}  // namespace

void Api::RegisterDeadLetters(http::Router& router) {
  const std::string route = "/v1/routes/{event_type}/consumers/{consumer}";
  router.Get(route + "/dead", OnWorkers(OnConsumerRoute(ListDeadLetters)));
  router.Post(route + "/redrive", OnWorkersSynced(OnConsumerRoute(RedriveDeadLetters)));
  router.Post(route + "/replay", OnWorkersSynced(OnConsumerRoute(Replay)));
  router.Post(route + "/seek", OnWorkersSynced(OnConsumerRoute(Seek)));
  router.Post(route + "/enabled", OnWorkersSynced(OnConsumerRoute(SetEnabled)));
}

}  // namespace eragon::server
