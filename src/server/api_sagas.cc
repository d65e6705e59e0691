// Sagas: /v1/sagas... (API.md "Sagas"). Running them is saga::SagaEngine's job, wired in
// app.cc; these handlers change and show definitions and show instances.
#include <charconv>

#include "core/json.h"
#include "saga/saga_def.h"
#include "saga/saga_engine.h"
#include "saga/saga_instance.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;

namespace {

Status CheckName(std::string_view name) {
  if (saga::IsValidSagaName(name)) return Status::Ok();
  return Status::InvalidArgument("name: '" + std::string(name) +
                                 "' must match ^[a-z0-9][a-z0-9-]{0,58}$");
}

void SagaToJson(const config::SagaDefinition& s, JsonWriter& w) {
  // The stored definition is canonical JSON: splice it and add the stored fields.
  std::string_view def = TrimJsonWhitespace(s.definition);
  w.Raw(def.substr(0, def.size() - 1));
  std::string* out = w.out();
  out->append(",\"service\":");
  AppendJsonString(out, "saga-" + s.name);
  out->append(",\"version\":" + std::to_string(s.version));
  out->append(",\"created_at\":" + std::to_string(s.created_at));
  out->append(",\"updated_at\":" + std::to_string(s.updated_at) + "}");
}

std::string SagaJson(const config::SagaDefinition& s) {
  std::string out;
  JsonWriter w(&out);
  SagaToJson(s, w);
  return out;
}

// Consumed types need a producer route (else no event of them can exist): 400 naming the
// field. Published types need one owned by saga-<name>: 404 unknown_event_type.
Status CheckRoutes(const ApiDeps& d, const saga::SagaDef& def) {
  auto need = [&](const std::string& type, const std::string& field) -> Status {
    ERAGON_ASSIGN_OR_RETURN(auto route, d.store->GetProducer(type));
    if (route) return Status::Ok();
    return Status::InvalidArgument(field + ": unknown event type '" + type +
                                   "' (no producer route)");
  };
  ERAGON_RETURN_IF_ERROR(need(def.trigger, "trigger"));
  for (size_t i = 0; i < def.steps.size(); ++i) {
    const std::string at = "steps[" + std::to_string(i) + "]";
    for (const std::string& t : def.steps[i].success)
      ERAGON_RETURN_IF_ERROR(need(t, at + ".success"));
    for (const std::string& t : def.steps[i].failure)
      ERAGON_RETURN_IF_ERROR(need(t, at + ".failure"));
  }
  for (const std::string& type : def.PublishedTypes()) {
    ERAGON_ASSIGN_OR_RETURN(auto route, d.store->GetProducer(type));
    if (!route || route->producer != def.service()) {
      return Status::UnknownEventType(
          "no producer route for event type '" + type + "' with producer '" + def.service() + "'" +
          (route ? " (its producer is '" + route->producer + "')" : std::string()));
    }
  }
  return Status::Ok();
}

// The saga's service: created with the saga as a producer. Its token is never shown (the
// saga publishes from inside eragond); an existing service is kept as it is.
Status EnsureService(const ApiDeps& d, const std::string& name) {
  ERAGON_ASSIGN_OR_RETURN(auto existing, d.store->GetService(name));
  if (existing) return Status::Ok();
  config::Service s{name, {"producer"}, HashToken(NewToken()), d.clock->WallMs()};
  return d.store->PutService(s).status();
}

HttpResponse ListSagas(const ApiDeps& d, const Caller&, const HttpRequest&) {
  auto sagas = d.store->sagas()->ListSagas();
  if (!sagas.ok()) return StatusResponse(sagas.status());
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("items").BeginArray();
  for (const config::SagaDefinition& s : *sagas) SagaToJson(s, w);
  w.EndArray().Key("next").Null().EndObject();
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse GetSaga(const ApiDeps& d, const Caller&, const HttpRequest& req) {
  std::string name(req.Param("name"));
  if (Status st = CheckName(name); !st.ok()) return StatusResponse(st);
  auto s = d.store->sagas()->GetSaga(name);
  if (!s.ok()) return StatusResponse(s.status());
  if (!*s) return StatusResponse(Status::NotFound("no saga '" + name + "'"));
  return HttpResponse::Json(200, SagaJson(**s));
}

HttpResponse PutSaga(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  auto def = saga::ParseSagaDef(req.body, std::string(req.Param("name")));
  if (!def.ok()) return StatusResponse(def.status());
  if (Status st = CheckRoutes(d, *def); !st.ok()) return StatusResponse(st);
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  auto old = d.store->sagas()->GetSaga(def->name);
  if (!old.ok()) return StatusResponse(old.status());
  if (Status st = EnsureService(d, def->service()); !st.ok()) return StatusResponse(st);
  const int64_t now = d.clock->WallMs();
  config::SagaDefinition s{def->name, saga::SagaDefToJson(*def), *old ? (*old)->version + 1 : 1,
                           *old ? (*old)->created_at : now, now};
  auto outcome = d.store->sagas()->PutSaga(s);
  if (!outcome.ok()) return StatusResponse(outcome.status());
  if (d.sagas != nullptr) d.sagas->Reload();
  return HttpResponse::Json(*outcome == config::PutOutcome::kCreated ? 201 : 200, SagaJson(s));
}

HttpResponse DeleteSaga(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  std::string name(req.Param("name"));
  if (Status st = CheckName(name); !st.ok()) return StatusResponse(st);
  auto s = FoundForAdmin(d.store->sagas()->GetSaga(name), c, "no saga '" + name + "'");
  if (!s.ok()) return StatusResponse(s.status());
  if (Status st = d.store->sagas()->DeleteSaga(name); !st.ok()) return StatusResponse(st);
  if (d.sagas != nullptr) d.sagas->Reload();
  return HttpResponse::Empty(204);
}

Status ParseLimit(const HttpRequest& req, size_t* limit) {
  if (auto l = req.Query("limit")) {
    auto r = std::from_chars(l->data(), l->data() + l->size(), *limit);
    if (r.ec != std::errc() || r.ptr != l->data() + l->size() || *limit < 1 || *limit > 1000) {
      return Status::InvalidArgument("limit: must be an integer from 1 to 1000");
    }
  }
  return Status::Ok();
}

// A saga that was deleted still shows the instances it ran.
Status CheckSagaKnown(const ApiDeps& d, const std::string& name) {
  ERAGON_ASSIGN_OR_RETURN(auto s, d.store->sagas()->GetSaga(name));
  if (s) return Status::Ok();
  ERAGON_ASSIGN_OR_RETURN(auto any, d.store->sagas()->ListInstances(name, "", "", 1));
  if (!any.empty()) return Status::Ok();
  return Status::NotFound("no saga '" + name + "'");
}

HttpResponse ListInstances(const ApiDeps& d, const Caller&, const HttpRequest& req) {
  std::string name(req.Param("name"));
  std::string state(req.Query("state").value_or(""));
  size_t limit = 100;
  Status st = CheckName(name);
  if (st.ok() && !state.empty() && state != "running" && state != "completed" &&
      state != "failed") {
    st = Status::InvalidArgument("state: must be running, completed or failed");
  }
  if (st.ok()) st = ParseLimit(req, &limit);
  if (st.ok()) st = CheckSagaKnown(d, name);
  if (!st.ok()) return StatusResponse(st);
  std::string after(req.Query("after").value_or(""));
  auto rows = d.store->sagas()->ListInstances(name, state, after, limit);
  if (!rows.ok()) return StatusResponse(rows.status());
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("items").BeginArray();
  for (const config::SagaInstanceRow& row : *rows) {
    Result<saga::Instance> in = saga::Instance::FromRow(row);
    if (!in.ok()) return StatusResponse(in.status());
    in->ToJson(w);
  }
  w.EndArray().Key("next");
  if (rows->size() == limit) {
    w.String(rows->back().id);
  } else {
    w.Null();
  }
  w.EndObject();
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse GetInstance(const ApiDeps& d, const Caller&, const HttpRequest& req) {
  std::string name(req.Param("name"));
  std::string id(req.Param("id"));
  if (Status st = CheckName(name); !st.ok()) return StatusResponse(st);
  auto row = d.store->sagas()->GetInstance(name, id);
  if (!row.ok()) return StatusResponse(row.status());
  if (!*row)
    return StatusResponse(Status::NotFound("no instance '" + id + "' of saga '" + name + "'"));
  Result<saga::Instance> in = saga::Instance::FromRow(**row);
  if (!in.ok()) return StatusResponse(in.status());
  std::string out;
  JsonWriter w(&out);
  in->ToJson(w);
  return HttpResponse::Json(200, std::move(out));
}

}  // namespace

void Api::RegisterSagas(http::Router& router) {
  router.Get("/v1/sagas", OnWorkers(ListSagas));
  router.Get("/v1/sagas/{name}", OnWorkers(GetSaga));
  router.Put("/v1/sagas/{name}", OnWorkersSynced(PutSaga));
  router.Delete("/v1/sagas/{name}", OnWorkersSynced(DeleteSaga));
  router.Get("/v1/sagas/{name}/instances", OnWorkers(ListInstances));
  router.Get("/v1/sagas/{name}/instances/{id}", OnWorkers(GetInstance));
}

}  // namespace eragon::server
