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
using http::Responder;

namespace {

Status ValidateScheduleName(std::string_view name) {
  if (IsValidScheduleName(name)) return Status::Ok();
  return Status::InvalidArgument("name: '" + std::string(name) +
                                 "' must match ^[a-z0-9][a-z0-9_.-]{0,127}$");
}

}  // namespace

void Api::RegisterSchedules(http::Router& router) {
  // Runs `work(caller, req)` on the worker pool after authentication.
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

  router.Get("/v1/schedules", blocking([this](const Caller& c, const HttpRequest&) {
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               auto schedules = d_.store->ListSchedules();
               if (!schedules.ok()) return StatusResponse(schedules.status());
               const int64_t now = d_.clock->WallMs();
               std::string out;
               JsonWriter w(&out);
               w.BeginObject().Key("items").BeginArray();
               for (const config::Schedule& s : *schedules) schedule::ScheduleToJson(s, now, w);
               w.EndArray().Key("next").Null().EndObject();
               return HttpResponse::Json(200, std::move(out));
             }));

  router.Get("/v1/schedules/{name}", blocking([this](const Caller& c, const HttpRequest& req) {
               std::string name(req.Param("name"));
               if (Status st = ValidateScheduleName(name); !st.ok()) return StatusResponse(st);
               auto s = d_.store->GetSchedule(name);
               if (!s.ok()) return StatusResponse(s.status());
               if (!*s) return StatusResponse(Status::NotFound("no schedule '" + name + "'"));
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               return HttpResponse::Json(200, schedule::ScheduleToJson(**s, d_.clock->WallMs()));
             }));

  router.Put("/v1/schedules/{name}", blocking([this](const Caller& c, const HttpRequest& req) {
               auto s = schedule::ParseSchedule(req.body, std::string(req.Param("name")));
               if (!s.ok()) return StatusResponse(s.status());
               auto producer = d_.store->GetProducer(s->event_type);
               if (!producer.ok()) return StatusResponse(producer.status());
               if (!*producer) {
                 return StatusResponse(Status::UnknownEventType(
                     "no producer destination for event type '" + s->event_type + "'"));
               }
               if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
               auto old = d_.store->GetSchedule(s->name);
               if (!old.ok()) return StatusResponse(old.status());
               const int64_t now = d_.clock->WallMs();
               schedule::StampForPut(&*s, *old, now);
               auto outcome = d_.store->PutSchedule(*s);
               if (!outcome.ok()) return StatusResponse(outcome.status());
               return HttpResponse::Json(*outcome == config::PutOutcome::kCreated ? 201 : 200,
                                         schedule::ScheduleToJson(*s, now));
             }));

  router.Delete("/v1/schedules/{name}", blocking([this](const Caller& c, const HttpRequest& req) {
                  std::string name(req.Param("name"));
                  if (Status st = ValidateScheduleName(name); !st.ok()) return StatusResponse(st);
                  auto s = d_.store->GetSchedule(name);
                  if (!s.ok()) return StatusResponse(s.status());
                  if (!*s) return StatusResponse(Status::NotFound("no schedule '" + name + "'"));
                  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
                  Status st = d_.store->DeleteSchedule(name);
                  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
                }));
}

}  // namespace eragon::server
