#include "server/app.h"

#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "channel/embedded.h"
#include "channel/kafka/kafka.h"
#include "channel/multi_channel.h"
#include "cluster/node_registry.h"
#include "config/postgres/pg_config_store.h"
#include "config/postgres/pg_install_secret.h"
#include "config/sqlite_config_store.h"
#include "core/thread_name.h"
#include "core/uuid.h"
#include "dispatch/delivery_store.h"
#include "dispatch/dispatcher.h"
#include "dispatch/postgres/pg_delivery_store.h"
#include "dispatch/push_client.h"
#include "http/http_error.h"
#include "http/http_server.h"
#include "http/router.h"
#include "index/id_index.h"
#include "index/postgres/pg_id_index.h"
#include "platform/platform_publisher.h"
#include "platform/platform_routes.h"
#include "saga/saga_engine.h"
#include "schedule/pg_tick_lease.h"
#include "schedule/scheduler.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/platform_hooks.h"
#include "server/publisher.h"
#include "server/route_admin.h"
#include "server/route_cache.h"
#include "server/secret_files.h"
#include "server/stats.h"
#include "server/worker_pool.h"

namespace eragon::server {

// Members are declared in start order; they are torn down in reverse.
struct App::Parts {
  ServerOptions options;
  Env* env = Env::Default();
  Clock* clock = Clock::System();
  std::unique_ptr<FileLock> lock;
  std::unique_ptr<config::ConfigStore> store;
  std::unique_ptr<channel::Channel> logs;  // a MultiChannel
  channel::Channel* kafka = nullptr;       // inside `logs`, when --kafka-brokers is set
  std::unique_ptr<index::IdIndex> ids;
  std::unique_ptr<dispatch::DeliveryStore> deliveries;
  std::shared_ptr<PushTargets> push_targets;  // shared with the push client
  std::unique_ptr<dispatch::PushClient> push;
  std::unique_ptr<Metrics> metrics;
  // Platform events (src/platform): queued by the dispatcher (and others), stored through
  // `publisher` on its own thread. Stopped after the dispatcher, before the HTTP server.
  std::unique_ptr<platform::PlatformPublisher> platform;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
  std::unique_ptr<Auth> auth;
  std::unique_ptr<RouteCache> routes;
  std::unique_ptr<RouteAdmin> route_admin;
  std::unique_ptr<Publisher> publisher;
  std::unique_ptr<StatsReport> stats;
  std::unique_ptr<schedule::TickLease> schedule_lease;  // in a cluster: who fires the ticks
  std::unique_ptr<schedule::PgTickLease> saga_lease;    // in a cluster: who runs the sagas
  std::unique_ptr<schedule::Scheduler> scheduler;       // fires schedule ticks through publisher
  std::unique_ptr<saga::SagaEngine> sagas;              // runs sagas, publishing through publisher
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<cluster::NodeRegistry> nodes;  // GET /v1/cluster; heartbeats in a cluster
  std::unique_ptr<cluster::PeerClient> peers;    // in a cluster: requests to the other nodes
  std::unique_ptr<Api> api;
  std::unique_ptr<http::Router> router;
  std::unique_ptr<http::HttpServer> http;
  std::string host;

  // Maintenance: disk space once a second, retention once a minute.
  std::thread maintenance;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool stopped = false;

  void MaintenanceLoop();
};

void App::Parts::MaintenanceLoop() {
  int64_t last_retention_ms = clock->MonoMs();
  std::unique_lock lk(mu);
  while (!cv.wait_for(lk, std::chrono::seconds(1), [&] { return stopping; })) {
    lk.unlock();
    publisher->RefreshDiskSpace();
    if (clock->MonoMs() - last_retention_ms >= 60'000) {
      last_retention_ms = clock->MonoMs();
      Result<channel::RetentionReport> report = logs->RunRetention();
      if (Result<uint64_t> swept = ids->SweepExpired(); !swept.ok()) {
        fprintf(stderr, "eragond: id index sweep: %s\n", swept.status().ToString().c_str());
      }
      if (report.ok()) {
        dispatcher->SweepAttempts();
        for (const std::string& w : report->warnings) fprintf(stderr, "eragond: %s\n", w.c_str());
      } else {
        fprintf(stderr, "eragond: retention: %s\n", report.status().ToString().c_str());
      }
    }
    lk.lock();
  }
}

namespace {

// The saga lease's advisory lock key: "eragon.g" in ASCII (the schedules' is "eragon.s").
constexpr int64_t kSagaLockKey = 7310012242054753895;

Status SplitListen(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen must be HOST:PORT, got '" + listen + "'");
  }
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int p = 0;
  try {
    p = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    p = -1;
  }
  if (p < 0 || p > 65535) return Status::InvalidArgument("--listen: bad port in '" + listen + "'");
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

// Publishes `events` as `caller` and waits until they are durable (or refused).
Status PublishAsAndWait(Publisher* publisher, const Caller& caller, std::vector<Event> events) {
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  publisher->Publish(caller, std::move(events), "",
                     [&done](Result<PublishReply> r) { done.set_value(r.status()); });
  return result.get();
}

// Publishes `events` as `service` (an admin caller publishes as each type's producer) and
// waits for the answer. Duplicates are Ok.
Status PublishAndWait(Publisher* publisher, const char* service, std::vector<Event> events) {
  Caller caller;
  caller.service = service;
  caller.admin = true;
  return PublishAsAndWait(publisher, caller, std::move(events));
}

// Publishes one schedule tick as the type's producer and waits for the answer. A
// duplicate means the tick was stored before (by this or another node, or before a
// crash), so it counts as fired; so does a conflict (the tick's id is stored by the
// producer with the schedule's earlier data).
Status FireScheduleTick(Publisher* publisher, const std::string& install_secret,
                        const config::Schedule& s, int64_t tick_ms) {
  Event e;
  e.id = ScheduleEventId(install_secret, s.name, tick_ms);
  e.event_type = s.event_type;
  e.entity_id = s.entity_id;
  e.occurred_at = tick_ms;
  e.data = s.data;
  std::vector<Event> events;
  events.push_back(std::move(e));
  Status st = PublishAndWait(publisher, "scheduler", std::move(events));
  return st.code() == Code::kConflict ? Status::Ok() : st;
}

// Publishes an event of a saga as its service saga-<name>, or a platform event
// (eragon.saga_failed) as the type's registered producer. A duplicate is success (the
// saga publishes again after a crash); so is a conflict (the id is the saga's). A
// platform event without a producer route is dropped: nothing could consume it.
Status PublishSagaEvent(Publisher* publisher, const std::string& service, const Event& e) {
  Caller caller;
  caller.service = service;
  caller.producer = true;
  caller.admin = service == "eragon";
  Status st = PublishAsAndWait(publisher, caller, {e});
  if (st.code() == Code::kConflict) return Status::Ok();
  if (caller.admin && st.code() == Code::kUnknownEventType) return Status::Ok();
  return st;
}

// ERAGON_SAGA_CRASH_AT=N: the saga engine kills the process at its Nth transition point
// (crash tests only; see src/saga/README.md).
int SagaCrashPoint() {
  const char* v = std::getenv("ERAGON_SAGA_CRASH_AT");
  return v == nullptr ? 0 : std::atoi(v);
}

// The Kafka channel when --kafka-brokers is set (null otherwise), with the topics of the
// routes on it opened, so the id index can catch up with them.
Result<std::unique_ptr<channel::Channel>> OpenKafka(const ServerOptions& o, Env* env) {
  if (o.kafka_brokers.empty()) return std::unique_ptr<channel::Channel>();
  channel::KafkaOptions ko;
  ko.brokers = o.kafka_brokers;
  ko.topic_prefix = o.kafka_topic_prefix;
  ko.replication = o.kafka_replication;
  ko.request_timeout_ms = o.kafka_timeout_ms;
  // Several nodes on one PostgreSQL config store form a cluster: each consumer's
  // partitions are split between them by its Kafka consumer group.
  ko.split_work = o.config_store != "sqlite";
  if (o.kafka_transactions) {
    // Stable across restarts of the data dir: the next start aborts what a killed one left.
    std::string node = o.node_id;
    if (node.empty()) {
      ERAGON_ASSIGN_OR_RETURN(node, cluster::EnsureNodeId(env, o.data_dir));
    }
    ko.transactional_id = o.kafka_topic_prefix + "txn." + node;
  }
  if (!o.kafka_config.empty()) {
    ERAGON_ASSIGN_OR_RETURN(ko.properties, channel::ReadKafkaProperties(o.kafka_config));
  }
  return channel::OpenKafkaChannel(ko);
}

Status OpenKafkaTopics(config::ConfigStore* store, channel::Channel* logs) {
  ERAGON_ASSIGN_OR_RETURN(std::vector<config::ProducerRoute> routes, store->ListProducers());
  for (const config::ProducerRoute& r : routes) {
    if (r.channel != config::ChannelKind::kKafka) continue;
    Result<channel::Topic*> t = logs->OpenTopic(r.topic, {r.partitions, "kafka"});
    if (!t.ok()) {
      return Status(t.status().code(),
                    "kafka topic of route '" + r.event_type + "': " + t.status().message());
    }
  }
  return Status::Ok();
}

Status OpenStores(App::Parts& p) {
  const std::string& dir = p.options.data_dir;
  Status st = p.env->CreateDirs(dir);
  if (!st.ok()) return Status::IOError("cannot create data dir " + dir + ": " + st.message());
  Result<std::unique_ptr<FileLock>> lock = p.env->LockFile(dir + "/LOCK");
  if (!lock.ok()) {
    return Status::Unavailable("data dir " + dir + " is locked by another eragond (" +
                               lock.status().message() + ")");
  }
  p.lock = std::move(lock).value();
  if (p.options.config_store == "sqlite") {
    ERAGON_ASSIGN_OR_RETURN(p.store, config::OpenSqliteConfigStore(dir + "/config.db"));
  } else {
    ERAGON_ASSIGN_OR_RETURN(
        p.store,
        config::OpenPgConfigStore(p.options.config_store, {.poll_ms = p.options.config_poll_ms,
                                                           .listen = p.options.config_listen}));
  }
  // The built-in platform routes first, so a cluster node opens their Kafka topic below.
  ERAGON_RETURN_IF_ERROR(platform::EnsurePlatformRoutes(
      p.store.get(), p.clock->WallMs(),
      p.options.cluster() ? config::ChannelKind::kKafka : config::ChannelKind::kEmbedded));
  channel::EmbeddedOptions lo;
  lo.env = p.env;
  lo.clock = p.clock;
  lo.fsync = p.options.fsync;
  lo.segment_bytes = p.options.segment_bytes;
  lo.retention_ms = p.options.retention_hours * 3600 * 1000;
  lo.retention_bytes = p.options.retention_bytes;
  lo.max_pending_bytes = p.options.max_pending_bytes;
  Metrics* metrics = p.metrics.get();
  lo.on_commit = [metrics](double write_s, double fsync_s, uint64_t bytes, size_t) {
    metrics->LogCommit(write_s, fsync_s, bytes);
  };
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<channel::Channel> embedded,
                          channel::OpenEmbeddedChannel(dir + "/log", lo));
  ERAGON_ASSIGN_OR_RETURN(std::unique_ptr<channel::Channel> kafka, OpenKafka(p.options, p.env));
  const bool with_kafka = kafka != nullptr;
  p.kafka = kafka.get();
  p.logs = std::make_unique<channel::MultiChannel>(std::move(embedded), std::move(kafka));
  if (with_kafka) ERAGON_RETURN_IF_ERROR(OpenKafkaTopics(p.store.get(), p.logs.get()));
  // The id index: the data dir's; in a cluster PostgreSQL's, which every node shares.
  if (p.options.cluster()) {
    ERAGON_ASSIGN_OR_RETURN(p.ids, index::OpenPgIdIndex(p.options.config_store, p.logs.get()));
  } else {
    ERAGON_ASSIGN_OR_RETURN(p.ids, index::IdIndex::Open(dir + "/index", p.logs.get()));
  }
  // Delivery states, dead letters, dedup keys, attempts: the data dir's; in a cluster
  // PostgreSQL's, so any node answers for them and a new owner of a partition sees them.
  if (p.options.cluster()) {
    ERAGON_ASSIGN_OR_RETURN(p.deliveries, dispatch::OpenPgDeliveryStore(p.options.config_store));
  } else {
    ERAGON_ASSIGN_OR_RETURN(p.deliveries,
                            dispatch::DeliveryStore::Open(dir + "/dispatch", p.clock));
  }
  dispatch::PushClientOptions po;
  po.extra_ca_file = p.options.push_ca_file;
  ERAGON_ASSIGN_OR_RETURN(auto deny, ParseCidrList(p.options.push_deny_cidrs));
  ERAGON_ASSIGN_OR_RETURN(auto allow, ParseCidrList(p.options.push_allow_cidrs));
  p.push_targets = std::make_shared<PushTargets>(std::move(deny), std::move(allow));
  po.targets = p.push_targets;
  po.io_threads = 2;  // one thread was the push bottleneck (bench/README.md)
  ERAGON_ASSIGN_OR_RETURN(p.push, dispatch::PushClient::Create(po));
  return Status::Ok();
}

// The node's name in attempt histories: --node-id, else HOSTNAME:PORT (the configured
// port; with port 0, the process id instead).
std::string NodeId(const ServerOptions& options, uint16_t port) {
  if (!options.node_id.empty()) return options.node_id;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "eragond");
  return std::string(host) + ":" + std::to_string(port != 0 ? port : getpid());
}

// The platform events publisher, the dispatcher (its observer feeding metrics and
// platform events) and the RouteAdmin, started in that order; the built-in platform
// routes first.
Status StartDelivery(App::Parts& p, const std::string& install_secret, const std::string& node) {
  Publisher* publisher = p.publisher.get();
  p.platform = std::make_unique<platform::PlatformPublisher>(
      install_secret, [publisher](std::vector<Event> events) {
        return PublishAndWait(publisher, "eragon", std::move(events));
      });
  p.platform->Start();
  dispatch::Dispatcher::Deps dd;
  dd.store = p.store.get();
  dd.logs = p.logs.get();
  dd.deliveries = p.deliveries.get();
  dd.push = p.push.get();
  dd.clock = p.clock;
  dd.record_attempts = p.options.record_attempts;
  dd.node = node;
  Metrics* m = p.metrics.get();
  dd.observer.outcome = [m](const std::string& consumer, const char* outcome, uint64_t count) {
    m->DeliveryOutcome(consumer, outcome, count);
  };
  dd.observer.latency = [m](const std::string&, double s) { m->DeliveryLatency(s); };
  App::Parts* raw = &p;
  InstallPlatformHooks(&dd.observer, p.platform.get(), p.workers.get(),
                       [raw] { return raw->route_admin.get(); });
  p.dispatcher = std::make_unique<dispatch::Dispatcher>(std::move(dd));
  p.route_admin = std::make_unique<RouteAdmin>(
      p.store.get(), p.routes.get(), p.logs.get(), p.ids.get(), p.clock, p.dispatcher.get(),
      !p.options.kafka_brokers.empty(), p.options.cluster());
  p.dispatcher->Start();  // after route_admin: its hooks may disable routes through it
  ERAGON_RETURN_IF_ERROR(RepublishDisabledRoutes(p.store.get(), p.platform.get()));
  return Status::Ok();
}

// The install secret: the data dir's; in a cluster (config store on PostgreSQL) the one
// the first node stored there, so every node derives the same ids (schedule ticks).
Result<std::string> InstallSecret(App::Parts& p) {
  ERAGON_ASSIGN_OR_RETURN(std::string secret, EnsureInstallSecret(p.env, p.options.data_dir));
  if (p.options.config_store == "sqlite") return secret;
  return config::SharedInstallSecret(p.options.config_store, secret);
}

// The scheduler, firing through `publisher`; in a cluster under the schedule lease, so
// each tick fires on one node, and catching up the ticks of the last 30 s (a takeover).
void StartScheduler(App::Parts& p, const std::string& install_secret) {
  schedule::SchedulerOptions so;
  if (p.options.config_store != "sqlite") {
    p.schedule_lease = std::make_unique<schedule::PgTickLease>(p.options.config_store);
    so.lease = p.schedule_lease.get();
    so.catch_up_ms = 30'000;
  }
  Publisher* publisher = p.publisher.get();
  p.scheduler = std::make_unique<schedule::Scheduler>(
      p.store.get(), p.clock,
      [publisher, install_secret](const config::Schedule& s, int64_t tick_ms) {
        return FireScheduleTick(publisher, install_secret, s, tick_ms);
      },
      so);
  p.scheduler->Start(std::chrono::milliseconds(200));
}

http::HttpServerOptions HttpOptions(const ServerOptions& options, const std::string& host,
                                    uint16_t port) {
  http::HttpServerOptions ho;
  ho.host = host;
  ho.port = port;
  ho.io_threads = options.io_threads;
  ho.max_body_bytes = options.max_body_bytes;
  ho.request_timeout = std::chrono::milliseconds(options.request_timeout_ms);
  ho.idle_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  ho.max_connections = options.max_connections;
  if (!options.tls_cert.empty()) {
    ho.tls = http::TlsServerFiles{options.tls_cert, options.tls_key, options.tls_client_ca};
  }
  return ho;
}

// "http[s]://HOST:PORT" the HTTP server is bound to.
std::string UrlOf(const App::Parts& p) {
  std::string host = p.host.find(':') != std::string::npos ? "[" + p.host + "]" : p.host;
  const char* scheme = p.options.tls_cert.empty() ? "http://" : "https://";
  return scheme + host + ":" + std::to_string(p.http->port());
}

// The node registry (GET /v1/cluster): this node's id is --node-id, else the data dir's
// node.id; in a cluster it heartbeats into the shared PostgreSQL once started.
Result<std::unique_ptr<cluster::NodeRegistry>> MakeRegistry(App::Parts& p) {
  cluster::RegistryOptions ro;
  if (p.options.cluster()) ro.pg_url = p.options.config_store;
  if (p.options.node_id.empty()) {
    ERAGON_ASSIGN_OR_RETURN(ro.id, cluster::EnsureNodeId(p.env, p.options.data_dir));
  } else {
    ro.id = p.options.node_id;
  }
  ro.started_at = p.clock->WallMs();
  dispatch::Dispatcher* dispatcher = p.dispatcher.get();
  ro.partitions = [dispatcher] { return static_cast<int64_t>(dispatcher->DeliveringPartitions()); };
  ro.clock = p.clock;
  return std::make_unique<cluster::NodeRegistry>(std::move(ro));
}

// The admin token (API.md "Services and tokens"; shared by a cluster's nodes).
Status EnsureAdminToken(App::Parts& p) {
  const ServerOptions& o = p.options;
  ERAGON_ASSIGN_OR_RETURN(
      std::string note,
      p.auth->EnsureAdminToken(p.env, o.data_dir, {o.admin_token_file, o.cluster()}));
  if (!note.empty()) fprintf(stderr, "eragond: %s\n", note.c_str());
  return Status::Ok();
}

// Starts the HTTP server on the router, with its latency and oversize hooks, then the
// node registry (which needs the bound address).
Status StartHttp(App::Parts& p, uint16_t port) {
  p.http = std::make_unique<http::HttpServer>(HttpOptions(p.options, p.host, port), p.router.get());
  Metrics* metrics = p.metrics.get();
  p.http->SetLatencyHook([metrics](const http::RequestStats& s) {
    metrics->Request(s.status, std::chrono::duration<double>(s.duration).count());
  });
  // API.md ranks 401 before 413: a bad token on an oversized body is answered 401.
  Auth* auth = p.auth.get();
  p.http->SetOversizeHook(
      [auth](const http::HttpRequest& req) -> std::optional<http::HttpResponse> {
        Result<Caller> caller = AuthenticateRequest(auth, req);
        if (!caller.ok()) return http::ErrorResponse(caller.status());
        return std::nullopt;
      });
  ERAGON_RETURN_IF_ERROR(p.http->Start());
  p.push_targets->DenyListenAddress(p.host, p.http->port());
  p.nodes->Start(p.options.advertise_url.empty() ? UrlOf(p) : p.options.advertise_url);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<App>> App::Start(const ServerOptions& options) {
  auto p = std::make_unique<Parts>();
  p->options = options;
  uint16_t port = 0;
  ERAGON_RETURN_IF_ERROR(SplitListen(options.listen, &p->host, &port));
  p->metrics = std::make_unique<Metrics>();
  ERAGON_RETURN_IF_ERROR(OpenStores(*p));
  p->auth = std::make_unique<Auth>(p->store.get(), p->clock, options.route_cache_ttl_ms);
  ERAGON_RETURN_IF_ERROR(EnsureAdminToken(*p));
  ERAGON_ASSIGN_OR_RETURN(std::string install_secret, InstallSecret(*p));
  p->routes = std::make_unique<RouteCache>(p->store.get(), p->clock, options.route_cache_ttl_ms);
  PublisherOptions po;
  // A segment's worth is reserved on top: a new segment is preallocated whole, so with
  // --min-free-bytes at or below the segment size its fallocate would hit ENOSPC before
  // publishing answered 507 (issue 16).
  po.min_free_bytes = options.min_free_bytes + options.segment_bytes;
  po.max_used_fraction = options.max_disk_used;
  p->workers = std::make_unique<WorkerPool>(2);
  p->publisher = std::make_unique<Publisher>(p->routes.get(), p->logs.get(), p->ids.get(), p->clock,
                                             p->metrics.get(), po, p->workers.get());
  ERAGON_RETURN_IF_ERROR(StartDelivery(*p, install_secret, NodeId(options, port)));
  ApiDeps deps{p->store.get(),
               p->logs.get(),
               p->ids.get(),
               p->auth.get(),
               p->routes.get(),
               p->route_admin.get(),
               p->publisher.get(),
               p->metrics.get(),
               p->workers.get(),
               p->clock,
               p->dispatcher.get(),
               p->deliveries.get(),
               options.kafka_brokers,
               options.kafka_topic_prefix,
               p->kafka,
               p->push_targets.get(),
               nullptr,
               nullptr};
  p->stats = std::make_unique<StatsReport>(StatsReport::Deps{p->store.get(), p->dispatcher.get(),
                                                             p->deliveries.get(), p->kafka,
                                                             p->metrics.get(), p->clock});
  deps.stats = p->stats.get();
  Publisher* publisher = p->publisher.get();
  saga::SagaEngineOptions so{p->store.get(),
                             p->logs.get(),
                             p->clock,
                             install_secret,
                             [publisher](const std::string& service, const Event& e) {
                               return PublishSagaEvent(publisher, service, e);
                             },
                             SagaCrashPoint(),
                             nullptr};
  if (p->options.cluster()) {  // one node runs the sagas: a lease of their own
    p->saga_lease = std::make_unique<schedule::PgTickLease>(
        p->options.config_store,
        schedule::PgLeaseOptions{
            .lock_key = kSagaLockKey, .name = "saga", .role = "runs the sagas", .verify_ms = 1000});
    schedule::PgTickLease* lease = p->saga_lease.get();
    so.leading = [lease] {
      Result<bool> held = lease->Hold();
      return held.ok() && *held;
    };
  }
  p->sagas = std::make_unique<saga::SagaEngine>(std::move(so));
  p->sagas->Start();
  deps.sagas = p->sagas.get();
  ERAGON_ASSIGN_OR_RETURN(p->nodes, MakeRegistry(*p));
  deps.nodes = p->nodes.get();
  if (p->nodes->clustered()) {
    // Peers over https trust the CA of --tls-client-ca (a cluster's nodes usually share
    // one) and present this node's own certificate.
    cluster::PeerOptions po;
    if (!p->options.tls_cert.empty()) {
      po.tls = TlsClientFiles{p->options.tls_client_ca, p->options.tls_cert, p->options.tls_key};
    }
    p->peers = std::make_unique<cluster::PeerClient>(p->nodes.get(), po);
    deps.peers = p->peers.get();
  }
  p->api = std::make_unique<Api>(deps);
  p->router = std::make_unique<http::Router>();
  p->api->Register(*p->router);

  ERAGON_RETURN_IF_ERROR(StartHttp(*p, port));
  StartScheduler(*p, install_secret);
  Parts* raw = p.get();
  p->maintenance = std::thread([raw] {
    SetThreadName("maintenance");
    raw->MaintenanceLoop();
  });
  return std::unique_ptr<App>(new App(std::move(p)));
}

App::App(std::unique_ptr<Parts> parts) : p_(std::move(parts)) {}

App::~App() { Stop().ok(); }

std::string App::url() const { return UrlOf(*p_); }

Status App::ReloadTls() { return p_->http->ReloadTls(); }

Status App::Stop() {
  if (p_->stopped) return Status::Ok();
  p_->stopped = true;
  {
    std::lock_guard lk(p_->mu);
    p_->stopping = true;
  }
  p_->cv.notify_all();
  if (p_->maintenance.joinable()) p_->maintenance.join();
  p_->nodes->Stop();  // leaves the other nodes' lists
  // Fetches waiting on the cluster answer what they have from now on.
  if (p_->peers) p_->peers->Stop();
  // The dispatcher first: waiting long-poll fetches are answered (empty) at once, so the
  // HTTP server's drain is not held up by them.
  p_->dispatcher->Stop();
  if (p_->scheduler) p_->scheduler->Stop();  // publishes no more ticks
  if (p_->sagas) p_->sagas->Stop();          // publishes no more saga events
  p_->platform->Stop();                      // stores what the dispatcher queued
  p_->http->Stop(std::chrono::milliseconds(p_->options.shutdown_grace_ms));
  p_->workers->Stop();
  p_->push->Stop();
  Status dst = p_->deliveries->Close();
  Status st = p_->logs->Close();
  Status ist = p_->ids->Close();
  for (const Status& s : {st, ist, dst}) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace eragon::server
