// ConsumerWorker: what the platform events and auto-disable (disable_after_ms) learn from
// deliveries: failing streaks per route, circuit changes and dead letters, handed to the
// DeliveryObserver (which only queues; see DeliveryObserver).
#include <string>

#include "dispatch/consumer_worker.h"

namespace eragon::dispatch {

namespace {

std::string DisableReason(const config::ConsumerRoute& route, int64_t since, int64_t now,
                          const Slot& slot) {
  std::string reason = "every attempt failed for " + std::to_string(now - since) +
                       " ms (disable_after_ms " + std::to_string(route.disable_after_ms) +
                       "); last: ";
  if (!slot.last_error.empty()) {
    reason += slot.last_error;  // "HTTP 503: ...", "connect: ...", "ack timeout"...
  } else if (slot.last_status != 0) {
    reason += "HTTP " + std::to_string(slot.last_status);
  } else {
    reason += "no answer";
  }
  return reason;
}

}  // namespace

// A streak counts for one version of the route: a PUT (a re-enable, a new URL) starts a
// new one. Only routes with disable_after_ms are tracked.
void ConsumerWorker::AttemptFailed(Slot& slot, int64_t now) {
  const config::ConsumerRoute* route = RouteOf(slot);
  if (route == nullptr || route->disable_after_ms <= 0 || !route->enabled) return;
  FailStreak& s = streaks_[route->event_type];
  if (s.since == 0 || s.route_updated_at != route->updated_at) {
    s = FailStreak{now, route->updated_at, false};
    return;
  }
  if (s.asked || now - s.since < route->disable_after_ms) return;
  s.asked = true;
  if (ctx_.observer && ctx_.observer->disable) {
    ctx_.observer->disable(route->event_type, consumer_, DisableReason(*route, s.since, now, slot),
                           s.since);
  }
}

void ConsumerWorker::AttemptSucceeded(const Slot& slot) {
  if (streaks_.empty()) return;
  auto it = streaks_.find(slot.event->event_type);
  if (it != streaks_.end()) streaks_.erase(it);
}

void ConsumerWorker::ForgetStreaks() {
  for (auto it = streaks_.begin(); it != streaks_.end();) {
    auto route = routes_.find(it->first);
    const bool same = route != routes_.end() && route->second.enabled &&
                      route->second.updated_at == it->second.route_updated_at;
    it = same ? std::next(it) : streaks_.erase(it);
  }
}

void ConsumerWorker::ReportCircuit(bool open, int64_t now, const std::string& last_error) {
  if (ctx_.observer && ctx_.observer->circuit) {
    ctx_.observer->circuit(consumer_, topic_name(), open, now, last_error);
  }
}

void ConsumerWorker::ReportDead(const DeadLetter& dead) {
  if (ctx_.observer && ctx_.observer->dead_lettered) ctx_.observer->dead_lettered(consumer_, dead);
}

}  // namespace eragon::dispatch
