#include "soak_traffic.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "http/http_client.h"

namespace eragon::soak {
namespace {

std::string EventJson(const std::string& id, const std::string& type, const std::string& entity,
                      uint64_t seq) {
  return R"({"id":")" + id + R"(","event_type":")" + type + R"(","entity_id":")" + entity +
         R"(","data":{"seq":)" + std::to_string(seq) + "}}";
}

void Nap(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

}  // namespace

Traffic::Traffic(TrafficOptions options, Ledger* ledger)
    : options_(std::move(options)), ledger_(ledger) {
  for (int i = 0; i < options_.publishers; ++i) threads_.emplace_back([this, i] { Publisher(i); });
  threads_.emplace_back([this] { RouteChanger(); });
}

Traffic::~Traffic() { Stop(); }

void Traffic::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool Traffic::PublishUntilAccepted(HttpClient& client, const std::string& body) {
  const HttpHeaders auth = {{"Authorization", "Bearer " + options_.producer_token}};
  for (;;) {
    Result<HttpReply> r = client.Request("POST", "/v1/events", body, auth);
    if (r.ok() && r->status == 202) return true;
    if (r.ok() && r->status >= 400 && r->status < 500 && r->status != 429) {
      ++counts_.rejected;
      fprintf(stderr, "soak: publish refused: %d %s\n", r->status, r->body.c_str());
      return false;
    }
    ++counts_.retries;  // eragond down or restarting (transport error, 503, 507, 429)
    client.Close();
    Nap(std::chrono::milliseconds(100));
  }
}

// Each publisher owns entities p<index>-e<k> and publishes their events in sequence:
// mostly one event per request, sometimes a batch of 2 or 3 of one entity.
void Traffic::Publisher(int index) {
  HttpClientOptions ho;
  ho.request_timeout_ms = 10'000;
  HttpClient client(options_.url, ho);
  std::mt19937_64 rng(std::random_device{}());
  std::vector<uint64_t> next_seq(options_.entities, 1);
  // Each publisher paces its share of max_rate: the next request waits until its events'
  // share of time has passed since the previous one was sent.
  const auto per_event =
      options_.max_rate > 0
          ? std::chrono::nanoseconds(1'000'000'000LL * options_.publishers / options_.max_rate)
          : std::chrono::nanoseconds(0);
  auto next_send = std::chrono::steady_clock::now();
  while (!stop_) {
    const int k = static_cast<int>(rng() % options_.entities);
    const std::string entity = "p" + std::to_string(index) + "-e" + std::to_string(k);
    const int n = rng() % 5 == 0 ? 2 + static_cast<int>(rng() % 2) : 1;
    std::vector<std::pair<std::string, std::string>> events;  // id, type
    std::string body = n == 1 ? "" : R"({"events":[)";
    for (int i = 0; i < n; ++i) {
      const uint64_t seq = next_seq[k]++;
      events.emplace_back(Ledger::IdOf(entity, seq), kTypes[rng() % kTypes.size()]);
      if (i > 0) body += ",";
      body += EventJson(events.back().first, events.back().second, entity, seq);
    }
    if (n > 1) body += "]}";
    if (per_event.count() > 0) {
      std::this_thread::sleep_until(next_send);
      next_send = std::max(next_send + n * per_event,
                           std::chrono::steady_clock::now() - std::chrono::seconds(1));
    }
    if (!PublishUntilAccepted(client, body)) continue;
    ++counts_.requests;
    for (const auto& [id, type] : events) ledger_->Published(id, type);
  }
}

// Every few seconds: the flaky consumer's route PUT again with another timeout, and a
// transient pull consumer created or deleted. None of it may disturb the others.
void Traffic::RouteChanger() {
  HttpClient client(options_.url);
  const HttpHeaders auth = {{"Authorization", "Bearer " + options_.admin_token}};
  std::mt19937_64 rng(std::random_device{}());
  bool transient = false;
  for (int round = 0; !stop_; ++round) {
    for (int i = 0; i < 50 && !stop_; ++i) Nap(std::chrono::milliseconds(100));
    const std::string timeout = round % 2 ? "1000" : "1500";
    const std::string flaky = R"({"type":"http","url":")" + options_.flaky_url +
                              R"(","timeout_ms":)" + timeout +
                              R"(,"start":"earliest","retry":{"max_attempts":10000,)"
                              R"("initial_backoff_ms":100,"max_backoff_ms":2000}})";
    const std::string type = kTypes[rng() % kTypes.size()];
    Result<HttpReply> r =
        client.Request("PUT", "/v1/routes/" + type + "/consumers/flaky", flaky, auth);
    if (r.ok() && r->status / 100 == 2) ++counts_.route_changes;
    r = transient ? client.Request("DELETE", "/v1/routes/soak_a/consumers/transient", "", auth)
                  : client.Request("PUT", "/v1/routes/soak_a/consumers/transient",
                                   R"({"type":"pull"})", auth);
    if (r.ok() && r->status / 100 == 2) {
      ++counts_.route_changes;
      transient = !transient;
    }
    if (!r.ok()) client.Close();
  }
}

}  // namespace eragon::soak
