// eragon-demo: the Healthy Foods example from the article, running against eragond.
// Usage: eragon-demo [--url http://127.0.0.1:7070] [--data-dir ./eragon-data]
//                    [--rate ORDERS_PER_S] [--orders N (0: until Ctrl-C)]
//                    [--backup-dir ./eragon-demo-backup] [--decline-every N]
//                    [--dead-letter-every N] [--kafka]
// The order service publishes order_created; the saga `order` (run by eragond) reserves at
// the restaurant, charges the payment and confirms the order, or, when the payment is
// declined (every --decline-every-th order), cancels the reservation and rejects it. The
// restaurant cooks each confirmed order (order_ready) and the courier delivers it
// (choreography). The terminal shows every event and each saga's steps.
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
#include "demo_saga.h"
#include "demo_saga_services.h"
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
  // The payment service declines every n-th order (0: never): the saga compensates.
  int decline_every = 5;
  // The courier refuses the first push of every n-th order_ready (a dead letter to
  // redrive in the dashboard). -1: 25 when running until Ctrl-C, 0 with --orders (whose
  // end waits for every delivery).
  int dead_letter_every = -1;
};

int NonNegative(const std::string& v) { return std::max(0, std::atoi(v.c_str())); }

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
      a.decline_every = NonNegative(v);
    else if (k == "--dead-letter-every")
      a.dead_letter_every = NonNegative(v);
    else {
      fprintf(stderr, "eragon-demo: unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.dead_letter_every < 0) a.dead_letter_every = a.orders == 0 ? 25 : 0;
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

// Creates (or rotates the token of) the service `name` with `roles` (a JSON array).
std::string PutService(eragon::HttpClient& api, const std::string& admin, const std::string& name,
                       const std::string& roles) {
  return TokenOf(
      Call(api, admin, "PUT", "/v1/services/" + name, R"({"roles":)" + roles + "}", 201));
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
                               const std::string& retry) {
  const std::string token = PutService(api, admin, "notification-service", R"(["consumer"])");
  Notification n;
  std::string echo;
  for (const demo::TypeProducer& t : demo::OrderTypes()) {
    echo = Call(api, admin, "PUT",
                std::string("/v1/routes/") + t.event_type + "/consumers/notification-service",
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

void BlockSignalsUntilStop() {
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
}

std::string AdminToken(const Args& args) {
  std::string admin;
  if (const char* t = std::getenv("ERAGON_TOKEN")) admin = t;
  if (admin.empty()) {
    std::ifstream f(args.data_dir + "/admin.token");
    std::getline(f, admin);
  }
  if (admin.empty()) {
    fprintf(stderr, "eragon-demo: no admin token (set ERAGON_TOKEN or --data-dir)\n");
    std::exit(1);
  }
  return admin;
}

// The services the saga and the choreography talk to, listening before their routes exist.
struct Services {
  std::unique_ptr<demo::RestaurantService> restaurant;
  std::unique_ptr<demo::PaymentService> payment;
  std::unique_ptr<demo::CourierService> courier;
  std::string payment_secret;
};

Services StartServices(eragon::HttpClient& api, const std::string& admin, const Args& args) {
  const std::string roles = R"(["producer","consumer"])";
  Services s;
  s.payment_secret = "whsec_" + eragon::Base64Encode(eragon::RandomBytes(24));
  s.restaurant = std::make_unique<demo::RestaurantService>(
      args.url, PutService(api, admin, "restaurant-service", roles));
  s.payment = std::make_unique<demo::PaymentService>(
      args.url, PutService(api, admin, "payment-service", roles), s.payment_secret,
      args.decline_every);
  s.courier = std::make_unique<demo::CourierService>(
      args.url, PutService(api, admin, "courier-service", roles), args.dead_letter_every);
  return s;
}

// Every type on the ordered topic `orders`, then the saga (its types need their routes).
void SetRoutesAndSaga(eragon::HttpClient& api, const std::string& admin, const Args& args) {
  for (const demo::TypeProducer& t : demo::OrderTypes()) {
    Call(api, admin, "PUT", std::string("/v1/routes/") + t.event_type + "/producer",
         std::string(R"({"producer":")") + t.producer +
             R"(","topic":"orders","ordered":true,"partitions":8,"channel":")" +
             (args.kafka ? "kafka" : "embedded") + R"("})",
         201);
  }
  Call(api, admin, "PUT", std::string("/v1/sagas/") + demo::kSagaName, demo::OrderSagaBody(), 201);
}

void SetConsumerRoutes(eragon::HttpClient& api, const std::string& admin, const Services& s,
                       const std::string& retry) {
  // A data dir of the demo before the saga: its push routes point at ports gone now.
  for (const char* r :
       {"order_created/consumers/payment-service", "order_paid/consumers/restaurant-service",
        "order_cancelled/consumers/restaurant-service"}) {
    Call(api, admin, "DELETE", std::string("/v1/routes/") + r, "", 0);
  }
  auto route = [&](const char* type, const char* consumer, const std::string& body) {
    Call(api, admin, "PUT", std::string("/v1/routes/") + type + "/consumers/" + consumer,
         R"({"type":"http",)" + body + "," + retry + "}", 201);
  };
  route("payment_charge_requested", "payment-service",
        R"("url":")" + s.payment->url() + R"(","secret":")" + s.payment_secret +
            R"(","dedup":"entity_event")");
  for (const char* t :
       {"restaurant_reserve_requested", "restaurant_reservation_cancelled", "order_confirmed"}) {
    route(t, "restaurant-service", R"("url":")" + s.restaurant->url() + R"(")");
  }
  route("order_ready", "courier-service", R"("url":")" + s.courier->url() + R"(")");
}

// The order service: publishes order_created at `rate` until --orders or Ctrl-C, and has
// the watcher follow each order's saga.
struct OrderCounts {
  int created = 0;
  std::atomic<int> failed{0};
  bool closed_ok = true;
};

void RunOrders(const Args& args, const std::string& token, demo::SagaWatcher& watcher,
               OrderCounts& counts) {
  eragon::ProducerOptions po;
  po.endpoint = args.url;
  po.token = token;
  po.mode = eragon::PublishMode::kAsync;
  po.queue = eragon::QueueKind::kFile;  // survives a crash of the demo: replayed next start
  po.backup_dir = args.backup_dir;
  auto producer = eragon::Producer::Open(po);
  if (!producer.ok()) {
    fprintf(stderr, "eragon-demo: producer: %s\n", producer.status().ToString().c_str());
    std::exit(1);
  }
  std::mt19937 rng(std::random_device{}());
  // Order ids differ from run to run: the data dir outlives a run, and a saga instance's
  // id is its order's (a second order_created of an id starts nothing).
  std::string run_tag;
  for (int i = 0; i < 3; ++i) run_tag.push_back(static_cast<char>('a' + rng() % 26));
  auto period = std::chrono::duration<double>(1.0 / args.rate);
  auto next = std::chrono::steady_clock::now();
  while (!g_stop && (args.orders == 0 || counts.created < args.orders)) {
    const int n = ++counts.created;
    char id[32];
    snprintf(id, sizeof id, "order-%s-%04d", run_tag.c_str(), n);
    eragon::Event e;
    e.event_type = "order_created";
    e.entity_id = id;
    e.data = R"({"order":{"id":")" + e.entity_id + R"(","n":)" + std::to_string(n) +
             R"(,"total":)" + std::to_string(10 + rng() % 40) + "}}";
    demo::Show("order-service", "──▶", "order_created  " + e.entity_id);
    // Async: returns once the event is in the backup; the callback runs on the ack.
    eragon::Status st = (*producer)->Publish(std::move(e), [&counts](const auto& ack) {
      if (!ack.ok()) {
        ++counts.failed;
        demo::Show("order-service", "!!", "publish failed: " + ack.status().ToString());
      }
    });
    if (!st.ok()) demo::Show("order-service", "!!", "not queued: " + st.ToString());
    watcher.Track(id);
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    std::this_thread::sleep_until(next);
  }
  (void)(*producer)->Flush(std::chrono::seconds(30));
  counts.closed_ok = (*producer)->Close().ok();
}

// Every event of an order on the topic: 8 for a confirmed one (created, reserve requested,
// reserved, charge requested, charged, confirmed, ready, delivered), 7 for a rejected one
// (... declined, reservation cancelled, rejected).
uint64_t EventsOnTopic(const demo::SagaWatcher& w) { return 8 * w.confirmed() + 7 * w.rejected(); }

// Lets the last sagas and deliveries land: with --orders, until every saga ended and every
// consumer had its share (bounded); after Ctrl-C, briefly.
void WaitForTheEnd(const demo::SagaWatcher& w, const Services& s, const Notification& n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(g_stop ? 2 : 60);
  while (std::chrono::steady_clock::now() < deadline &&
         (g_stop || w.unfinished() > 0 || s.restaurant->cancelled() < w.rejected() ||
          s.courier->delivered() < w.confirmed() || n.checker().seen() < EventsOnTopic(w))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void PrintSummary(const OrderCounts& c, const demo::SagaWatcher& w, const Services& s,
                  const Notification& n) {
  using ull = unsigned long long;
  printf(
      "\npublished %d orders (%d failed%s); sagas: %llu confirmed, %llu rejected, %llu "
      "unfinished; reservations cancelled %llu, order_ready %llu, delivered %llu\n",
      c.created, c.failed.load(), c.closed_ok ? "" : ", some kept in the backup",
      (ull)w.confirmed(), (ull)w.rejected(), (ull)w.unfinished(), (ull)s.restaurant->cancelled(),
      (ull)s.restaurant->ready(), (ull)s.courier->delivered());
  printf(
      "received: payment %llu, restaurant %llu, courier %llu, notification %llu of %llu; out of "
      "order: %llu\n",
      (ull)s.payment->checker().seen(), (ull)s.restaurant->checker().seen(),
      (ull)s.courier->checker().seen(), (ull)n.checker().seen(), (ull)EventsOnTopic(w),
      (ull)(s.payment->checker().out_of_order() + s.restaurant->checker().out_of_order() +
            s.courier->checker().out_of_order() + n.checker().out_of_order()));
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  BlockSignalsUntilStop();
  const std::string admin = AdminToken(args);
  eragon::HttpClient api(args.url);
  const std::string order_token = PutService(api, admin, "order-service", R"(["producer"])");
  Services services = StartServices(api, admin, args);
  SetRoutesAndSaga(api, admin, args);
  const std::string retry =
      R"("retry":{"max_attempts":20,"initial_backoff_ms":200,"max_backoff_ms":5000})";
  SetConsumerRoutes(api, admin, services, retry);
  Notification notification = StartNotification(api, admin, args, retry);
  demo::Show("eragon-demo", "──",
             std::string("routes and the saga `order` set: orders topic (ordered") +
                 (args.kafka ? ", on Kafka" : "") + "), 4 consumers; Ctrl-C stops");
  // A route change reaches the dispatcher within 1 s (API.md); the consumers start at
  // "latest", so publishing before then could pass them by.
  std::this_thread::sleep_for(std::chrono::milliseconds(1'200));
  demo::SagaWatcher watcher(args.url, admin);
  OrderCounts counts;
  RunOrders(args, order_token, watcher, counts);
  WaitForTheEnd(watcher, services, notification);
  PrintSummary(counts, watcher, services, notification);
  return 0;
}
