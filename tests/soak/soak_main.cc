// eragon-soak: a chaos soak of eragond (issue "Hardening" point 6). Publishers, push
// consumers that fail, hang and flap, a pull consumer, a dedup consumer and route changes
// run against a real eragond that is killed with SIGKILL at random moments and restarted
// on the same data dir; at the end the ledger checks that every 202'd event reached every
// consumer at least once, each entity's events in order, and that dedup held.
//
//   eragon-soak [--minutes M] [--eragond PATH] [--publishers N] [--entities N]
//               [--kill-min-s S] [--kill-max-s S] [--drain-s S] [--max-rate N]
//
// Prints the figures as key=value lines; exits 1 when anything was lost, out of order or
// deduplicated wrongly (or eragond failed to restart), 0 otherwise.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "http/http_client.h"
#include "soak_consumers.h"
#include "soak_ledger.h"
#include "soak_traffic.h"
#include "testing/server_process.h"

namespace eragon::soak {
namespace {

struct Args {
  double minutes = 1;
  std::string eragond;
  int publishers = 4;
  int entities = 25;
  int kill_min_s = 5;
  int kill_max_s = 20;
  int drain_s = 300;
  int max_rate = 0;  // events/s over all publishers; 0: unbounded
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  a.eragond = (std::filesystem::path(argv[0]).parent_path() / "eragond").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--minutes")
      a.minutes = std::stod(v);
    else if (k == "--eragond")
      a.eragond = v;
    else if (k == "--publishers")
      a.publishers = std::stoi(v);
    else if (k == "--entities")
      a.entities = std::stoi(v);
    else if (k == "--kill-min-s")
      a.kill_min_s = std::stoi(v);
    else if (k == "--kill-max-s")
      a.kill_max_s = std::stoi(v);
    else if (k == "--drain-s")
      a.drain_s = std::stoi(v);
    else if (k == "--max-rate")
      a.max_rate = std::stoi(v);
    else {
      fprintf(stderr, "eragon-soak: unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  if ((argc - 1) % 2 != 0 || a.kill_min_s < 1 || a.kill_max_s < a.kill_min_s) {
    fprintf(stderr, "eragon-soak: flags come in pairs; 1 <= kill-min-s <= kill-max-s\n");
    std::exit(2);
  }
  return a;
}

// A free loopback port: eragond keeps it across restarts, so consumers' URLs stay valid.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::string Call(HttpClient& api, const std::string& token, const std::string& method,
                 const std::string& path, const std::string& body) {
  Result<HttpReply> r = api.Request(method, path, body, {{"Authorization", "Bearer " + token}});
  if (!r.ok() || r->status / 100 != 2) {
    fprintf(stderr, "eragon-soak: %s %s: %s\n", method.c_str(), path.c_str(),
            r.ok() ? (std::to_string(r->status) + " " + r->body).c_str()
                   : r.status().ToString().c_str());
    std::exit(1);
  }
  return r->body;
}

std::string TokenOf(const std::string& body) {
  const size_t at = body.find("\"token\":\"");
  if (at == std::string::npos) return "";
  const size_t from = at + 9;
  return body.substr(from, body.find('"', from) - from);
}

const char* kRetry =
    R"("retry":{"max_attempts":10000,"initial_backoff_ms":100,"max_backoff_ms":2000})";

// Routes: two types on one ordered topic; four push consumers and one pull consumer.
void SetRoutes(HttpClient& api, const std::string& admin,
               const std::map<std::string, std::unique_ptr<PushConsumer>>& push) {
  for (const std::string& t : kTypes) {
    Call(api, admin, "PUT", "/v1/routes/" + t + "/producer",
         R"({"producer":"soak-producer","topic":"soak","ordered":true,"partitions":4})");
    for (const auto& [name, c] : push) {
      const std::string extra = name == "dedup"   ? R"("dedup":"entity_event",)"
                                : name == "flaky" ? R"("timeout_ms":1000,)"
                                                  : "";
      Call(api, admin, "PUT", "/v1/routes/" + t + "/consumers/" + name,
           R"({"type":"http","url":")" + c->url() + R"(",)" + extra + R"("start":"earliest",)" +
               kRetry + "}");
    }
    Call(api, admin, "PUT", "/v1/routes/" + t + "/consumers/puller",
         std::string(R"({"type":"pull","start":"earliest",)") + kRetry + "}");
  }
}

// One progress line while draining: what each consumer still misses.
void PrintMissing(const Ledger& ledger, int seconds) {
  fprintf(stderr, "drain %3d s:", seconds);
  for (const char* c : {"steady", "flaky", "flapping", "dedup", "puller"}) {
    fprintf(stderr, " %s=%llu", c, (unsigned long long)ledger.Missing(c));
  }
  fprintf(stderr, "\n");
}

int Report(const Ledger& ledger, const Traffic& traffic, int kills, double minutes,
           bool restart_failed) {
  uint64_t bad = restart_failed ? 1 : 0;
  printf(
      "soak_minutes=%.1f kills=%d published_events=%llu publish_requests=%llu "
      "publish_retries=%llu publish_rejected=%llu route_changes=%llu\n",
      minutes, kills, (unsigned long long)ledger.published(),
      (unsigned long long)traffic.counts().requests.load(),
      (unsigned long long)traffic.counts().retries.load(),
      (unsigned long long)traffic.counts().rejected.load(),
      (unsigned long long)traffic.counts().route_changes.load());
  bad += traffic.counts().rejected.load();
  for (const ConsumerReport& r : ledger.Check()) {
    printf(
        "consumer=%s deliveries=%llu distinct=%llu missing=%llu order_violations=%llu "
        "dedup_violations=%llu\n",
        r.name.c_str(), (unsigned long long)r.deliveries, (unsigned long long)r.distinct,
        (unsigned long long)r.missing, (unsigned long long)r.order_violations,
        (unsigned long long)r.dedup_violations);
    for (const std::string& e : r.examples) printf("  %s\n", e.c_str());
    bad += r.missing + r.order_violations + r.dedup_violations;
  }
  printf("losses_and_violations=%llu\n", (unsigned long long)bad);
  return bad == 0 ? 0 : 1;
}

}  // namespace
}  // namespace eragon::soak

int main(int argc, char** argv) {
  using namespace eragon;
  using namespace eragon::soak;
  const Args args = ParseArgs(argc, argv);
  const std::string listen = "127.0.0.1:" + std::to_string(FreePort());
  testing::ServerProcess server(args.eragond, {"--listen", listen});
  if (Status st = server.Start(); !st.ok()) {
    fprintf(stderr, "eragon-soak: eragond: %s\n", st.ToString().c_str());
    return 1;
  }
  HttpClient api(server.url());
  const std::string admin = server.admin_token();
  const std::string producer =
      TokenOf(Call(api, admin, "PUT", "/v1/services/soak-producer", R"({"roles":["producer"]})"));
  const std::string puller_token =
      TokenOf(Call(api, admin, "PUT", "/v1/services/puller", R"({"roles":["consumer"]})"));
  Ledger ledger;
  std::map<std::string, std::unique_ptr<PushConsumer>> push;
  for (auto [name, b] :
       {std::pair{"steady", Behaviour::kSteady}, std::pair{"flaky", Behaviour::kFlaky},
        std::pair{"flapping", Behaviour::kFlapping}, std::pair{"dedup", Behaviour::kSteady}}) {
    push[name] = std::make_unique<PushConsumer>(name, b, &ledger);
    ledger.AddConsumer(
        name, std::string(name) == "dedup" ? Expect::kFirstPerEntityType : Expect::kEverything);
  }
  ledger.AddConsumer("puller", Expect::kEverything);
  SetRoutes(api, admin, push);
  PullConsumer puller("puller", server.url(), puller_token, &ledger);

  TrafficOptions to;
  to.url = server.url();
  to.producer_token = producer;
  to.admin_token = admin;
  to.publishers = args.publishers;
  to.entities = args.entities;
  to.flaky_url = push["flaky"]->url();
  to.max_rate = args.max_rate;
  Traffic traffic(to, &ledger);

  std::mt19937_64 rng(std::random_device{}());
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(args.minutes * 60'000));
  int kills = 0;
  bool restart_failed = false;
  while (!restart_failed) {
    const int wait_s =
        args.kill_min_s + static_cast<int>(rng() % (args.kill_max_s - args.kill_min_s + 1));
    const auto at = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
    if (at >= end) break;
    std::this_thread::sleep_until(at);
    server.Kill();
    ++kills;
    if (Status st = server.Start(); !st.ok()) {
      fprintf(stderr, "eragon-soak: restart %d failed: %s\n%s\n", kills, st.ToString().c_str(),
              server.Logs().c_str());
      restart_failed = true;
    }
  }
  std::this_thread::sleep_until(end);
  traffic.Stop();
  // Drain: every checked consumer gets what is missing (retries back off up to 2 s).
  const auto drain_end = std::chrono::steady_clock::now() + std::chrono::seconds(args.drain_s);
  int drain_s = 0;
  while (!restart_failed && std::chrono::steady_clock::now() < drain_end) {
    uint64_t missing = 0;
    for (const char* c : {"steady", "flaky", "flapping", "dedup", "puller"}) {
      missing += ledger.Missing(c);
    }
    if (missing == 0) break;
    if (++drain_s % 10 == 0) PrintMissing(ledger, drain_s);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  for (auto& [name, c] : push) c->Stop();
  return Report(ledger, traffic, kills, args.minutes, restart_failed);
}
