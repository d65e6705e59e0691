#include "sdk/producer_lane.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "core/json.h"

namespace eragon::sdk {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Retryable(const Result<HttpReply>& r) {
  if (!r.ok()) return r.status().code() != Code::kInvalidArgument;  // transport failure
  return r->status == 408 || r->status == 429 || r->status >= 500;
}

// The Status of a final (non-retryable) error answer, with the server's code and message.
Status ServerError(const HttpReply& reply) {
  std::string code;
  std::string message;
  auto doc = ParseJson(reply.body);
  if (doc.ok()) {
    std::string_view c, m;
    if ((*doc)["error"]["code"].get(c) == simdjson::SUCCESS) code = c;
    if ((*doc)["error"]["message"].get(m) == simdjson::SUCCESS) message = m;
  }
  const std::string text = "publish answered " + std::to_string(reply.status) +
                           (code.empty() ? "" : " " + code) + ": " +
                           (message.empty() ? reply.body.substr(0, 200) : message);
  switch (reply.status) {
    case 400:
      return code == "invalid_json" ? Status::InvalidJson(text) : Status::InvalidArgument(text);
    case 401:
      return Status::Unauthenticated(text);
    case 403:
      return Status::PermissionDenied(text);
    case 404:
      return code == "unknown_event_type" ? Status::UnknownEventType(text) : Status::NotFound(text);
    case 409:
      return Status::Conflict(text);
    case 413:
      return Status::TooLarge(text);
    default:
      return Status::InvalidArgument(text);
  }
}

std::string Describe(const Result<HttpReply>& r) {
  if (!r.ok()) return r.status().ToString();
  return "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200);
}

// Retry-After in ms (delta-seconds form), or 0.
int64_t RetryAfterMs(const Result<HttpReply>& r) {
  if (!r.ok()) return 0;
  const std::string v = r->Header("Retry-After");
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::stoll(v) * 1000;
}

}  // namespace

void ProducerCore::Resolve(const QueuedRecord& r, std::string_view id,
                           const Result<PublishAck>& result) {
  (result.ok() ? acked : failed).fetch_add(1, std::memory_order_relaxed);
  if (r.context) {
    static_cast<Completion*>(r.context.get())->done(result);
  } else if (!result.ok() && options.on_replayed_failure) {
    options.on_replayed_failure(std::string(id), result.status());
  }
}

void ProducerCore::NotifyProgress() {
  std::lock_guard lock(progress_mu);
  progress.notify_all();
}

Lane::Lane(ProducerCore* core)
    : core_(core),
      client_(core->options.endpoint,
              HttpClientOptions{static_cast<int>(core->options.connect_timeout_ms),
                                static_cast<int>(core->options.request_timeout_ms), 1ull << 20,
                                core->options.tls}) {
  headers_.emplace_back("Authorization", "Bearer " + core->options.token);
}

Lane::~Lane() = default;

void Lane::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Lane::Push(std::vector<LaneRecord>& records) {
  {
    std::lock_guard lock(mu_);
    for (LaneRecord& r : records) {
      fifo_bytes_ += r.view.json_len + 1;
      fifo_.push_back(std::move(r));
    }
  }
  records.clear();
  cv_.notify_one();
}

void Lane::Wake() {
  std::lock_guard lock(mu_);
  cv_.notify_one();
}

void Lane::Join() {
  Wake();
  if (thread_.joinable()) thread_.join();
}

std::vector<LaneRecord> Lane::TakeLeftovers() {
  std::lock_guard lock(mu_);
  std::vector<LaneRecord> out = std::move(leftovers_);
  for (LaneRecord& r : fifo_) out.push_back(std::move(r));
  fifo_.clear();
  fifo_bytes_ = 0;
  return out;
}

void Lane::Run() {
  std::vector<LaneRecord> batch;
  while (NextBatch(&batch)) {
    const size_t resolved = Send(batch);
    if (resolved < batch.size()) {  // abandoned at close
      std::lock_guard lock(mu_);
      std::move(batch.begin() + static_cast<ptrdiff_t>(resolved), batch.end(),
                std::back_inserter(leftovers_));
      batch.clear();
      return;
    }
    batch.clear();
    core_->NotifyProgress();
  }
}

bool Lane::NextBatch(std::vector<LaneRecord>* batch) {
  const ProducerOptions& o = core_->options;
  const int64_t linger_ns = o.mode == PublishMode::kAsync ? o.linger_ms * 1'000'000 : 0;
  std::unique_lock lock(mu_);
  for (;;) {
    if (core_->abandon.load()) return false;
    if (fifo_.empty()) {
      if (core_->stop.load()) return false;
      cv_.wait(lock);
      continue;
    }
    if (fifo_.size() >= o.batch_max_events || fifo_bytes_ >= o.batch_max_bytes ||
        core_->flushing.load() > 0 || core_->stop.load()) {
      break;
    }
    const int64_t wait_ns = fifo_.front().arrival_ns + linger_ns - NowNs();
    if (wait_ns <= 0) break;
    cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns));
  }
  // One request carries one traceparent header: a batch holds records that share it.
  const std::string_view tp = fifo_.front().view.traceparent(fifo_.front().rec.payload);
  uint64_t bytes = 0;
  while (!fifo_.empty() && batch->size() < o.batch_max_events) {
    LaneRecord& r = fifo_.front();
    const uint64_t b = r.view.json_len + 1;
    if (!batch->empty() &&
        (bytes + b > o.batch_max_bytes || r.view.traceparent(r.rec.payload) != tp)) {
      break;
    }
    bytes += b;
    fifo_bytes_ -= b;
    batch->push_back(std::move(r));
    fifo_.pop_front();
  }
  return true;
}

size_t Lane::Send(std::span<LaneRecord> records) {
  std::string& body = body_;  // Send nests for bisection: the body is rebuilt per call
  body.clear();
  body.append("{\"events\":[");
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) body.push_back(',');
    body.append(records[i].view.json(records[i].rec.payload));
  }
  body.append("]}");
  HttpHeaders headers = headers_;
  const std::string_view tp = records[0].view.traceparent(records[0].rec.payload);
  if (!tp.empty()) headers.emplace_back("traceparent", std::string(tp));

  const ProducerOptions& o = core_->options;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0;; ++attempt) {
    if (core_->abandon.load()) return 0;
    core_->requests.fetch_add(1, std::memory_order_relaxed);
    if (attempt > 0) core_->retries.fetch_add(1, std::memory_order_relaxed);
    Result<HttpReply> reply = client_.Request("POST", "/v1/events", body, headers);
    if (reply.ok() && reply->status == 202) {
      ResolveAccepted(records, *reply);
      return records.size();
    }
    if (!Retryable(reply)) {
      if (!reply.ok()) {  // a bad endpoint URL: nothing will ever succeed
        ResolveFailed(records, reply.status());
        return records.size();
      }
      // Find the offending event(s); the others go on. A 401 is about the token, not an
      // event: the whole batch fails at once.
      if (records.size() > 1 && reply->status != 401) {
        const size_t half = records.size() / 2;
        const size_t first = Send(records.first(half));
        if (first < half) return first;
        return half + Send(records.subspan(half));
      }
      ResolveFailed(records, ServerError(*reply));
      return records.size();
    }
    if (o.max_retries >= 0 && attempt >= o.max_retries) {
      ResolveFailed(records,
                    Status::Unavailable("publish gave up after " + std::to_string(attempt + 1) +
                                        " attempts; last: " + Describe(reply)));
      return records.size();
    }
    const int64_t cap = std::min<int64_t>(o.retry_backoff_max_ms,
                                          o.retry_backoff_initial_ms << std::min(attempt, 30));
    int64_t delay = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(cap, 0))(rng);
    delay = std::max(delay, std::min(RetryAfterMs(reply), o.retry_backoff_max_ms));
    if (!Backoff(delay)) return 0;
  }
}

void Lane::ResolveAccepted(std::span<LaneRecord> records, const HttpReply& reply) {
  std::vector<bool> dup(records.size(), false);
  auto doc = ParseJson(reply.body);
  simdjson::dom::array dups;
  if (doc.ok() && (*doc)["duplicates"].get(dups) == simdjson::SUCCESS) {
    size_t i = 0;
    for (simdjson::dom::element d : dups) {
      bool b = false;
      if (i < dup.size() && d.get(b) == simdjson::SUCCESS) dup[i] = b;
      ++i;
    }
  }
  std::vector<uint64_t> seqs;
  seqs.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string_view id = records[i].view.id(records[i].rec.payload);
    core_->Resolve(records[i].rec, id, PublishAck{std::string(id), dup[i]});
    seqs.push_back(records[i].rec.seq);
  }
  (void)core_->queue->Done(seqs);
}

void Lane::ResolveFailed(std::span<LaneRecord> records, const Status& error) {
  std::vector<uint64_t> seqs;
  for (LaneRecord& r : records) {
    core_->Resolve(r.rec, r.view.id(r.rec.payload), error);
    seqs.push_back(r.rec.seq);
  }
  (void)core_->queue->Done(seqs);
}

bool Lane::Backoff(int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return core_->abandon.load(); });
  return !core_->abandon.load();
}

}  // namespace eragon::sdk
