// POST /v1/events (on the io thread), GET /v1/events/{id}, GET /v1/events (on the
// worker pool).
#include <algorithm>

#include "core/event_codec.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/names.h"
#include "server/api.h"
#include "server/event_listing.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

namespace {

std::string PublishReplyJson(const PublishReply& reply) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("ids").BeginArray();
  for (const std::string& id : reply.ids) w.String(id);
  w.EndArray().Key("duplicates").BeginArray();
  for (bool d : reply.duplicates) w.Bool(d);
  w.EndArray().EndObject();
  return out;
}

}  // namespace

void Api::PublishEvents(HttpRequest&& req, Responder respond) {
  std::optional<Caller> caller = Authenticate(req, respond);
  if (!caller) return;
  std::string_view content_type = req.Header("Content-Type").value_or("application/json");
  Result<ParsedPublish> parsed = ParsePublishBody(req.body, content_type);
  if (!parsed.ok()) {
    respond(StatusResponse(parsed.status()));
    return;
  }
  std::string traceparent;
  if (auto tp = req.Header("traceparent"); tp && IsValidTraceparent(*tp)) traceparent = *tp;
  auto shared = std::make_shared<Responder>(std::move(respond));
  d_.publisher->Publish(*caller, std::move(parsed->events), std::move(traceparent),
                        [shared](Result<PublishReply> result) {
                          if (!result.ok()) {
                            (*shared)(StatusResponse(result.status()));
                            return;
                          }
                          (*shared)(HttpResponse::Json(202, PublishReplyJson(*result)));
                        });
}

namespace {

void DeliveriesJson(const ApiDeps& d, const Event& event, const index::Location& loc,
                    JsonWriter& w) {
  w.Key("deliveries").BeginArray();
  if (d.dispatcher) {
    for (const dispatch::DeliveryView& v :
         d.dispatcher->DeliveriesOf(event.event_type, loc.topic, loc.partition, loc.offset)) {
      w.BeginObject().Key("consumer").String(v.consumer);
      w.Key("state").String(dispatch::StateName(v.state.state));
      w.Key("attempts").Uint(v.state.attempts).Key("last_status").Int(v.state.last_status);
      w.Key("last_error").String(v.state.last_error);
      w.Key("next_attempt_at").Int(v.state.next_attempt_at);
      w.Key("delivered_at").Int(v.state.delivered_at).EndObject();
    }
  }
  w.EndArray();
}

// GET /v1/events/{id}[?producer=NAME]: reads the id index, the log and the delivery store.
HttpResponse GetEvent(const ApiDeps& d, const Caller& caller, const HttpRequest& req) {
  Result<FoundEvent> found = FindRequestedEvent(d, caller, req);
  if (!found.ok()) return StatusResponse(found.status());
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("event");
  EventToJson(found->event, w);
  DeliveriesJson(d, found->event, found->holder.loc, w);
  w.EndObject();
  return HttpResponse::Json(200, std::move(out));
}

// GET /v1/events: scans the log backwards.
HttpResponse ListEvents(const ApiDeps& d, const Caller&, const HttpRequest& req) {
  Result<ListQuery> query = ParseListQuery(req);
  if (!query.ok()) return StatusResponse(query.status());
  Result<std::string> page = ListEventsJson(d.logs, d.routes, *query);
  return page.ok() ? HttpResponse::Json(200, std::move(*page)) : StatusResponse(page.status());
}

}  // namespace

// Ids are scoped per producer (ResolveEventId picks which producer's event).
Result<FoundEvent> FindRequestedEvent(const ApiDeps& d, const Caller& caller,
                                      const HttpRequest& req) {
  std::string id(req.Param("id"));
  if (!IsValidEventId(id)) return Status::InvalidArgument("id: not a valid event id");
  std::string producer(req.Query("producer").value_or(""));
  if (!producer.empty() && !IsValidServiceName(producer)) {
    return Status::InvalidArgument("producer: not a valid service name");
  }
  FoundEvent found;
  ERAGON_ASSIGN_OR_RETURN(
      found.holder,
      ResolveEventId(d.ids, id, producer, caller.admin ? std::string() : caller.service));
  ERAGON_ASSIGN_OR_RETURN(found.event, ReadEventAt(d.logs, found.holder, id));
  return found;
}

void Api::RegisterEvents(http::Router& router) {
  router.Post("/v1/events",
              [this](HttpRequest&& r, Responder s) { PublishEvents(std::move(r), std::move(s)); });
  router.Get("/v1/events/{id}", OnWorkers(GetEvent));
  router.Get("/v1/events/{id}/attempts", OnWorkers(ListAttempts));
  router.Get("/v1/events", OnWorkers(ListEvents));
}

}  // namespace eragon::server
