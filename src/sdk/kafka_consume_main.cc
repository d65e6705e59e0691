// eragon-sdk-kafka-consume: a KafkaConsumer in its own process, for kafka_consumer_test's
// "two instances, one killed" case. Every handled event appends one line
//   <CLOCK_MONOTONIC ns> <event id> <entity id>
// to --out with one write(2) (O_APPEND), so a kill -9 loses no line of a finished handler.
// Runs until SIGTERM/SIGINT, then Stop()s gracefully.
//
//   eragon-sdk-kafka-consume --bootstrap B --topic T --group G --out FILE
//       [--concurrency N] [--handler-ms MS] [--session-timeout-ms MS]
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <thread>

#include "eragon/kafka_consumer.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

int64_t MonoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  eragon::KafkaConsumerOptions o;
  o.bootstrap = args["--bootstrap"];
  o.topic = args["--topic"];
  o.group = args["--group"];
  o.concurrency = args.contains("--concurrency") ? std::atoi(args["--concurrency"].c_str()) : 2;
  o.commit_interval_ms = 100;
  o.config = {
      {"session.timeout.ms",
       args.contains("--session-timeout-ms") ? args["--session-timeout-ms"] : std::string("6000")},
      {"heartbeat.interval.ms", "500"}};
  o.on_error = [](const eragon::Status& st) {
    std::fprintf(stderr, "kafka-consume: %s\n", st.message().c_str());
  };
  const int handler_ms =
      args.contains("--handler-ms") ? std::atoi(args["--handler-ms"].c_str()) : 0;
  const int fd = ::open(args["--out"].c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) {
    std::perror("open --out");
    return 2;
  }
  eragon::KafkaConsumer consumer(o);
  consumer.OnAny([&](const eragon::Delivery& d) {
    if (handler_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(handler_ms));
    std::string line = std::to_string(MonoNs()) + " " + d.event.id + " " + d.event.entity_id + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return eragon::Status::IOError("write --out");
    }
    return eragon::Status::Ok();
  });
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  if (eragon::Status st = consumer.Start(); !st.ok()) {
    std::fprintf(stderr, "start: %s\n", st.message().c_str());
    return 2;
  }
  std::printf("started\n");
  std::fflush(stdout);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  consumer.Stop();
  ::close(fd);
  return 0;
}
