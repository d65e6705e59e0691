#include "server/api.h"

#include <set>

#include "channel/kafka/kafka.h"
#include "core/json.h"
#include "http/http_error.h"
#include "server/dashboard.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

HttpResponse StatusResponse(const Status& st) { return http::ErrorResponse(st); }

Status RequireAdmin(const Caller& caller) {
  if (caller.admin) return Status::Ok();
  return Status::PermissionDenied("service '" + caller.service + "' lacks the admin role");
}

Result<Caller> AuthenticateRequest(Auth* auth, const HttpRequest& req) {
  if (req.headers.Count("Authorization") > 1) {
    return Status::InvalidArgument("Authorization: given more than once");
  }
  return auth->Authenticate(req.Header("Authorization").value_or(""));
}

std::optional<Caller> Api::Authenticate(const HttpRequest& req, Responder& respond) {
  Result<Caller> caller = AuthenticateRequest(d_.auth, req);
  if (!caller.ok()) {
    respond(StatusResponse(caller.status()));
    return std::nullopt;
  }
  return std::move(caller).value();
}

void Api::RunOnWorkers(Responder respond, std::function<HttpResponse()> work) {
  // std::function must be copyable and a Responder is move-only: share it.
  auto shared = std::make_shared<Responder>(std::move(respond));
  d_.workers->Post([shared, work = std::move(work)] { (*shared)(work()); });
}

http::Handler Api::OnWorkers(BlockingHandler work) {
  return [this, work = std::move(work)](HttpRequest&& req, Responder respond) {
    std::optional<Caller> caller = Authenticate(req, respond);
    if (!caller) return;
    auto request = std::make_shared<HttpRequest>(std::move(req));
    RunOnWorkers(std::move(respond),
                 [this, work, c = std::move(*caller), request] { return work(d_, c, *request); });
  };
}

http::Handler Api::OnWorkersSynced(BlockingHandler work) {
  return OnWorkers(
      [work = std::move(work)](const ApiDeps& d, const Caller& c, const HttpRequest& req) {
        // A failed sync is not answered here: the change reaches the same store and fails
        // with its own error, or succeeds when the store came back meanwhile.
        (void)d.store->Sync();
        return work(d, c, req);
      });
}

namespace {

// /readyz: the config store answers and no topic log has failed.
HttpResponse Readiness(const ApiDeps& d) {
  Result<int64_t> version = d.store->Version();
  if (!version.ok()) {
    return StatusResponse(Status::Unavailable("config store: " + version.status().message()));
  }
  for (const std::string& name : d.logs->TopicNames()) {
    channel::Topic* t = d.logs->FindTopic(name);
    if (t != nullptr && !t->health().ok()) {
      return StatusResponse(
          Status::Unavailable("log topic '" + name + "': " + t->health().message()));
    }
  }
  return HttpResponse::Json(200, R"({"status":"ready"})");
}

// Consumer routes of type kafka: eragond delivers nothing, the application's own group
// (named as the consumer) reads the topic; its lag is what the gauges show.
void AddKafkaGroupGauges(const ApiDeps& d, std::vector<Metrics::ConsumerGauges>* gauges) {
  if (d.kafka == nullptr) return;
  Result<std::vector<config::ConsumerRoute>> consumers = d.store->ListConsumers();
  if (!consumers.ok()) return;
  std::set<std::pair<std::string, std::string>> done;  // (consumer, topic)
  for (const config::ConsumerRoute& c : *consumers) {
    if (c.type != config::DeliveryType::kKafka) continue;
    Result<std::optional<config::ProducerRoute>> p = d.store->GetProducer(c.event_type);
    if (!p.ok() || !*p || !done.insert({c.consumer, (*p)->topic}).second) continue;
    Result<uint64_t> lag = channel::KafkaGroupLag(d.kafka, c.consumer, (*p)->topic);
    if (lag.ok()) gauges->push_back({c.consumer, (*p)->topic, double(*lag), 0, false, 0});
  }
}

// /metrics: the consumer gauges (dead letters are counted in the delivery store) and the
// registry in Prometheus' text format.
HttpResponse MetricsText(const ApiDeps& d) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  if (d.dispatcher) {
    std::vector<Metrics::ConsumerGauges> gauges;
    for (const dispatch::ConsumerStats& s : d.dispatcher->Stats()) {
      gauges.push_back({s.consumer, s.topic, double(s.stats.lag_events), s.stats.lag_ms / 1000.0,
                        s.stats.circuit_open, double(d.deliveries->CountDead(s.consumer))});
    }
    AddKafkaGroupGauges(d, &gauges);
    d.metrics->SetConsumerGauges(gauges);
  }
  r.body = d.metrics->Serialize(d.logs);
  if (d.dispatcher) {
    r.body +=
        "# HELP eragon_delivering_partitions (consumer route, partition) pairs this node "
        "delivers now\n# TYPE eragon_delivering_partitions gauge\neragon_delivering_partitions " +
        std::to_string(d.dispatcher->DeliveringPartitions()) + "\n";
  }
  if (d.sagas != nullptr) saga::AppendSagaMetrics(d.sagas->stats(), &r.body);
  return r;
}

// GET /v1/stats: any valid token (read-only figures).
HttpResponse StatsJson(const ApiDeps& d, const Caller&, const HttpRequest&) {
  if (d.stats == nullptr) return StatusResponse(Status::NotFound("no stats on this server"));
  Result<std::string> json = d.stats->Json();
  return json.ok() ? HttpResponse::Json(200, std::move(*json)) : StatusResponse(json.status());
}

// GET /v1/cluster (admin): the nodes seen recently, from the registry's memory.
HttpResponse ClusterJson(const ApiDeps& d, const Caller& c, const HttpRequest&) {
  if (Status st = RequireAdmin(c); !st.ok()) return StatusResponse(st);
  if (d.nodes == nullptr) return StatusResponse(Status::NotFound("no node registry"));
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("nodes").BeginArray();
  for (const cluster::NodeInfo& n : d.nodes->Nodes()) {
    w.BeginObject().Key("id").String(n.id).Key("address").String(n.address);
    w.Key("started_at").Int(n.started_at).Key("last_seen").Int(n.last_seen);
    w.Key("partitions").Int(n.partitions).EndObject();
  }
  w.EndArray().EndObject();
  return HttpResponse::Json(200, std::move(out));
}

}  // namespace

void Api::RegisterOps(http::Router& router) {
  router.Get("/healthz", [](HttpRequest&&, Responder respond) {
    respond(HttpResponse::Json(200, R"({"status":"ok"})"));
  });
  router.Get("/readyz", [this](HttpRequest&&, Responder respond) {
    RunOnWorkers(std::move(respond), [this] { return Readiness(d_); });
  });
  router.Get("/metrics", [this](HttpRequest&&, Responder respond) {
    RunOnWorkers(std::move(respond), [this] { return MetricsText(d_); });
  });
  router.Get("/v1/stats", OnWorkers(StatsJson));
  router.Get("/v1/cluster", OnWorkers(ClusterJson));
  RegisterDashboard(router);
}

void Api::Register(http::Router& router) {
  RegisterEvents(router);
  RegisterRoutes(router);
  RegisterServices(router);
  RegisterSchedules(router);
  RegisterSagas(router);
  RegisterOps(router);
  RegisterConsumers(router);
}

}  // namespace eragon::server
