#include "server/api.h"

#include "http/http_error.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

HttpResponse StatusResponse(const Status& st) { return http::ErrorResponse(st); }

Status RequireAdmin(const Caller& caller) {
  if (caller.admin) return Status::Ok();
  return Status::PermissionDenied("service '" + caller.service + "' lacks the admin role");
}

std::optional<Caller> Api::Authenticate(const HttpRequest& req, Responder& respond) {
  Result<Caller> caller = d_.auth->Authenticate(req.Header("Authorization").value_or(""));
  if (!caller.ok()) {
    respond(StatusResponse(caller.status()));
    return std::nullopt;
  }
  return std::move(caller).value();
}

void Api::RegisterOps(http::Router& router) {
  router.Get("/healthz", [](HttpRequest&&, Responder respond) {
    respond(HttpResponse::Json(200, R"({"status":"ok"})"));
  });
  router.Get("/readyz", [this](HttpRequest&&, Responder respond) {
    auto shared = std::make_shared<Responder>(std::move(respond));
    d_.workers->Post([this, shared] {
      Result<int64_t> version = d_.store->Version();
      if (!version.ok()) {
        (*shared)(
            StatusResponse(Status::Unavailable("config store: " + version.status().message())));
        return;
      }
      for (const std::string& name : d_.logs->TopicNames()) {
        log::TopicLog* t = d_.logs->FindTopic(name);
        if (t != nullptr && !t->health().ok()) {
          (*shared)(StatusResponse(
              Status::Unavailable("log topic '" + name + "': " + t->health().message())));
          return;
        }
      }
      (*shared)(HttpResponse::Json(200, R"({"status":"ready"})"));
    });
  });
  router.Get("/metrics", [this](HttpRequest&&, Responder respond) {
    auto shared = std::make_shared<Responder>(std::move(respond));
    d_.workers->Post([this, shared] {
      HttpResponse r;
      r.status = 200;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      if (d_.dispatcher) {
        std::vector<Metrics::ConsumerGauges> gauges;
        for (const dispatch::ConsumerStats& s : d_.dispatcher->Stats()) {
          gauges.push_back({s.consumer, s.topic, double(s.stats.lag_events),
                            s.stats.lag_ms / 1000.0, s.stats.circuit_open,
                            double(d_.deliveries->CountDead(s.consumer))});
        }
        d_.metrics->SetConsumerGauges(gauges);
      }
      r.body = d_.metrics->Serialize(d_.logs);
      (*shared)(std::move(r));
    });
  });
}

void Api::Register(http::Router& router) {
  RegisterEvents(router);
  RegisterRoutes(router);
  RegisterServices(router);
  RegisterSchedules(router);
  RegisterOps(router);
  RegisterConsumers(router);
}

}  // namespace eragon::server
