// The routing table: /v1/routes...
#include <map>

#include "config/route_codec.h"
#include "core/json.h"
#include "core/names.h"
#include "core/push_targets.h"
#include "core/push_url.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;

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

// A consumer route as stored; a route of type kafka also tells its application where to
// read: {"kafka": {"bootstrap", "topic", "group"}} (API.md "Channels: Kafka").
void ConsumerJson(const ApiDeps& d, const config::ConsumerRoute& r, const std::string& topic,
                  JsonWriter& w) {
  config::ConsumerRouteToJson(r, w);
  if (r.type != config::DeliveryType::kKafka) return;
  std::string* out = w.out();
  out->pop_back();  // the route object's '}'
  out->append(",\"kafka\":{\"bootstrap\":");
  AppendJsonString(out, d.kafka_bootstrap);
  out->append(",\"topic\":");
  AppendJsonString(out, d.kafka_topic_prefix + topic);
  out->append(",\"group\":");
  AppendJsonString(out, r.consumer);
  out->append("}}");
}

std::string TopicOf(const ApiDeps& d, const std::string& event_type) {
  auto producer = d.store->GetProducer(event_type);
  return producer.ok() && *producer ? (*producer)->topic : event_type;
}

std::string RoutesJson(const ApiDeps& d, const std::vector<config::ProducerRoute>& producers,
                       const std::vector<config::ConsumerRoute>& consumers) {
  std::map<std::string, std::string> topic_of;
  for (const auto& p : producers) topic_of[p.event_type] = p.topic;
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("producers").BeginArray();
  for (const auto& p : producers) config::ProducerRouteToJson(p, w);
  w.EndArray().Key("consumers").BeginArray();
  for (const auto& c : consumers) ConsumerJson(d, c, topic_of[c.event_type], w);
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

// The path's names are checked before the handler runs (400 before 404 and 403).
BlockingHandler WithValidNames(BlockingHandler work) {
  return [work = std::move(work)](const ApiDeps& d, const Caller& c, const HttpRequest& req) {
    if (Status st = ValidatePathNames(req); !st.ok()) return StatusResponse(st);
    return work(d, c, req);
  };
}

HttpResponse ListRoutes(const ApiDeps& d, const Caller& c, const HttpRequest&) {
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  auto producers = d.store->ListProducers();
  if (!producers.ok()) return StatusResponse(producers.status());
  auto consumers = d.store->ListConsumers();
  if (!consumers.ok()) return StatusResponse(consumers.status());
  return HttpResponse::Json(200, RoutesJson(d, *producers, *consumers));
}

HttpResponse GetProducerRoute(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  auto route = FoundForAdmin(d.store->GetProducer(std::string(req.Param("event_type"))), c,
                             "no producer route");
  if (!route.ok()) return StatusResponse(route.status());
  std::string out;
  JsonWriter w(&out);
  config::ProducerRouteToJson(*route, w);
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse PutProducerRoute(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  auto route = config::ParseProducerRoute(req.body, std::string(req.Param("event_type")));
  if (!route.ok()) return StatusResponse(route.status());
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  config::ProducerRoute stored;
  auto outcome = d.route_admin->PutProducer(std::move(*route), &stored);
  return EchoResponse(outcome, stored,
                      [](const auto& r, JsonWriter& w) { config::ProducerRouteToJson(r, w); });
}

HttpResponse DeleteProducerRoute(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  std::string type(req.Param("event_type"));
  auto route = FoundForAdmin(d.store->GetProducer(type), c, "no producer route for '" + type + "'");
  if (!route.ok()) return StatusResponse(route.status());
  Status st = d.route_admin->DeleteProducer(type);
  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
}

HttpResponse GetConsumerRoute(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  auto route = FoundForAdmin(d.store->GetConsumer(std::string(req.Param("event_type")),
                                                  std::string(req.Param("consumer"))),
                             c, "no such consumer route");
  if (!route.ok()) return StatusResponse(route.status());
  std::string out;
  JsonWriter w(&out);
  ConsumerJson(d, *route, TopicOf(d, route->event_type), w);
  return HttpResponse::Json(200, std::move(out));
}

// A push URL whose host resolves only to addresses the push targets refuse is refused now
// (the push client checks again at every connection). Resolves DNS: on the worker pool.
Status CheckPushTarget(const ApiDeps& d, const config::ConsumerRoute& route) {
  if (d.push_targets == nullptr || route.type != config::DeliveryType::kHttp) return Status::Ok();
  Result<PushUrl> url = ParsePushUrl(route.url);  // the codec accepted it
  if (!url.ok()) return Status::InvalidArgument("url: " + url.status().message());
  Status st = d.push_targets->CheckHost(url->host, url->port);
  return st.ok() ? st : Status::InvalidArgument("url: " + st.message());
}

HttpResponse PutConsumerRoute(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  auto route = config::ParseConsumerRoute(req.body, std::string(req.Param("event_type")),
                                          std::string(req.Param("consumer")));
  if (!route.ok()) return StatusResponse(route.status());
  if (Status st = CheckPushTarget(d, *route); !st.ok()) return StatusResponse(st);
  auto producer = d.store->GetProducer(route->event_type);
  if (!producer.ok()) return StatusResponse(producer.status());
  if (!*producer) {
    return StatusResponse(Status::UnknownEventType("no producer destination for event type '" +
                                                   route->event_type + "'"));
  }
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  config::ConsumerRoute stored;
  auto outcome = d.route_admin->PutConsumer(std::move(*route), &stored);
  const std::string topic = (*producer)->topic;
  return EchoResponse(outcome, stored,
                      [&d, &topic](const auto& r, JsonWriter& w) { ConsumerJson(d, r, topic, w); });
}

HttpResponse DeleteConsumerRoute(const ApiDeps& d, const Caller& c, const HttpRequest& req) {
  std::string type(req.Param("event_type"));
  std::string consumer(req.Param("consumer"));
  auto route = FoundForAdmin(d.store->GetConsumer(type, consumer), c, "no such consumer route");
  if (!route.ok()) return StatusResponse(route.status());
  Status st = d.route_admin->DeleteConsumer(type, consumer);
  return st.ok() ? HttpResponse::Empty(204) : StatusResponse(st);
}

}  // namespace

void Api::RegisterRoutes(http::Router& router) {
  constexpr std::string_view kProducer = "/v1/routes/{event_type}/producer";
  constexpr std::string_view kConsumer = "/v1/routes/{event_type}/consumers/{consumer}";
  router.Get("/v1/routes", OnWorkers(ListRoutes));
  router.Get(kProducer, OnWorkers(WithValidNames(GetProducerRoute)));
  router.Put(kProducer, OnWorkersSynced(WithValidNames(PutProducerRoute)));
  router.Delete(kProducer, OnWorkersSynced(WithValidNames(DeleteProducerRoute)));
  router.Get(kConsumer, OnWorkers(WithValidNames(GetConsumerRoute)));
  router.Put(kConsumer, OnWorkersSynced(WithValidNames(PutConsumerRoute)));
  router.Delete(kConsumer, OnWorkersSynced(WithValidNames(DeleteConsumerRoute)));
}

}  // namespace eragon::server
