// Api: the handlers of API.md version 1, registered on an http::Router.
//
// Handlers run on io threads. Anything that may wait on a disk (config store writes,
// event listing scans) runs on the worker pool; publishing completes from the log's
// writer thread. Every answer follows API.md's error precedence: 401, 413, 400, 404,
// 403, 409.
#pragma once

#include "config/config_store.h"
#include "dispatch/delivery_store.h"
#include "dispatch/dispatcher.h"
#include "eragon/clock.h"
#include "http/router.h"
#include "index/id_index.h"
#include "log/log.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/publisher.h"
#include "server/route_admin.h"
#include "server/route_cache.h"
#include "server/worker_pool.h"

namespace eragon::server {

// Everything the handlers use; all borrowed, all outlive the Api.
struct ApiDeps {
  config::ConfigStore* store = nullptr;
  log::LogManager* logs = nullptr;
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
};

class Api {
 public:
  explicit Api(ApiDeps deps) : d_(deps) {}
  void Register(http::Router& router);

 private:
  // Authenticates the request; on failure answers 401 and returns nullopt.
  std::optional<Caller> Authenticate(const http::HttpRequest& req, http::Responder& respond);

  void RegisterEvents(http::Router& router);
  void RegisterRoutes(http::Router& router);
  void RegisterServices(http::Router& router);
  void RegisterSchedules(http::Router& router);
  void RegisterOps(http::Router& router);
  void RegisterConsumers(http::Router& router);
  void RegisterDeadLetters(http::Router& router);

  void PublishEvents(http::HttpRequest&& req, http::Responder respond);
  void GetEvent(http::HttpRequest&& req, http::Responder respond);
  void ListEvents(http::HttpRequest&& req, http::Responder respond);

  ApiDeps d_;
};

// Helpers shared by the handler files.
http::HttpResponse StatusResponse(const Status& st);
// 403 unless the caller is an admin.
Status RequireAdmin(const Caller& caller);

}  // namespace eragon::server
