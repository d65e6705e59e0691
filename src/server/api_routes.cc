// The routing table: /v1/routes...
#include "config/route_codec.h"
#include "core/json.h"
#include "core/names.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

namespace {

int PutStatus(config::PutOutcome o) { return o == config::PutOutcome::kCreated ? 201 : 200; }

Status ValidatePathNames(const HttpRequest& req) {
  if (req.route.find("{event_type}") == std::string_view::npos) return Status::Ok();
  std::string_view type = req.Param("event_type");
  if (!IsValidEventType(type)) {
    return Status::InvalidArgument("event_type: '" + std::string(type) +
                                   "' must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
  }
  std::string_view consumer = req.Param("consumer");
  if (!req.route.ends_with("{consumer}")) return Status::Ok();
  if (!IsValidServiceName(consumer)) {
    return Status::InvalidArgument("consumer: '" + std::string(consumer) +
                                   "' must match ^[a-z0-9][a-z0-9-]{0,63}$");
  }
  return Status::Ok();
}

std::string RoutesJson(const std::vector<config::ProducerRoute>& producers,
                       const std::vector<config::ConsumerRoute>& consumers) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("producers").BeginArray();
  for (const auto& p : producers) config::ProducerRouteToJson(p, w);
  w.EndArray().Key("consumers").BeginArray();
  for (const auto& c : consumers) config::ConsumerRouteToJson(c, w);
  w.EndArray().EndObject();
  return out;
}

template <typename T, typename ToJson>
HttpResponse EchoResponse(const Result<config::PutOutcome>& outcome, const T& stored,
                          ToJson to_json) {
  if (!outcome.ok()) return StatusResponse(outcome.status());
  std::string out;
  JsonWriter w(&out);
  to_json(stored, w);
  return HttpResponse::Json(PutStatus(*outcome), std::move(out));
}

}  // namespace

void Api::RegisterRoutes(http::Router& router) {
  // Runs `work(caller, req)` on the worker pool after authentication and path checks.
  auto blocking = [this](auto work) {
    return [this, work](HttpRequest&& req, Responder respond) {
      std::optional<Caller> caller = Authenticate(req, respond);
      if (!caller) return;
      if (Status st = ValidatePathNames(req); !st.ok()) {
        respond(StatusResponse(st));
        return;
      }
      auto shared = std::make_shared<Responder>(std::move(respond));
      d_.workers->Post([work, c = std::move(*caller), r = std::move(req), shared]() mutable {
        (*shared)(work(c, r));
      });
    };
  };

  router.Get("/v1/routes", blocking([this](const Caller& c, const HttpRequest&) {
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               auto producers = d_.store->ListProducers();
               if (!producers.ok()) return StatusResponse(producers.status());
               auto consumers = d_.store->ListConsumers();
               if (!consumers.ok()) return StatusResponse(consumers.status());
               return HttpResponse::Json(200, RoutesJson(*producers, *consumers));
             }));

  router.Get("/v1/routes/{event_type}/producer",
             blocking([this](const Caller& c, const HttpRequest& req) {
               auto route = d_.store->GetProducer(std::string(req.Param("event_type")));
               if (!route.ok()) return StatusResponse(route.status());
               if (!*route) return StatusResponse(Status::NotFound("no producer route"));
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               std::string out;
               JsonWriter w(&out);
               config::ProducerRouteToJson(**route, w);
               return HttpResponse::Json(200, std::move(out));
             }));

  router.Put(
      "/v1/routes/{event_type}/producer", blocking([this](const Caller& c, const HttpRequest& req) {
        auto route = config::ParseProducerRoute(req.body, std::string(req.Param("event_type")));
        if (!route.ok()) return StatusResponse(route.status());
        if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
        config::ProducerRoute stored;
        auto outcome = d_.route_admin->PutProducer(std::move(*route), &stored);
        return EchoResponse(outcome, stored, [](const auto& r, JsonWriter& w) {
          config::ProducerRouteToJson(r, w);
        });
      }));

  router.Delete("/v1/routes/{event_type}/producer",
                blocking([this](const Caller& c, const HttpRequest& req) {
                  std::string type(req.Param("event_type"));
                  auto route = d_.store->GetProducer(type);
                  if (!route.ok()) return StatusResponse(route.status());
                  if (!*route) {
                    return StatusResponse(Status::NotFound("no producer route for '" + type + "'"));
                  }
                  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
                  Status st = d_.route_admin->DeleteProducer(type);
                  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
                }));

  router.Get("/v1/routes/{event_type}/consumers/{consumer}",
             blocking([this](const Caller& c, const HttpRequest& req) {
               auto route = d_.store->GetConsumer(std::string(req.Param("event_type")),
                                                  std::string(req.Param("consumer")));
               if (!route.ok()) return StatusResponse(route.status());
               if (!*route) return StatusResponse(Status::NotFound("no such consumer route"));
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               std::string out;
               JsonWriter w(&out);
               config::ConsumerRouteToJson(**route, w);
               return HttpResponse::Json(200, std::move(out));
             }));

  router.Put("/v1/routes/{event_type}/consumers/{consumer}",
             blocking([this](const Caller& c, const HttpRequest& req) {
               auto route =
                   config::ParseConsumerRoute(req.body, std::string(req.Param("event_type")),
                                              std::string(req.Param("consumer")));
               if (!route.ok()) return StatusResponse(route.status());
               auto producer = d_.store->GetProducer(route->event_type);
               if (!producer.ok()) return StatusResponse(producer.status());
               if (!*producer) {
                 return StatusResponse(Status::UnknownEventType(
                     "no producer destination for event type '" + route->event_type + "'"));
               }
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               config::ConsumerRoute stored;
               auto outcome = d_.route_admin->PutConsumer(std::move(*route), &stored);
               if (outcome.ok() && d_.dispatcher) d_.dispatcher->RoutesChanged();
               return EchoResponse(outcome, stored, [](const auto& r, JsonWriter& w) {
                 config::ConsumerRouteToJson(r, w);
               });
             }));

  router.Delete("/v1/routes/{event_type}/consumers/{consumer}",
                blocking([this](const Caller& c, const HttpRequest& req) {
                  std::string type(req.Param("event_type"));
                  std::string consumer(req.Param("consumer"));
                  auto route = d_.store->GetConsumer(type, consumer);
                  if (!route.ok()) return StatusResponse(route.status());
                  if (!*route) return StatusResponse(Status::NotFound("no such consumer route"));
                  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
                  Status st = d_.route_admin->DeleteConsumer(type, consumer);
                  if (st.ok() && d_.dispatcher) st = d_.dispatcher->RouteRemoved(type, consumer);
                  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
                }));
}

}  // namespace eragon::server
