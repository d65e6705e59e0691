// Api: the handlers of API.md version 1, registered on an http::Router.
//
// A request arrives on an io thread, which authenticates it (the token cache) and then
// either answers from memory (publish, fetch, nack, /healthz) or hands the handler to the
// worker pool through OnWorkers / RunOnWorkers: everything that may wait on a disk (the
// config store, log reads, the id index, the delivery store) runs there. Publishing
// completes from the log's writer thread. Every answer follows API.md's error
// precedence: 401, 413, 400, 404, 403, 409. src/server/README.md shows the flow.
#pragma once

#include <functional>
#include <optional>

#include "channel/channel.h"
#include "cluster/node_registry.h"
#include "cluster/peer_client.h"
#include "config/config_store.h"
#include "core/push_targets.h"
#include "dispatch/delivery_store.h"
#include "dispatch/dispatcher.h"
#include "eragon/clock.h"
#include "http/router.h"
#include "index/id_index.h"
#include "saga/saga_engine.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/publisher.h"
#include "server/route_admin.h"
#include "server/route_cache.h"
#include "server/stats.h"
#include "server/worker_pool.h"

namespace eragon::server {

// Everything the handlers use; all borrowed, all outlive the Api.
struct ApiDeps {
  config::ConfigStore* store = nullptr;
  channel::Channel* logs = nullptr;
  index::IdIndex* ids = nullptr;
  Auth* auth = nullptr;
  RouteCache* routes = nullptr;
  RouteAdmin* route_admin = nullptr;
  Publisher* publisher = nullptr;
  Metrics* metrics = nullptr;
  WorkerPool* workers = nullptr;
  Clock* clock = nullptr;
  dispatch::Dispatcher* dispatcher = nullptr;
  dispatch::DeliveryStore* deliveries = nullptr;
  // The Kafka channel, for the echo of consumer routes of type kafka (empty: no Kafka).
  std::string kafka_bootstrap;
  std::string kafka_topic_prefix;
  channel::Channel* kafka = nullptr;          // the Kafka channel itself (lag of type kafka routes)
  const PushTargets* push_targets = nullptr;  // null: consumer URLs are not checked
  StatsReport* stats = nullptr;               // GET /v1/stats (null: 404)
  saga::SagaEngine* sagas = nullptr;          // told about saga changes (null: nobody runs them)
  cluster::NodeRegistry* nodes = nullptr;     // GET /v1/cluster (null: 404)
  cluster::PeerClient* peers = nullptr;  // in a cluster: the other nodes (pull through any node)
};

// A handler that may block: runs on a worker-pool thread, answers what it returns.
using BlockingHandler =
    std::function<http::HttpResponse(const ApiDeps&, const Caller&, const http::HttpRequest&)>;

// The caller of a request's "Authorization: Bearer <token>": 401 without a valid one,
// 400 invalid_field when the header is given more than once (which one would count is
// ambiguous).
Result<Caller> AuthenticateRequest(Auth* auth, const http::HttpRequest& req);

class Api {
 public:
  explicit Api(ApiDeps deps) : d_(deps) {}
  void Register(http::Router& router);

 private:
  // Authenticates the request (AuthenticateRequest); on failure answers and returns nullopt.
  std::optional<Caller> Authenticate(const http::HttpRequest& req, http::Responder& respond);
  // The handler for a route whose work may block: authenticates on the io thread (401
  // answered there), then runs `work` on the worker pool and answers with its result.
  http::Handler OnWorkers(BlockingHandler work);
  // OnWorkers for a change of the configuration: the config store is synced first
  // (ConfigStore::Sync), so in a cluster a change through this node is validated against
  // every change made before it through any node, not only those already notified.
  http::Handler OnWorkersSynced(BlockingHandler work);
  // Runs `work` on the worker pool and answers with its result (no authentication).
  void RunOnWorkers(http::Responder respond, std::function<http::HttpResponse()> work);

  void RegisterEvents(http::Router& router);
  void RegisterRoutes(http::Router& router);
  void RegisterServices(http::Router& router);
  void RegisterSchedules(http::Router& router);
  void RegisterSagas(http::Router& router);
  void RegisterOps(http::Router& router);
  void RegisterConsumers(http::Router& router);
  void RegisterDeadLetters(http::Router& router);

  // Handlers that never block stay on the io thread.
  void PublishEvents(http::HttpRequest&& req, http::Responder respond);
  void FetchMessages(http::HttpRequest&& req, http::Responder respond);
  void NackMessages(http::HttpRequest&& req, http::Responder respond);

  ApiDeps d_;
};

// Helpers shared by the handler files.

// The event GET /v1/events/{id}[/attempts] names ({id}, ?producer=): 400 for a bad id or
// producer name, 404 when unknown or no longer retained, 409 when several producers hold it.
struct FoundEvent {
  index::Holder holder;
  Event event;
};
Result<FoundEvent> FindRequestedEvent(const ApiDeps& d, const Caller& caller,
                                      const http::HttpRequest& req);
// GET /v1/events/{id}/attempts (api_attempts.cc).
http::HttpResponse ListAttempts(const ApiDeps& d, const Caller& caller,
                                const http::HttpRequest& req);
http::HttpResponse StatusResponse(const Status& st);
// Pull (api_consumers.cc, api_cluster.cc).
struct PullFetch {
  std::string consumer;
  size_t max = 100;
  int64_t wait_ms = 5000;
  int64_t ack_timeout_ms = 30'000;
  std::string authorization;  // the client's header, for the requests to other nodes
};
// The request's Authorization header ("" when absent), passed on to other nodes.
std::string Authorization(const http::HttpRequest& req);
// {"messages":[...]}: the answer of a fetch.
std::string PulledMessagesJson(const std::vector<dispatch::PulledMessage>& msgs);
// Whether a pull request also involves the other nodes: in a cluster, unless it was
// forwarded by one (cluster::kForwardedHeader).
bool FansOut(const ApiDeps& d, const http::HttpRequest& req);
// A fetch answered from every node's partitions (REQUIRES: FansOut).
void FetchFromCluster(const ApiDeps& d, PullFetch f, http::Responder respond);
// Sends the ack (`verb` "ack") or nack ("nack", with delay_ms >= 0) of `ids` to the other
// nodes; returns how many they counted. Blocks: not on an io thread.
size_t ForwardAcks(const ApiDeps& d, std::string_view verb, const std::string& consumer,
                   const std::vector<std::string>& ids, int64_t delay_ms,
                   std::string_view authorization);

// The header of a replay or seek answer: how many partitions that node moved.
inline constexpr std::string_view kMovedHeader = "Eragon-Partitions-Moved";
// After a replay or seek moved this node's partitions (*moved): in a cluster (FansOut),
// sends the request on to the other nodes and adds what they moved; Unavailable when the
// nodes together did not move every partition (a rebalance, a node not answering).
Status MovedEverywhere(const ApiDeps& d, const http::HttpRequest& req, std::string_view verb,
                       const std::string& type, const std::string& consumer,
                       dispatch::Moved* moved);

// 403 unless the caller is an admin.
Status RequireAdmin(const Caller& caller);

// A store lookup checked in API.md's order, 404 before 403: the lookup's error,
// NotFound(`missing`) when there is no such object, 403 unless an admin; else the object.
template <typename T>
Result<T> FoundForAdmin(Result<std::optional<T>> found, const Caller& caller,
                        const std::string& missing) {
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(missing);
  ERAGON_RETURN_IF_ERROR(RequireAdmin(caller));
  return std::move(**found);
}

}  // namespace eragon::server
