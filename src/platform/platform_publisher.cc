#include "platform/platform_publisher.h"

#include <chrono>
#include <cstdio>

#include "core/thread_name.h"

namespace eragon::platform {

PlatformPublisher::PlatformPublisher(std::string install_secret, PublishFn publish,
                                     PlatformPublisherOptions options)
    : secret_(std::move(install_secret)), publish_(std::move(publish)), options_(options) {}

PlatformPublisher::~PlatformPublisher() { Stop(); }

Event PlatformPublisher::ToEvent(PlatformEvent&& e) const {
  Event out;
  out.id = PlatformEventId(secret_, e.event_type, e.key);
  out.event_type = std::move(e.event_type);
  out.entity_id = std::move(e.entity_id);
  out.producer = std::string(kProducer);
  out.occurred_at = e.occurred_at;
  out.data = std::move(e.data);
  return out;
}

void PlatformPublisher::Publish(PlatformEvent event) {
  Event e = ToEvent(std::move(event));  // the HMAC outside the lock
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= options_.max_queued) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(e));
  }
  cv_.notify_one();
}

void PlatformPublisher::Start() {
  thread_ = std::thread([this] {
    SetThreadName("platform");
    Loop();
  });
}

void PlatformPublisher::Stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status PlatformPublisher::PublishBatch(const std::vector<Event>& batch) {
  Status st = publish_(batch);
  if (st.code() != Code::kConflict) return st;
  // An id of the batch holds other content (an occurrence reported again with other
  // data): it counts as stored, the others are stored one by one.
  for (const Event& e : batch) {
    Status one = batch.size() == 1 ? st : publish_({e});
    if (!one.ok() && one.code() != Code::kConflict) return one;
  }
  return Status::Ok();
}

void PlatformPublisher::Loop() {
  std::unique_lock lk(mu_);
  std::string last_error;
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, nothing left
    const bool final_attempt = stopping_;
    const size_t n = std::min(queue_.size(), options_.max_batch);
    std::vector<Event> batch(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.begin() + n));
    queue_.erase(queue_.begin(), queue_.begin() + n);
    busy_ = true;
    lk.unlock();
    Status st = PublishBatch(batch);
    lk.lock();
    busy_ = false;
    if (st.ok()) {
      published_ += n;
      last_error.clear();
    } else {
      if (st.ToString() != last_error) {
        last_error = st.ToString();
        fprintf(stderr, "eragond: platform events: %s (retrying)\n", last_error.c_str());
      }
      if (final_attempt) {
        dropped_ += n + queue_.size();
        queue_.clear();
      } else {
        for (size_t i = n; i-- > 0;) queue_.push_front(std::move(batch[i]));
        cv_.wait_for(lk, std::chrono::milliseconds(options_.retry_ms), [&] { return stopping_; });
      }
    }
    if (queue_.empty()) idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

bool PlatformPublisher::WaitIdle(int64_t timeout_ms) {
  std::unique_lock lk(mu_);
  return idle_cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms),
                           [&] { return queue_.empty() && !busy_; });
}

uint64_t PlatformPublisher::published() const {
  std::lock_guard lk(mu_);
  return published_;
}

uint64_t PlatformPublisher::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

}  // namespace eragon::platform
