// Pull (fetch, ack, nack) and dead letters, redrive, replay and seek.
#include <algorithm>
#include <charconv>

#include "core/event_codec.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/names.h"
#include "server/api.h"

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

// Straight into one buffer sized up front: the events' data dominate (1 KiB each in the
// benchmark), the rest is the envelope and the other fields.
std::string MessagesJson(const std::vector<dispatch::PulledMessage>& msgs) {
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

// A consumer acts only as itself; admins may act for anyone.
Status RequireSelf(const Caller& c, std::string_view consumer) {
  if (c.admin || (c.consumer && c.service == consumer)) return Status::Ok();
  return Status::PermissionDenied("service '" + c.service + "' may not act as consumer '" +
                                  std::string(consumer) + "'");
}

}  // namespace

void Api::RegisterConsumers(http::Router& router) {
  // Pull endpoints: the consumer name must be valid, the caller must be that consumer.
  auto pull = [this](auto work) {
    return [this, work](HttpRequest&& req, Responder respond) {
      std::optional<Caller> caller = Authenticate(req, respond);
      if (!caller) return;
      std::string consumer(req.Param("consumer"));
      Result<simdjson::dom::element> body = ObjectBody(req.body);
      if (!IsValidServiceName(consumer)) {
        respond(StatusResponse(Status::InvalidArgument("consumer: not a valid service name")));
      } else if (!body.ok()) {
        respond(StatusResponse(body.status()));
      } else if (Status st = RequireSelf(*caller, consumer); !st.ok()) {
        respond(StatusResponse(st));
      } else {
        work(consumer, *body, std::move(respond));
      }
    };
  };

  router.Post(
      "/v1/consumers/{consumer}/fetch",
      pull([this](const std::string& consumer, simdjson::dom::element body, Responder respond) {
        int64_t max = 100, wait_ms = 5000, ack_timeout = 30'000;
        for (Status st : {IntField(body, "max", 1, 1000, &max),
                          IntField(body, "wait_ms", 0, kMaxWaitMs, &wait_ms),
                          IntField(body, "ack_timeout_ms", 1, kMaxAckTimeoutMs, &ack_timeout)}) {
          if (!st.ok()) return respond(StatusResponse(st));
        }
        auto shared = std::make_shared<Responder>(std::move(respond));
        d_.dispatcher->Fetch(consumer, max, wait_ms, ack_timeout,
                             [shared](std::vector<dispatch::PulledMessage> msgs) {
                               (*shared)(HttpResponse::Json(200, MessagesJson(msgs)));
                             });
      }));

  router.Post(
      "/v1/consumers/{consumer}/ack",
      pull([this](const std::string& consumer, simdjson::dom::element body, Responder respond) {
        Result<std::vector<std::string>> ids = StringArray(body, "ack_ids", true);
        if (!ids.ok()) return respond(StatusResponse(ids.status()));
        auto shared = std::make_shared<Responder>(std::move(respond));
        d_.workers->Post([this, consumer, ids = std::move(*ids), shared] {
          Result<size_t> n = d_.dispatcher->Ack(consumer, ids);
          (*shared)(n.ok() ? HttpResponse::Json(200, "{\"acked\":" + std::to_string(*n) + "}")
                           : StatusResponse(n.status()));
        });
      }));

  router.Post(
      "/v1/consumers/{consumer}/nack",
      pull([this](const std::string& consumer, simdjson::dom::element body, Responder respond) {
        Result<std::vector<std::string>> ids = StringArray(body, "ack_ids", true);
        int64_t delay = 0;
        Status st =
            ids.ok() ? IntField(body, "delay_ms", 0, kMaxAckTimeoutMs, &delay) : ids.status();
        if (!st.ok()) return respond(StatusResponse(st));
        Result<size_t> n = d_.dispatcher->Nack(consumer, *ids, delay);
        respond(n.ok() ? HttpResponse::Json(200, "{\"nacked\":" + std::to_string(*n) + "}")
                       : StatusResponse(n.status()));
      }));

  RegisterDeadLetters(router);
}

void Api::RegisterDeadLetters(http::Router& router) {
  // Admin operations on one consumer route, run on the worker pool.
  auto admin = [this](auto work) {
    return [this, work](HttpRequest&& req, Responder respond) {
      std::optional<Caller> caller = Authenticate(req, respond);
      if (!caller) return;
      std::string type(req.Param("event_type")), consumer(req.Param("consumer"));
      Result<simdjson::dom::element> body = ObjectBody(req.body);
      if (!IsValidEventType(type) || !IsValidServiceName(consumer)) {
        return respond(
            StatusResponse(Status::InvalidArgument("event_type or consumer: invalid name")));
      }
      if (!body.ok()) return respond(StatusResponse(body.status()));
      auto shared = std::make_shared<Responder>(std::move(respond));
      // The DOM lives in this thread's parser: hand the raw body to the worker instead.
      d_.workers->Post([this, work, c = *caller, type, consumer, raw = std::move(req.body),
                        query = std::move(req.query), shared] {
        auto route = d_.store->GetConsumer(type, consumer);
        if (!route.ok()) return (*shared)(StatusResponse(route.status()));
        if (!*route) return (*shared)(StatusResponse(Status::NotFound("no such consumer route")));
        if (Status st = RequireAdmin(c); !st.ok()) return (*shared)(StatusResponse(st));
        Result<simdjson::dom::element> b = ObjectBody(raw);
        (*shared)(work(type, consumer, *b, query));
      });
    };
  };
  using Query = std::vector<std::pair<std::string, std::string>>;

  router.Get(
      "/v1/routes/{event_type}/consumers/{consumer}/dead",
      admin([this](const std::string& type, const std::string& consumer, simdjson::dom::element,
                   const Query& query) {
        size_t limit = 100;
        std::string after;
        for (const auto& [k, v] : query) {
          if (k == "after") {
            std::optional<std::string> key = HexDecode(v);
            if (!key || key->empty()) {
              return StatusResponse(
                  Status::InvalidArgument("after: not a cursor returned by this endpoint"));
            }
            after = std::move(*key);
          }
          if (k == "limit") {
            auto r = std::from_chars(v.data(), v.data() + v.size(), limit);
            if (r.ec != std::errc() || r.ptr != v.data() + v.size() || limit < 1 || limit > 1000) {
              return StatusResponse(
                  Status::InvalidArgument("limit: must be an integer from 1 to 1000"));
            }
          }
        }
        std::vector<dispatch::DeadLetter> dead =
            d_.deliveries->ListDead(consumer, type, after, limit);
        std::string out;
        JsonWriter w(&out);
        w.BeginObject().Key("items").BeginArray();
        for (const auto& d : dead) {
          w.BeginObject().Key("event");
          EventToJson(d.event, w);
          w.Key("attempts").Uint(d.attempts).Key("last_status").Int(d.last_status);
          w.Key("last_error").String(d.last_error).Key("dead_at").Int(d.dead_at).EndObject();
        }
        w.EndArray().Key("next");
        if (dead.size() == limit) {
          w.String(HexEncode(dead.back().key));
        } else {
          w.Null();
        }
        w.EndObject();
        return HttpResponse::Json(200, std::move(out));
      }));

  router.Post("/v1/routes/{event_type}/consumers/{consumer}/redrive",
              admin([this](const std::string& type, const std::string& consumer,
                           simdjson::dom::element body, const Query&) {
                Result<std::vector<std::string>> ids = StringArray(body, "ids", false);
                if (!ids.ok()) return StatusResponse(ids.status());
                Result<size_t> n = d_.dispatcher->Redrive(type, consumer, *ids);
                if (!n.ok()) return StatusResponse(n.status());
                return HttpResponse::Json(200, "{\"redriven\":" + std::to_string(*n) + "}");
              }));

  router.Post("/v1/routes/{event_type}/consumers/{consumer}/replay",
              admin([this](const std::string& type, const std::string& consumer,
                           simdjson::dom::element body, const Query&) {
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
                Status st = d_.dispatcher->Replay(type, consumer, from, ignore);
                if (!st.ok()) return StatusResponse(st);
                return HttpResponse::Json(200, "{\"replaying_from\":" + std::to_string(from) + "}");
              }));

  router.Post(
      "/v1/routes/{event_type}/consumers/{consumer}/seek",
      admin([this](const std::string& type, const std::string& consumer,
                   simdjson::dom::element body, const Query&) {
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
        Status st = d_.dispatcher->Seek(type, consumer, to);
        if (!st.ok()) return StatusResponse(st);
        return HttpResponse::Json(200, "{\"seeked\":true}");
      }));
}

}  // namespace eragon::server
