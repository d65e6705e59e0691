// Schedules: /v1/schedules... (API.md "Schedules"). Firing is schedule::Scheduler's job,
// wired in app.cc; these handlers only change and show the stored schedules.
#include "core/json.h"
#include "core/names.h"
#include "schedule/schedule_codec.h"
#include "schedule/scheduler.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;

namespace {

Status ValidateScheduleName(std::string_view name) {
  if (IsValidScheduleName(name)) return Status::Ok();
  return Status::InvalidArgument("name: '" + std::string(name) +
                                 "' must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
}

// Not paginated: one page of every schedule, `next` always null.
HttpResponse ListSchedules(const ApiDeps& d, const Caller& c, const HttpRequest&) {
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  auto schedules = d.store->ListSchedules();
  if (!schedules.ok()) return StatusResponse(schedules.status());
  const int64_t now = d.clock->WallMs();
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("items").BeginArray();
  for (const config::Schedule& s : *schedules) schedule::ScheduleToJson(s, now, w);
  w.EndArray().Key("next").Null().EndObject();
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse GetSchedule(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  std::string name(req.Param("name"));
  if (Status st = ValidateScheduleName(name); !st.ok()) return StatusResponse(st);
  auto s = FoundForAdmin(d.store->GetSchedule(name), c, "no schedule '" + name + "'");
  if (!s.ok()) return StatusResponse(s.status());
  return HttpResponse::Json(200, schedule::ScheduleToJson(*s, d.clock->WallMs()));
}

HttpResponse PutSchedule(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  auto s = schedule::ParseSchedule(req.body, std::string(req.Param("name")));
  if (!s.ok()) return StatusResponse(s.status());
  auto producer = d.store->GetProducer(s->event_type);
  if (!producer.ok()) return StatusResponse(producer.status());
  if (!*producer) {
    return StatusResponse(
        Status::UnknownEventType("no producer destination for event type '" + s->event_type + "'"));
  }
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  auto old = d.store->GetSchedule(s->name);
  if (!old.ok()) return StatusResponse(old.status());
  const int64_t now = d.clock->WallMs();
  schedule::StampForPut(&*s, *old, now);
  auto outcome = d.store->PutSchedule(*s);
  if (!outcome.ok()) return StatusResponse(outcome.status());
  return HttpResponse::Json(*outcome == config::PutOutcome::kCreated ? 201 : 200,
                            schedule::ScheduleToJson(*s, now));
}

HttpResponse DeleteSchedule(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  std::string name(req.Param("name"));
  if (Status st = ValidateScheduleName(name); !st.ok()) return StatusResponse(st);
  auto s = FoundForAdmin(d.store->GetSchedule(name), c, "no schedule '" + name + "'");
  if (!s.ok()) return StatusResponse(s.status());
  Status st = d.store->DeleteSchedule(name);
  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
}

}  // namespace

void Api::RegisterSchedules(http::Router& router) {
  router.Get("/v1/schedules", OnWorkers(ListSchedules));
  router.Get("/v1/schedules/{name}", OnWorkers(GetSchedule));
  router.Put("/v1/schedules/{name}", OnWorkersSynced(PutSchedule));
  router.Delete("/v1/schedules/{name}", OnWorkersSynced(DeleteSchedule));
}

}  // namespace eragon::server
