// Services and tokens: /v1/services... All on the worker pool (config store).
#include "config/route_codec.h"
#include "core/json.h"
#include "core/names.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;

namespace {

HttpResponse NameError(std::string_view name) {
  return StatusResponse(Status::InvalidArgument("name: '" + std::string(name) +
                                                "' must match ^[a-z0-9][a-z0-9-]{0,63}$"));
}

// Not paginated: one page of every service, `next` always null.
HttpResponse ListServices(const ApiDeps& d, const Caller& c, const HttpRequest&) {
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  auto services = d.store->ListServices();
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
}

HttpResponse DeleteService(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  std::string name(req.Param("name"));
  if (!IsValidServiceName(name)) return NameError(name);
  auto existing = FoundForAdmin(d.store->GetService(name), c, "no service '" + name + "'");
  if (!existing.ok()) return StatusResponse(existing.status());
  Status st = d.auth->DeleteService(name);
  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
}

HttpResponse PutService(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  std::string name(req.Param("name"));
  if (!IsValidServiceName(name)) return NameError(name);
  auto roles = config::ParseServiceRoles(req.body);
  if (!roles.ok()) return StatusResponse(roles.status());
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  auto result = d.auth->PutService(name, *roles);
  if (!result.ok()) return StatusResponse(result.status());
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("name").String(name).Key("roles").BeginArray();
  for (const std::string& r : *roles) w.String(r);
  w.EndArray().Key("token").String(result->first).EndObject();
  return HttpResponse::Json(result->second == config::PutOutcome::kCreated ? 201 : 200,
                            std::move(out));
}

}  // namespace

void Api::RegisterServices(http::Router& router) {
  router.Get("/v1/services", OnWorkers(ListServices));
  router.Put("/v1/services/{name}", OnWorkersSynced(PutService));
  router.Delete("/v1/services/{name}", OnWorkersSynced(DeleteService));
}

}  // namespace eragon::server
