// The dispatcher's side of platform events and auto-disable (src/platform): fills the
// DeliveryObserver members that report dead letters, circuit changes and routes to
// disable, so eragond publishes eragon.dead_lettered, eragon.circuit_opened/closed and
// eragon.consumer_disabled.
#pragma once

#include <functional>

#include "config/config_store.h"
#include "dispatch/consumer_worker.h"
#include "platform/platform_events.h"
#include "server/route_admin.h"
#include "server/worker_pool.h"

namespace eragon::server {

// Sets observer->dead_lettered, ->circuit and ->disable. They only queue: the platform
// events on `events` (never blocks), a disable as a task on `workers` that disables the
// route through the RouteAdmin `admin()` returns (created after the dispatcher, hence a
// function) and then publishes eragon.consumer_disabled. Everything borrowed must outlive
// the dispatcher. Dead letters of platform events themselves (topic eragon.platform) are
// not reported: a failing consumer of them would otherwise feed itself forever.
void InstallPlatformHooks(dispatch::DeliveryObserver* observer, platform::PlatformEvents* events,
                          WorkerPool* workers, std::function<RouteAdmin*()> admin);

// At start: publishes eragon.consumer_disabled again for every route the server disabled
// (same key, same id: stored once), so one lost in a crash before it was stored is not
// lost for good.
Status RepublishDisabledRoutes(config::ConfigStore* store, platform::PlatformEvents* events);

}  // namespace eragon::server
