// eragon-demo: the Healthy Foods example from the article, running against eragond.
// Usage: eragon-demo [--url http://127.0.0.1:7070] [--data-dir ./eragon-data]
//                    [--rate ORDERS_PER_S] [--orders N (0: until Ctrl-C)]
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "core/hash.h"
#include "core/json.h"
#include "demo_services.h"

namespace {

std::atomic<bool> g_stop{false};

struct Args {
  std::string url = "http://127.0.0.1:7070";
  std::string data_dir = "./eragon-data";
  double rate = 2;
  int orders = 0;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--url")
      a.url = v;
    else if (k == "--data-dir")
      a.data_dir = v;
    else if (k == "--rate")
      a.rate = std::max(0.1, std::atof(v.c_str()));
    else if (k == "--orders")
      a.orders = std::atoi(v.c_str());
    else {
      fprintf(stderr, "eragon-demo: unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

// Calls the API as `token`; exits with a message when the answer is not `want`.
std::string Call(eragon::HttpClient& c, const std::string& token, const char* method,
                 const std::string& path, const std::string& body, int want) {
  auto r = c.Request(method, path, body, {{"Authorization", "Bearer " + token}});
  if (!r.ok()) {
    fprintf(stderr, "eragon-demo: %s %s: %s\n", method, path.c_str(),
            r.status().ToString().c_str());
    std::exit(1);
  }
  if (want != 0 && r->status != want && !(want == 201 && r->status == 200)) {
    fprintf(stderr, "eragon-demo: %s %s: HTTP %d %s\n", method, path.c_str(), r->status,
            r->body.c_str());
    std::exit(1);
  }
  return r->body;
}

std::string TokenOf(const std::string& body) {
  auto doc = eragon::ParseJson(body);
  std::string_view t;
  if (!doc.ok() || (*doc)["token"].get_string().get(t) != simdjson::SUCCESS) return "";
  return std::string(t);
}

// One order's life: created -> paid (or cancelled) -> delivered.
struct Order {
  std::string id;
  int step = 0;
  bool cancel = false;
};

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::thread([sigs] {
    int sig;
    sigwait(&sigs, &sig);
    g_stop = true;
  }).detach();

  std::string admin;
  if (const char* t = std::getenv("ERAGON_TOKEN")) admin = t;
  if (admin.empty()) {
    std::ifstream f(args.data_dir + "/admin.token");
    std::getline(f, admin);
  }
  if (admin.empty()) {
    fprintf(stderr, "eragon-demo: no admin token (set ERAGON_TOKEN or --data-dir)\n");
    return 1;
  }
  eragon::HttpClient api(args.url);
  std::string order_token = TokenOf(
      Call(api, admin, "PUT", "/v1/services/order-service", R"({"roles":["producer"]})", 201));
  std::string notify_token = TokenOf(Call(api, admin, "PUT", "/v1/services/notification-service",
                                          R"({"roles":["consumer"]})", 201));

  const std::string secret = "whsec_" + eragon::Base64Encode(eragon::RandomBytes(24));
  demo::PushService payment("payment-service", secret, 7);
  demo::PushService restaurant("restaurant-service", "", 0);

  const std::vector<std::string> types = {"order_created", "order_paid", "order_cancelled",
                                          "order_delivered"};
  for (const std::string& t : types) {
    Call(api, admin, "PUT", "/v1/routes/" + t + "/producer",
         R"({"producer":"order-service","topic":"orders","ordered":true,"partitions":8})", 201);
  }
  const std::string retry =
      R"("retry":{"max_attempts":20,"initial_backoff_ms":200,"max_backoff_ms":5000})";
  Call(api, admin, "PUT", "/v1/routes/order_created/consumers/payment-service",
       R"({"type":"http","url":")" + payment.url() + R"(","secret":")" + secret +
           R"(","dedup":"entity_event",)" + retry + "}",
       201);
  for (const char* t : {"order_paid", "order_cancelled"}) {
    Call(api, admin, "PUT", std::string("/v1/routes/") + t + "/consumers/restaurant-service",
         R"({"type":"http","url":")" + restaurant.url() + R"(",)" + retry + "}", 201);
  }
  for (const std::string& t : types) {
    Call(api, admin, "PUT", "/v1/routes/" + t + "/consumers/notification-service",
         R"({"type":"pull","dedup":"entity_event",)" + retry + "}", 201);
  }
  demo::PullService notification("notification-service", args.url, notify_token);
  demo::Show("eragon-demo", "──", "routes set: orders topic (ordered), 3 consumers; Ctrl-C stops");

  std::mt19937 rng(std::random_device{}());
  std::vector<Order> live;
  int created = 0, published = 0;
  eragon::HttpClient producer(args.url);
  auto period = std::chrono::duration<double>(1.0 / args.rate);
  auto next = std::chrono::steady_clock::now();
  while (!g_stop && (args.orders == 0 || created < args.orders || !live.empty())) {
    if (args.orders == 0 || created < args.orders) {
      char id[32];
      snprintf(id, sizeof id, "order-%04d", ++created);
      live.push_back({id, 0, rng() % 10 == 0});
    }
    for (size_t i = 0; i < live.size();) {
      Order& o = live[i];
      const char* type = o.step == 0   ? "order_created"
                         : o.step == 1 ? (o.cancel ? "order_cancelled" : "order_paid")
                                       : "order_delivered";
      std::string body = R"({"event_type":")" + std::string(type) + R"(","entity_id":")" + o.id +
                         R"(","data":{"order":{"id":")" + o.id + R"(","seq":)" +
                         std::to_string(o.step + 1) + R"(,"total":)" +
                         std::to_string(10 + rng() % 40) + "}}}";
      demo::Show("order-service", "──▶", std::string(type) + "  " + o.id);
      Call(producer, order_token, "POST", "/v1/events", body, 202);
      ++published;
      bool done = o.step == 2 || (o.step == 1 && o.cancel);
      ++o.step;
      if (done) {
        live.erase(live.begin() + i);
      } else {
        ++i;
      }
    }
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    std::this_thread::sleep_until(next);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // let the last deliveries land
  printf(
      "\npublished %d events for %d orders; received: payment %llu, restaurant %llu, "
      "notification %llu; out of order: %llu\n",
      published, created, (unsigned long long)payment.checker().seen(),
      (unsigned long long)restaurant.checker().seen(),
      (unsigned long long)notification.checker().seen(),
      (unsigned long long)(payment.checker().out_of_order() + restaurant.checker().out_of_order() +
                           notification.checker().out_of_order()));
  return 0;
}
