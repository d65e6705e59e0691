// eragon-sdk-producer-crash: a producer process for the kill -9 test (producer_crash_test).
// Publishes a stream of events in async mode with the file-backed queue and prints
//   ok <id> <entity> <seq>
// on stdout for each event whose Publish returned ok (so the event is in the backup). At
// the end it flushes and closes; exit code 0 when every event was acknowledged.
//
//   eragon-sdk-producer-crash --endpoint URL --token T --backup DIR [--threads 4]
//     [--entities 5 (per thread)] [--count 1000 (per thread)] [--start 0 (first seq)]
//     [--type order_created] [--fsync group|per-event|interval]
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/uuid.h"
#include "eragon/clock.h"
#include "eragon/producer.h"

namespace {

void WriteLine(const std::string& line) {
  // One write(2) per line: a kill leaves at most the last line cut, never interleaved.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(1, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  eragon::ProducerOptions o;
  o.mode = eragon::PublishMode::kAsync;
  o.queue = eragon::QueueKind::kFile;
  o.retry_backoff_initial_ms = 20;
  o.retry_backoff_max_ms = 500;
  int threads = 4, entities = 5, count = 1000;
  int64_t start = 0;
  std::string type = "order_created";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--endpoint") {
      o.endpoint = value;
    } else if (flag == "--token") {
      o.token = value;
    } else if (flag == "--backup") {
      o.backup_dir = value;
    } else if (flag == "--threads") {
      threads = std::atoi(value.c_str());
    } else if (flag == "--entities") {
      entities = std::atoi(value.c_str());
    } else if (flag == "--count") {
      count = std::atoi(value.c_str());
    } else if (flag == "--start") {
      start = std::atoll(value.c_str());
    } else if (flag == "--type") {
      type = value;
    } else if (flag == "--fsync") {
      o.backup_fsync = value == "per-event"  ? eragon::BackupFsync::kPerEvent
                       : value == "interval" ? eragon::BackupFsync::kInterval
                                             : eragon::BackupFsync::kGroup;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto producer = eragon::Producer::Open(o);
  if (!producer.ok()) {
    std::fprintf(stderr, "open: %s\n", producer.status().ToString().c_str());
    return 2;
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < count; ++i) {
        eragon::Event e;
        e.id = eragon::NewUuidV7(eragon::Clock::System());
        e.event_type = type;
        e.entity_id = "e-" + std::to_string(t) + "-" + std::to_string(i % entities);
        const int64_t seq = start + i;
        e.data = R"({"seq":)" + std::to_string(seq) + "}";
        const std::string line =
            "ok " + e.id + " " + e.entity_id + " " + std::to_string(seq) + "\n";
        eragon::Status s =
            (*producer)->Publish(std::move(e), [&](const eragon::Result<eragon::PublishAck>& r) {
              if (!r.ok()) {
                std::fprintf(stderr, "publish failed: %s\n", r.status().ToString().c_str());
                ++failures;
              }
            });
        if (!s.ok()) {
          std::fprintf(stderr, "enqueue failed: %s\n", s.ToString().c_str());
          ++failures;
          return;
        }
        WriteLine(line);
      }
    });
  }
  for (auto& w : workers) w.join();
  eragon::Status flushed = (*producer)->Flush(std::chrono::minutes(5));
  eragon::Status closed = (*producer)->Close();
  if (!flushed.ok() || !closed.ok() || failures.load() > 0) {
    std::fprintf(stderr, "flush: %s close: %s failures: %d\n", flushed.ToString().c_str(),
                 closed.ToString().c_str(), failures.load());
    return 1;
  }
  return 0;
}
