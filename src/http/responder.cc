#include "http/responder.h"

#include "http/http_error.h"

namespace eragon::http {
namespace {

class CallbackSink final : public ResponseSink {
 public:
  explicit CallbackSink(std::function<void(HttpResponse&&)> callback)
      : callback_(std::move(callback)) {}
  void SendResponse(uint64_t, HttpResponse&& response) override { callback_(std::move(response)); }

 private:
  std::function<void(HttpResponse&&)> callback_;
};

}  // namespace

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    Responder pending(std::move(*this));  // answers 500 on scope exit if still pending
    sink_ = std::move(other.sink_);
    request_id_ = other.request_id_;
  }
  return *this;
}

Responder::~Responder() {
  if (sink_ != nullptr) {
    sink_->SendResponse(request_id_,
                        ErrorResponse(500, "internal", "the handler dropped the request"));
  }
}

void Responder::operator()(HttpResponse&& response) {
  if (sink_ == nullptr) return;
  std::shared_ptr<ResponseSink> sink = std::move(sink_);
  sink_ = nullptr;
  sink->SendResponse(request_id_, std::move(response));
}

Responder Responder::ToCallback(std::function<void(HttpResponse&&)> callback) {
  return Responder(std::make_shared<CallbackSink>(std::move(callback)), 0);
}

}  // namespace eragon::http
