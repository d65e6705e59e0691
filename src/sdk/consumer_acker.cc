#include "sdk/consumer_acker.h"

#include <chrono>

#include "core/json.h"
#include "eragon/clock.h"
#include "http/http_client.h"
#include "sdk/consumer_backoff.h"

namespace eragon::sdk {
namespace {

constexpr size_t kMaxBatch = 1000;  // API.md: ack_ids holds at most 1000 entries

int64_t NowMs() { return Clock::System()->MonoMs(); }

// The count eragond reports as {"acked": n} / {"nacked": n}; 0 when absent.
uint64_t CountIn(std::string_view body, const char* key) {
  simdjson::dom::parser parser;
  Result<simdjson::dom::element> doc = ParseJson(body, parser);
  uint64_t n = 0;
  if (!doc.ok() || (*doc)[key].get_uint64().get(n) != simdjson::SUCCESS) n = 0;
  return n;
}

}  // namespace

Acker::Acker(const ConsumerOptions& options, std::atomic<uint64_t>* acked,
             std::atomic<uint64_t>* nacked)
    : options_(options), acked_(acked), nacked_(nacked) {}

Acker::~Acker() { Stop(0); }

void Acker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Acker::Ack(std::string ack_id) {
  std::lock_guard lock(mu_);
  pending_.push_back({std::move(ack_id), -1, NowMs()});
  cv_.notify_one();
}

void Acker::Nack(std::string ack_id, int64_t delay_ms) {
  std::lock_guard lock(mu_);
  pending_.push_back({std::move(ack_id), std::max<int64_t>(0, delay_ms), NowMs()});
  cv_.notify_one();
}

void Acker::Stop(int64_t timeout_ms) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_deadline_mono_ms_ = NowMs() + timeout_ms;
    }
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

std::deque<Acker::Pending> Acker::TakeBatch() {
  std::deque<Pending> batch;
  const int64_t kind = pending_.front().delay_ms;
  for (auto it = pending_.begin(); it != pending_.end() && batch.size() < kMaxBatch;) {
    if (it->delay_ms == kind) {
      batch.push_back(std::move(*it));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

void Acker::DropExpired() {
  // eragond has offered these messages again by now; their ack ids are stale.
  const int64_t oldest = NowMs() - options_.ack_timeout_ms;
  size_t dropped = 0;
  while (!pending_.empty() && pending_.front().added_mono_ms < oldest) {
    pending_.pop_front();
    ++dropped;
  }
  if (dropped > 0) {
    Report(Status::Unavailable(std::to_string(dropped) +
                               " acks/nacks not delivered within the ack timeout; eragond "
                               "delivers those messages again"));
  }
}

Status Acker::Send(HttpClient& client, const std::deque<Pending>& batch) {
  const bool ack = batch.front().delay_ms < 0;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("ack_ids").BeginArray();
  for (const Pending& p : batch) w.String(p.ack_id);
  w.EndArray();
  if (!ack) w.Key("delay_ms").Int(batch.front().delay_ms);
  w.EndObject();
  const std::string path = "/v1/consumers/" + options_.consumer + (ack ? "/ack" : "/nack");
  Result<HttpReply> reply =
      client.Request("POST", path, body, {{"Authorization", "Bearer " + options_.token}});
  if (!reply.ok()) return Status::Unavailable(path + ": " + reply.status().message());
  if (reply->status == 200) {
    (ack ? acked_ : nacked_)->fetch_add(CountIn(reply->body, ack ? "acked" : "nacked"));
    return Status::Ok();
  }
  std::string what = path + ": HTTP " + std::to_string(reply->status) + " " + reply->body;
  if (reply->status == 429 || reply->status >= 500) return Status::Unavailable(what);
  return Status::InvalidArgument(what);
}

void Acker::Run() {
  HttpClientOptions ho;
  ho.connect_timeout_ms = options_.connect_timeout_ms;
  ho.request_timeout_ms = options_.request_timeout_ms;
  ho.tls = options_.tls;
  HttpClient client(options_.endpoint, ho);
  Backoff backoff(options_.retry_initial_backoff_ms, options_.retry_max_backoff_ms);
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    DropExpired();
    if (pending_.empty()) {
      if (stopping_) return;
      continue;
    }
    if (stopping_ && NowMs() >= stop_deadline_mono_ms_) {
      Report(Status::Unavailable(std::to_string(pending_.size()) +
                                 " acks/nacks not delivered before the stop timeout"));
      pending_.clear();
      return;
    }
    std::deque<Pending> batch = TakeBatch();
    lock.unlock();
    Status st = Send(client, batch);
    lock.lock();
    if (st.ok()) {
      backoff.Reset();
      continue;
    }
    Report(st);
    if (st.code() != Code::kUnavailable) continue;  // retrying cannot help: dropped
    // Back in front, oldest first, so ack-timeout expiry still sees the oldest first.
    pending_.insert(pending_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
    const int64_t wake = NowMs() + backoff.NextMs();
    while (true) {  // a Stop during the wait shortens it to the stop deadline
      const int64_t until = stopping_ ? std::min(wake, stop_deadline_mono_ms_) : wake;
      const int64_t now = NowMs();
      if (now >= until) break;
      cv_.wait_for(lock, std::chrono::milliseconds(until - now));
    }
  }
}

void Acker::Report(Status st) {
  if (options_.on_error) options_.on_error(st);
}

}  // namespace eragon::sdk
