// Acker: the consumer's ack and nack sender. Handler threads hand it ack ids; one thread
// sends them in batches (whatever piled up while the previous request was out, up to
// 1000 ids), so acks cost one request per batch, not per message.
//
// While eragond is unreachable or answers 429/5xx a batch is retried with backoff; ids
// older than the ack timeout are dropped then (eragond delivers those messages again:
// at-least-once). Other answers (4xx) are reported and the batch dropped.
//
// Thread-safe; Ack/Nack from any thread between Start and Stop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "eragon/consumer.h"
#include "eragon/status.h"

namespace eragon {
class HttpClient;
}

namespace eragon::sdk {

class Acker {
 public:
  // `acked` / `nacked` count what eragond reported; they must outlive the Acker.
  Acker(const ConsumerOptions& options, std::atomic<uint64_t>* acked,
        std::atomic<uint64_t>* nacked);
  ~Acker();

  void Start();
  void Ack(std::string ack_id);
  void Nack(std::string ack_id, int64_t delay_ms);
  // Sends everything pending, retrying until done or `timeout_ms` passed (the rest is
  // dropped and reported), then joins the thread. Idempotent.
  void Stop(int64_t timeout_ms);

 private:
  struct Pending {
    std::string ack_id;
    int64_t delay_ms;  // -1: ack; else nack with this delay
    int64_t added_mono_ms;
  };

  void Run();
  // Takes the oldest entry's kind and every pending entry of that kind (up to 1000).
  std::deque<Pending> TakeBatch();
  // Sends one batch; Ok, or an error telling whether a retry can help (kUnavailable).
  Status Send(HttpClient& client, const std::deque<Pending>& batch);
  void DropExpired();
  void Report(Status st);

  const ConsumerOptions& options_;
  std::atomic<uint64_t>* acked_;
  std::atomic<uint64_t>* nacked_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> pending_;
  bool stopping_ = false;
  int64_t stop_deadline_mono_ms_ = 0;
  std::thread thread_;
};

}  // namespace eragon::sdk
