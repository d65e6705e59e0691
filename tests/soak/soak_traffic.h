// The soak's load: publishers (each owns its entities and publishes their events in
// sequence, retrying the same ids until 202, across kills of eragond) and route changes
// made while events flow.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "soak_ledger.h"

namespace eragon {
class HttpClient;
}  // namespace eragon

namespace eragon::soak {

inline const std::vector<std::string> kTypes = {"soak_a", "soak_b"};

struct TrafficOptions {
  std::string url;
  std::string producer_token;
  std::string admin_token;
  int publishers = 4;
  int entities = 25;  // per publisher
  std::string flaky_url;
  // Events per second over all publishers (0: as fast as eragond takes them). A bound
  // keeps the backlog of the slowest consumer, and so the drain, independent of how fast
  // the machine publishes.
  int max_rate = 0;
};

struct TrafficCounts {
  std::atomic<uint64_t> requests{0};       // publish requests answered 202
  std::atomic<uint64_t> retries{0};        // publish attempts that had to be repeated
  std::atomic<uint64_t> rejected{0};       // 4xx other than 429: a bug in the soak or server
  std::atomic<uint64_t> route_changes{0};  // route PUT/DELETE answered 2xx
};

class Traffic {
 public:
  Traffic(TrafficOptions options, Ledger* ledger);
  ~Traffic();
  void Stop();  // finishes each publisher's request in progress
  const TrafficCounts& counts() const { return counts_; }

 private:
  void Publisher(int index);
  void RouteChanger();
  // Publishes `body` until 202; false when eragond refused it for good (4xx).
  bool PublishUntilAccepted(HttpClient& client, const std::string& body);

  TrafficOptions options_;
  Ledger* ledger_;
  TrafficCounts counts_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace eragon::soak
