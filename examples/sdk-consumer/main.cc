// sdk-consumer-example: a notification service on the Eragon SDK. It pulls order events
// (Consumer) and, with --push-port, also takes pushes (PushServer + PushReceiver).
//
//   sdk-consumer-example --endpoint http://127.0.0.1:7070 --token TOKEN \
//       --consumer notification-service [--push-port 9000 --secret whsec_...]
//   sdk-consumer-example --self-test     # offline check of the installed library
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "eragon/consumer.h"
#include "eragon/push_receiver.h"

namespace {

eragon::Status Notify(const eragon::Delivery& d) {
  std::printf("%s %s (attempt %u): %s\n", d.event.event_type.c_str(), d.event.entity_id.c_str(),
              d.attempt, d.event.data.c_str());
  return eragon::Status::Ok();
}

// Exercises the library without a server: a push runs its handler, a bad signature is
// refused, bad consumer options are reported.
int SelfTest() {
  int handled = 0;
  eragon::PushReceiver open_receiver;
  open_receiver.On("order_created", [&](const eragon::Delivery& d) {
    handled += d.event.entity_id == "o-1" ? 1 : 0;
    return eragon::Status::Ok();
  });
  const std::string body =
      R"({"id":"e-1","event_type":"order_created","entity_id":"o-1","producer":"order-service",)"
      R"("occurred_at":1,"data":{"total":12.5}})";
  eragon::PushAnswer ok = open_receiver.Handle("POST", {{"Eragon-Attempt", "1"}}, body);

  eragon::PushReceiverOptions signed_options;
  signed_options.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  eragon::PushReceiver signed_receiver(signed_options);
  signed_receiver.OnAny(Notify);
  eragon::PushAnswer refused = signed_receiver.Handle(
      "POST", {{"webhook-id", "e-1"}, {"webhook-timestamp", "1"}, {"webhook-signature", "v1,x"}},
      body);

  eragon::Consumer consumer(eragon::ConsumerOptions{});  // no token, no consumer name
  consumer.OnAny(Notify);
  eragon::Status st = consumer.Start();

  std::printf("push: %d (handled %d), bad signature: %d, empty options: %s\n", ok.status, handled,
              refused.status, st.ToString().c_str());
  return ok.status == 200 && handled == 1 && refused.status == 401 &&
                 st.code() == eragon::Code::kInvalidArgument
             ? 0
             : 1;
}

std::string Arg(int argc, char** argv, const char* name, const char* fallback = "") {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--self-test") == 0) return SelfTest();

  eragon::ConsumerOptions o;
  o.endpoint = Arg(argc, argv, "--endpoint", "http://127.0.0.1:7070");
  o.token = Arg(argc, argv, "--token");
  o.consumer = Arg(argc, argv, "--consumer", "notification-service");
  o.concurrency = 4;
  o.on_error = [](const eragon::Status& st) {
    std::fprintf(stderr, "consumer: %s\n", st.ToString().c_str());
  };
  eragon::Consumer consumer(o);
  consumer.OnAny(Notify);

  eragon::PushReceiverOptions ro;
  ro.secret = Arg(argc, argv, "--secret");
  eragon::PushReceiver receiver(ro);
  receiver.OnAny(Notify);
  eragon::PushServerOptions so;
  so.port = static_cast<uint16_t>(std::stoi(Arg(argc, argv, "--push-port", "0")));
  eragon::PushServer push(so, &receiver);

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // before any thread starts
  if (eragon::Status st = consumer.Start(); !st.ok()) {
    std::fprintf(stderr, "sdk-consumer-example: %s\n", st.ToString().c_str());
    return 2;
  }
  if (so.port != 0) {
    if (eragon::Status st = push.Start(); !st.ok()) {
      std::fprintf(stderr, "sdk-consumer-example: %s\n", st.ToString().c_str());
      return 2;
    }
    std::printf("receiving pushes at %s\n", push.url().c_str());
  }
  int sig = 0;
  sigwait(&sigs, &sig);
  push.Stop();
  consumer.Stop();
  return 0;
}
