// The producer's moving parts behind Producer (include/eragon/producer.h):
//   ProducerCore: options, the queue, counters and flags shared by all threads.
//   Lane: one ordered pipeline — a FIFO of records for the entities that hash to it, a
//   thread that forms batches and sends each one until it is resolved, one HttpClient.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "eragon/producer.h"
#include "http/http_client.h"
#include "sdk/producer_record.h"

namespace eragon::sdk {

// What a queued record's context points to: how to tell the publisher the outcome.
struct Completion {
  PublishCallback done;
};

struct ProducerCore {
  ProducerOptions options;
  std::shared_ptr<EventQueue> queue;

  std::atomic<uint64_t> acked{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> retries{0};

  std::atomic<int> flushing{0};      // > 0: send batches without linger
  std::atomic<bool> stop{false};     // lanes exit once their FIFO is empty
  std::atomic<bool> abandon{false};  // lanes give up retrying; records stay unresolved

  // Notified whenever records were resolved (Flush and Close wait on it).
  std::mutex progress_mu;
  std::condition_variable progress;

  // Tells the record's publisher (or on_replayed_failure) the outcome.
  void Resolve(const QueuedRecord& r, std::string_view id, const Result<PublishAck>& result);
  void NotifyProgress();
};

struct LaneRecord {
  QueuedRecord rec;
  EventRecordView view;
  int64_t arrival_ns = 0;  // steady clock, for linger
};

class Lane {
 public:
  explicit Lane(ProducerCore* core);
  ~Lane();  // REQUIRES: Join() was called

  void Start();
  void Push(std::vector<LaneRecord>& records);  // moves them in, in order
  void Wake();                                  // re-check flush/stop flags
  void Join();
  // The records not resolved when the thread ended (abandoned at close).
  std::vector<LaneRecord> TakeLeftovers();

 private:
  void Run();
  // Waits for a batch; false when stopping with nothing left.
  bool NextBatch(std::vector<LaneRecord>* batch);
  // Sends records until resolved; returns how many from the front were resolved (fewer
  // than all only when abandoned).
  size_t Send(std::span<LaneRecord> records);
  void ResolveAccepted(std::span<LaneRecord> records, const HttpReply& reply);
  void ResolveFailed(std::span<LaneRecord> records, const Status& error);
  // Sleeps `ms`, or less when abandoned; false when abandoned.
  bool Backoff(int64_t ms);

  ProducerCore* const core_;
  HttpClient client_;
  HttpHeaders headers_;  // Authorization
  std::string body_;     // the request body, reused (batches are up to batch_max_bytes)

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LaneRecord> fifo_;
  uint64_t fifo_bytes_ = 0;  // JSON bytes in fifo_
  std::vector<LaneRecord> leftovers_;
  std::thread thread_;
};

}  // namespace eragon::sdk
