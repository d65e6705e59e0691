// Responder: how a handler answers a request, now or later, from any thread.
//
// A handler receives `void(HttpRequest&&, Responder)`. It may call the Responder before
// returning (a synchronous answer) or move it anywhere — a queue, another thread, the
// completion callback of a log fsync — and call it later. The server then posts the
// write back onto the connection's own executor, so the handler never touches sockets.
//
// Contract:
//  - Call it at most once. A Responder destroyed without having been called answers
//    500 internal ("the handler dropped the request"), so a connection never hangs.
//  - Thread-safe in the sense that it may be called or destroyed on any thread; a single
//    Responder is not meant to be shared by several threads at once.
//  - While a Responder is alive the request counts as in flight for HttpServer::Stop().
//    All Responders must be called or destroyed before their HttpServer is destroyed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "http/http_message.h"

namespace eragon::http {

// Where a Responder delivers its answer. The server's connections implement it; tests of
// handlers can use Responder::ToCallback instead.
class ResponseSink {
 public:
  // Called exactly once per Responder, on the thread that called (or dropped) it.
  // `request_id` is the id the Responder was created with.
  virtual void SendResponse(uint64_t request_id, HttpResponse&& response) = 0;

 protected:
  ~ResponseSink() = default;
};

class Responder {
 public:
  Responder() = default;  // an empty Responder: calling it does nothing
  Responder(std::shared_ptr<ResponseSink> sink, uint64_t request_id)
      : sink_(std::move(sink)), request_id_(request_id) {}
  Responder(Responder&& other) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  // Sends the response. After the call the Responder is empty.
  void operator()(HttpResponse&& response);

  // True until called (or moved from).
  explicit operator bool() const { return sink_ != nullptr; }

  // A Responder that hands its response to `callback`, for testing handlers without a
  // server. The callback runs on the thread that calls the Responder.
  static Responder ToCallback(std::function<void(HttpResponse&&)> callback);

 private:
  std::shared_ptr<ResponseSink> sink_;
  uint64_t request_id_ = 0;
};

// The handler signature. Handlers run on an io thread: they must not block (hand slow
// work to another thread and answer through the Responder when it is done).
using Handler = std::function<void(HttpRequest&&, Responder)>;

}  // namespace eragon::http
