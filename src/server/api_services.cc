// Services and tokens: /v1/services...
#include "config/route_codec.h"
#include "core/json.h"
#include "core/names.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

void Api::RegisterServices(http::Router& router) {
  auto blocking = [this](auto work) {
    return [this, work](HttpRequest&& req, Responder respond) {
      std::optional<Caller> caller = Authenticate(req, respond);
      if (!caller) return;
      auto shared = std::make_shared<Responder>(std::move(respond));
      d_.workers->Post([work, c = std::move(*caller), r = std::move(req), shared]() mutable {
        (*shared)(work(c, r));
      });
    };
  };
  auto name_error = [](std::string_view name) {
    return StatusResponse(Status::InvalidArgument("name: '" + std::string(name) +
                                                  "' must match ^[a-z0-9][a-z0-9-]{0,63}$"));
  };

  router.Get("/v1/services", blocking([this](const Caller& c, const HttpRequest&) {
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               auto services = d_.store->ListServices();
               if (!services.ok()) return StatusResponse(services.status());
               std::string out;
               JsonWriter w(&out);
               w.BeginObject().Key("items").BeginArray();
               for (const config::Service& s : *services) {
                 w.BeginObject().Key("name").String(s.name).Key("roles").BeginArray();
                 for (const std::string& r : s.roles) w.String(r);
                 w.EndArray().Key("created_at").Int(s.created_at).EndObject();
               }
               w.EndArray().Key("next").Null().EndObject();
               return HttpResponse::Json(200, std::move(out));
             }));

  router.Put("/v1/services/{name}",
             blocking([this, name_error](const Caller& c, const HttpRequest& req) {
               std::string name(req.Param("name"));
               if (!IsValidServiceName(name)) return name_error(name);
               auto roles = config::ParseServiceRoles(req.body);
               if (!roles.ok()) return StatusResponse(roles.status());
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               auto result = d_.auth->PutService(name, *roles);
               if (!result.ok()) return StatusResponse(result.status());
               std::string out;
               JsonWriter w(&out);
               w.BeginObject().Key("name").String(name).Key("roles").BeginArray();
               for (const std::string& r : *roles) w.String(r);
               w.EndArray().Key("token").String(result->first).EndObject();
               return HttpResponse::Json(result->second == config::PutOutcome::kCreated ? 201 : 200,
                                         std::move(out));
             }));

  router.Delete("/v1/services/{name}",
                blocking([this, name_error](const Caller& c, const HttpRequest& req) {
                  std::string name(req.Param("name"));
                  if (!IsValidServiceName(name)) return name_error(name);
                  auto existing = d_.store->GetService(name);
                  if (!existing.ok()) return StatusResponse(existing.status());
                  if (!*existing)
                    return StatusResponse(Status::NotFound("no service '" + name + "'"));
                  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
                  Status st = d_.auth->DeleteService(name);
                  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
                }));
}

}  // namespace eragon::server
