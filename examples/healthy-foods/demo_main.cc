// eragon-demo: the Healthy Foods example from the article, running against eragond.
// Usage: eragon-demo [--url http://127.0.0.1:7070] [--data-dir ./eragon-data]
//                    [--rate ORDERS_PER_S] [--orders N (0: until Ctrl-C)]
//                    [--backup-dir ./eragon-demo-backup] [--decline-every N] [--kafka]
// --kafka: the `orders` topic on eragond's Kafka channel (eragond runs with
// --kafka-brokers), and the notification service a Kafka consumer app (a consumer route of
// type "kafka" read with the SDK's KafkaConsumer) instead of a pull consumer.
// The services use the C++ SDK: the order service is an async Producer with the
// file-backed queue (its local event backup), the others are Consumer / PushReceiver.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/hash.h"
#include "core/json.h"
#include "demo_services.h"
#include "eragon/producer.h"
#include "http/http_client.h"

namespace {

std::atomic<bool> g_stop{false};

struct Args {
  std::string url = "http://127.0.0.1:7070";
  std::string data_dir = "./eragon-data";
  std::string backup_dir = "./eragon-demo-backup";
  double rate = 2;
  int orders = 0;
  bool kafka = false;
  // Payment declines every n-th order once (a dead letter to redrive in the dashboard).
  // -1: 25 when running until Ctrl-C, 0 with --orders (whose end waits for every payment).
  int decline_every = -1;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--kafka") {
      a.kafka = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "eragon-demo: %s needs a value\n", k.c_str());
      std::exit(2);
    }
    std::string v = argv[i + 1];
    if (k == "--url")
      a.url = v;
    else if (k == "--data-dir")
      a.data_dir = v;
    else if (k == "--rate")
      a.rate = std::max(0.1, std::atof(v.c_str()));
    else if (k == "--backup-dir")
      a.backup_dir = v;
    else if (k == "--orders")
      a.orders = std::atoi(v.c_str());
    else if (k == "--decline-every")
      a.decline_every = std::max(0, std::atoi(v.c_str()));
    else {
      fprintf(stderr, "eragon-demo: unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.decline_every < 0) a.decline_every = a.orders == 0 ? 25 : 0;
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

// Where a consumer route of type "kafka" is read: its echo's "kafka" object.
struct KafkaWhere {
  std::string bootstrap, topic, group;
};

KafkaWhere KafkaWhereOf(const std::string& echo) {
  KafkaWhere w;
  auto doc = eragon::ParseJson(echo);
  std::string_view b, t, g;
  if (!doc.ok() || (*doc)["kafka"]["bootstrap"].get_string().get(b) != simdjson::SUCCESS ||
      (*doc)["kafka"]["topic"].get_string().get(t) != simdjson::SUCCESS ||
      (*doc)["kafka"]["group"].get_string().get(g) != simdjson::SUCCESS) {
    fprintf(stderr, "eragon-demo: no kafka object in the route echo: %s\n", echo.c_str());
    std::exit(1);
  }
  return {std::string(b), std::string(t), std::string(g)};
}

// The notification service: pulls, or (--kafka) reads the Kafka topic itself.
struct Notification {
  std::unique_ptr<demo::PullService> pull;
  std::unique_ptr<demo::KafkaService> kafka;
  const demo::OrderChecker& checker() const { return pull ? pull->checker() : kafka->checker(); }
};

Notification StartNotification(eragon::HttpClient& api, const std::string& admin, const Args& args,
                               const std::vector<std::string>& types, const std::string& retry) {
  const std::string token = TokenOf(Call(api, admin, "PUT", "/v1/services/notification-service",
                                         R"({"roles":["consumer"]})", 201));
  Notification n;
  std::string echo;
  for (const std::string& t : types) {
    echo = Call(api, admin, "PUT", "/v1/routes/" + t + "/consumers/notification-service",
                args.kafka ? std::string(R"({"type":"kafka"})")
                           : R"({"type":"pull","dedup":"entity_event",)" + retry + "}",
                201);
  }
  if (args.kafka) {
    KafkaWhere w = KafkaWhereOf(echo);
    n.kafka =
        std::make_unique<demo::KafkaService>("notification-service", w.bootstrap, w.topic, w.group);
  } else {
    n.pull = std::make_unique<demo::PullService>("notification-service", args.url, token);
  }
  return n;
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

  const std::string secret = "whsec_" + eragon::Base64Encode(eragon::RandomBytes(24));
  demo::PushService payment("payment-service", secret, 7, args.decline_every);
  demo::PushService restaurant("restaurant-service", "", 0);

  const std::vector<std::string> types = {"order_created", "order_paid", "order_cancelled",
                                          "order_delivered"};
  for (const std::string& t : types) {
    Call(api, admin, "PUT", "/v1/routes/" + t + "/producer",
         R"({"producer":"order-service","topic":"orders","ordered":true,"partitions":8,)"
         R"("channel":")" +
             std::string(args.kafka ? "kafka" : "embedded") + R"("})",
         201);
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
  Notification notification = StartNotification(api, admin, args, types, retry);
  demo::Show("eragon-demo", "──",
             std::string("routes set: orders topic (ordered") + (args.kafka ? ", on Kafka" : "") +
                 "), 3 consumers; Ctrl-C stops");
  // A route change reaches the dispatcher within 1 s (API.md); the consumers start at
  // "latest", so publishing before then could pass them by.
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));

  eragon::ProducerOptions po;
  po.endpoint = args.url;
  po.token = order_token;
  po.mode = eragon::PublishMode::kAsync;
  po.queue = eragon::QueueKind::kFile;  // survives a crash of the demo: replayed next start
  po.backup_dir = args.backup_dir;
  auto producer = eragon::Producer::Open(po);
  if (!producer.ok()) {
    fprintf(stderr, "eragon-demo: producer: %s\n", producer.status().ToString().c_str());
    return 1;
  }
  std::atomic<int> failed{0};

  std::mt19937 rng(std::random_device{}());
  // Order ids differ from run to run: the data dir outlives a run, and the payment
  // service's entity_event dedup would skip an order id it saw in an earlier run.
  std::string run_tag;
  for (int i = 0; i < 3; ++i) run_tag.push_back(static_cast<char>('a' + rng() % 26));
  std::vector<Order> live;
  int created = 0, published = 0, paid_or_cancelled = 0;
  auto period = std::chrono::duration<double>(1.0 / args.rate);
  auto next = std::chrono::steady_clock::now();
  while (!g_stop && (args.orders == 0 || created < args.orders || !live.empty())) {
    if (args.orders == 0 || created < args.orders) {
      char id[32];
      snprintf(id, sizeof id, "order-%s-%04d", run_tag.c_str(), ++created);
      live.push_back({id, 0, rng() % 10 == 0});
    }
    for (size_t i = 0; i < live.size();) {
      Order& o = live[i];
      eragon::Event e;
      e.event_type = o.step == 0   ? "order_created"
                     : o.step == 1 ? (o.cancel ? "order_cancelled" : "order_paid")
                                   : "order_delivered";
      e.entity_id = o.id;
      e.data = R"({"order":{"id":")" + o.id + R"(","seq":)" + std::to_string(o.step + 1) +
               R"(,"total":)" + std::to_string(10 + rng() % 40) + "}}";
      demo::Show("order-service", "──▶", e.event_type + "  " + o.id);
      // Async: returns once the event is in the backup; the callback runs on the ack.
      eragon::Status st = (*producer)->Publish(std::move(e), [&failed](const auto& ack) {
        if (!ack.ok()) {
          ++failed;
          demo::Show("order-service", "!!", "publish failed: " + ack.status().ToString());
        }
      });
      if (!st.ok()) demo::Show("order-service", "!!", "not queued: " + st.ToString());
      ++published;
      if (o.step == 1) ++paid_or_cancelled;
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
  (void)(*producer)->Flush(std::chrono::seconds(30));
  // Let the last deliveries land: with --orders, until every consumer has had its share
  // (bounded); after Ctrl-C, briefly.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(g_stop ? 2 : 60);
  while (std::chrono::steady_clock::now() < deadline &&
         (g_stop || payment.checker().seen() < static_cast<uint64_t>(created) ||
          restaurant.checker().seen() < static_cast<uint64_t>(paid_or_cancelled) ||
          notification.checker().seen() < static_cast<uint64_t>(published))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  eragon::Status closed = (*producer)->Close();
  printf(
      "\npublished %d events for %d orders (%d failed%s); received: payment %llu, restaurant "
      "%llu, notification %llu; out of order: %llu\n",
      published, created, failed.load(), closed.ok() ? "" : ", some kept in the backup",
      (unsigned long long)payment.checker().seen(), (unsigned long long)restaurant.checker().seen(),
      (unsigned long long)notification.checker().seen(),
      (unsigned long long)(payment.checker().out_of_order() + restaurant.checker().out_of_order() +
                           notification.checker().out_of_order()));
  return 0;
}
