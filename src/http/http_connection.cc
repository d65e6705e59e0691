// HttpServer's connections: the per-connection state machine (read and parse a request,
// hand it to the router, write the answer, keep alive or linger) and the acceptor that
// creates them. The only translation unit of eragon_http that includes Beast; the whole
// per-request path is here. With TLS the same state machine runs over an ssl::stream
// after a server handshake.
#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <charconv>
#include <cstdio>

#include "http/http_error.h"
#include "http/http_server_impl.h"

namespace eragon::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using detail::ErrorCode;
using detail::SteadyClock;
using detail::Strand;
using detail::tcp;

// Answers up to this size are copied behind the header so the write is one buffer.
constexpr size_t kInlineBodyBytes = 16 * 1024;
// Read sizes: header reads are small, body reads large (see Connection::ReadMore).
constexpr size_t kMinReadBytes = 4 * 1024;
constexpr size_t kMaxReadBytes = 64 * 1024;
// After an answer with "Connection: close" the socket is half-closed and the peer's
// remaining bytes are drained for this long, so a close does not turn into a reset that
// destroys the answer (e.g. a 413 while the client still sends its body).
constexpr std::chrono::milliseconds kLingerTime{1000};

bool HasControlChars(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

std::string_view SV(beast::string_view s) { return {s.data(), s.size()}; }

void AppendInt(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out.append(buf, end);
}

// A connection beyond max_connections with none idle to make room: one short write of a
// 503 (the socket's buffer takes it; no waiting) and close.
void RefuseFull(tcp::socket& socket) {
  static constexpr std::string_view kFull =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: 80\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
      "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections; retry shortly\"}}";
  ErrorCode ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(kFull.data(), kFull.size()), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace

// One accepted socket. Every member function except SendResponse runs on the strand.
class Connection final : public ResponseSink, public std::enable_shared_from_this<Connection> {
 public:
  // `tls` null: plain HTTP.
  Connection(std::shared_ptr<detail::ServerImpl> server, Strand strand, tcp::socket socket,
             std::shared_ptr<ssl::context> tls)
      : server_(std::move(server)),
        strand_(std::move(strand)),
        socket_(std::move(socket)),
        timer_(strand_),
        tls_context_(std::move(tls)) {
    if (tls_context_) tls_.emplace(socket_, *tls_context_);
  }

  const Strand& strand() const { return strand_; }
  // When the connection began waiting for its next request (steady ns); 0 while a request
  // is under way. Any thread.
  int64_t idle_since() const { return idle_since_.load(std::memory_order_relaxed); }
  // Closes the connection if it still waits for a request (max_connections made room).
  void CloseIfIdle() {
    if (state_ == State::kReading && !request_started_) Close();
  }

  void Start() {
    if (state_ == State::kClosed) return;  // Stop() got here first
    ArmTimer();
    if (tls_) return Handshake();
    StartRequest();
  }

  // Graceful stop: idle connections close now, the others after their current answer.
  void OnStop() {
    if (state_ == State::kReading && !request_started_) {
      Close();
    } else {
      close_after_write_ = true;
    }
  }

  void Close() {
    if (state_ == State::kClosed) return;
    if (state_ == State::kWriting) ExitGate();
    state_ = State::kClosed;
    ErrorCode ignored;
    socket_.close(ignored);
    timer_.cancel();
    server_->Unregister(this);
  }

  // Any thread.
  void SendResponse(uint64_t request_id, HttpResponse&& response) override {
    if (strand_.running_in_this_thread()) {
      WriteResponse(request_id, std::move(response));
      return;
    }
    if (server_->finished.load(std::memory_order_acquire)) {
      // No io thread will run a posted write; the connection is closed anyway.
      server_->in_flight.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    asio::post(strand_, [self = shared_from_this(), request_id, r = std::move(response)]() mutable {
      self->WriteResponse(request_id, std::move(r));
    });
  }

 private:
  enum class State : uint8_t { kReading, kHandling, kWriting, kLingering, kClosed };

  void SetDeadline(std::chrono::milliseconds d) { deadline_ = SteadyClock::now() + d; }

  template <typename F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  // Counts as reading a request: Stop() closes a connection still in its handshake, and
  // a client that does not finish it within request_timeout is cut off.
  void Handshake() {
    SetDeadline(server_->options.request_timeout);
    tls_->async_handshake(ssl::stream_base::server,
                          [self = shared_from_this()](const ErrorCode& ec) {
                            if (self->state_ != State::kReading) return;
                            if (ec) return self->Close();
                            self->StartRequest();
                          });
  }

  void ArmTimer() {
    timer_.expires_after(server_->tick);
    timer_.async_wait([self = shared_from_this()](const ErrorCode& ec) { self->OnTimer(ec); });
  }

  void OnTimer(const ErrorCode& ec) {
    if (ec || state_ == State::kClosed) return;
    if (SteadyClock::now() >= deadline_) {
      Close();  // idle, slow request, slow write or linger over
      return;
    }
    ArmTimer();
  }

  void StartRequest() {
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(server_->options.max_header_bytes);
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->eager(true);
    request_started_ = false;
    continue_sent_ = false;
    SetDeadline(server_->options.idle_timeout);
    idle_since_.store((deadline_ - server_->options.idle_timeout).time_since_epoch().count(),
                      std::memory_order_relaxed);
    ParseBuffered();
  }

  void ParseBuffered() {
    ErrorCode ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      if (!request_started_) {
        request_started_ = true;
        idle_since_.store(0, std::memory_order_relaxed);
        SetDeadline(server_->options.request_timeout);
      }
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return OnParseError(ec);
      if (used == 0) break;
    }
    if (parser_->is_done()) return OnRequestComplete();
    if (parser_->is_header_done() && !continue_sent_ && ExpectsContinue()) {
      continue_sent_ = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      WithStream([this](auto& stream) {
        asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                          [self = shared_from_this()](const ErrorCode& ec, size_t) {
                            if (self->state_ != State::kReading) return;
                            if (ec) return self->Close();
                            self->ReadMore();
                          });
      });
      return;
    }
    ReadMore();
  }

  bool ExpectsContinue() const {
    const auto& fields = parser_->get();
    auto it = fields.find(bhttp::field::expect);
    return it != fields.end() && EqualsIgnoreCase(SV(it->value()), "100-continue");
  }

  // Reads what the message still needs: a few KiB while the header comes in (idle
  // keep-alive connections stay small), up to kMaxReadBytes per read for a body.
  // (beast::read_size would read 512 bytes at a time into a buffer that never grows,
  // as the parser consumes everything: 200 syscalls for a 100 KiB batch.)
  void ReadMore() {
    size_t want = kMinReadBytes;
    if (parser_->is_header_done()) {
      auto remaining = parser_->content_length_remaining();
      want = remaining ? static_cast<size_t>(std::min<uint64_t>(*remaining, kMaxReadBytes))
                       : kMaxReadBytes;
    }
    want = std::clamp(std::max(want, buffer_.capacity() - buffer_.size()), kMinReadBytes,
                      kMaxReadBytes);
    WithStream([this, want](auto& stream) {
      stream.async_read_some(
          buffer_.prepare(want),
          [self = shared_from_this()](const ErrorCode& ec, size_t n) { self->OnRead(ec, n); });
    });
  }

  void OnRead(const ErrorCode& ec, size_t n) {
    if (state_ != State::kReading) return;
    if (ec) {
      if ((ec == asio::error::eof || ec == ssl::error::stream_truncated) && request_started_) {
        ErrorCode eof_ec;
        parser_->put_eof(eof_ec);
        if (!eof_ec && parser_->is_done()) {
          close_after_write_ = true;
          return OnRequestComplete();
        }
      }
      return Close();
    }
    buffer_.commit(n);
    ParseBuffered();
  }

  void OnParseError(const ErrorCode& ec) {
    HttpResponse r;
    std::optional<HttpResponse> hooked;
    if (ec == bhttp::error::body_limit && server_->oversize_hook) {
      hooked = server_->oversize_hook(HeadersOnly());
    }
    if (hooked) {
      r = std::move(*hooked);
    } else if (ec == bhttp::error::body_limit) {
      r = ErrorResponse(
          413, "too_large",
          "request body exceeds " + std::to_string(server_->options.max_body_bytes) + " bytes");
    } else if (ec == bhttp::error::header_limit) {
      r = ErrorResponse(
          431, "too_large",
          "request header exceeds " + std::to_string(server_->options.max_header_bytes) + " bytes");
    } else {
      r = ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message());
    }
    close_after_write_ = true;
    method_ = Method::kOther;
    route_ = {};
    request_done_at_ = SteadyClock::now();
    state_ = State::kHandling;
    ++request_id_;
    EnterGate();
    WriteResponse(request_id_, std::move(r));
  }

  // The request as far as it was parsed: method, target and headers, no body.
  HttpRequest HeadersOnly() {
    auto& msg = parser_->get();
    HttpRequest req;
    req.method_name.assign(SV(msg.method_string()));
    req.method = ParseMethod(req.method_name);
    req.SetTarget(SV(msg.target()));
    req.headers.reserve(8);
    for (const auto& f : msg) {
      req.headers.Add(std::string(SV(f.name_string())), std::string(SV(f.value())));
    }
    req.version = msg.version();
    req.keep_alive = msg.keep_alive();
    return req;
  }

  void OnRequestComplete() {
    HttpRequest req = HeadersOnly();
    req.body = std::move(parser_->get().body());
    if (!req.keep_alive) close_after_write_ = true;
    version_ = req.version;
    method_ = req.method;
    route_ = {};
    request_done_at_ = SteadyClock::now();
    state_ = State::kHandling;
    deadline_ = SteadyClock::time_point::max();  // the handler takes as long as it takes
    ++request_id_;
    EnterGate();
    server_->router->Dispatch(std::move(req), Responder(shared_from_this(), request_id_), &route_);
  }

  void EnterGate() {
    in_gate_ = true;
    server_->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  void ExitGate() {
    if (!in_gate_) return;
    in_gate_ = false;
    server_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  }

  void WriteResponse(uint64_t request_id, HttpResponse&& r) {
    if (request_id != request_id_) return;  // cannot happen: one request at a time
    if (state_ != State::kHandling) {       // closed while the handler ran
      ExitGate();
      return;
    }
    if (server_->hook) {
      server_->hook(RequestStats{method_, route_, r.status, SteadyClock::now() - request_done_at_});
    }
    if (server_->stopping.load(std::memory_order_relaxed)) close_after_write_ = true;
    Serialize(r);
    state_ = State::kWriting;
    SetDeadline(server_->options.write_timeout);
    std::array<asio::const_buffer, 2> buffers = {asio::buffer(out_), asio::buffer(out_body_)};
    WithStream([this, &buffers](auto& stream) {
      asio::async_write(stream, buffers, [self = shared_from_this()](const ErrorCode& ec, size_t) {
        self->OnWritten(ec);
      });
    });
  }

  void Serialize(HttpResponse& r) {
    out_.clear();
    out_body_.clear();
    out_.append("HTTP/1.1 ");
    AppendInt(out_, static_cast<uint64_t>(r.status));
    out_.push_back(' ');
    out_.append(ReasonPhrase(r.status));
    out_.append("\r\n");
    bool no_body = r.status == 204 || r.status == 304 || r.status < 200;
    bool has_type = false;
    for (const auto& [name, value] : r.headers) {
      if (HasControlChars(name) || HasControlChars(value) || name.empty()) continue;
      if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Connection") ||
          EqualsIgnoreCase(name, "Transfer-Encoding")) {
        continue;
      }
      has_type = has_type || EqualsIgnoreCase(name, "Content-Type");
      out_.append(name).append(": ").append(value).append("\r\n");
    }
    if (!no_body) {
      if (!has_type && !r.body.empty()) {
        out_.append("Content-Type: ");
        out_.append(r.content_type.empty() || HasControlChars(r.content_type) ? "application/json"
                                                                              : r.content_type);
        out_.append("\r\n");
      }
      out_.append("Content-Length: ");
      AppendInt(out_, r.body.size());
      out_.append("\r\n");
    }
    if (close_after_write_) {
      out_.append("Connection: close\r\n");
    } else if (version_ == 10) {
      out_.append("Connection: keep-alive\r\n");
    }
    out_.append("\r\n");
    if (no_body || method_ == Method::kHead) return;
    if (r.body.size() <= kInlineBodyBytes) {
      out_.append(r.body);
    } else {
      out_body_ = std::move(r.body);
    }
  }

  void OnWritten(const ErrorCode& ec) {
    ExitGate();
    if (state_ != State::kWriting) return;
    if (ec) return Close();
    if (out_body_.capacity() > kInlineBodyBytes) std::string().swap(out_body_);
    if (close_after_write_ || server_->stopping.load(std::memory_order_relaxed)) return Linger();
    StartRequest();
  }

  // With TLS too the TCP send side is shut without a close_notify: the answer carried
  // its length, and waiting for the peer's close_notify would only hold the connection.
  void Linger() {
    state_ = State::kLingering;
    server_->Deactivate(this);
    ErrorCode ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    SetDeadline(std::min(kLingerTime, server_->options.write_timeout));
    Drain();
  }

  void Drain() {
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(64 * 1024),
                            [self = shared_from_this()](const ErrorCode& ec, size_t) {
                              if (self->state_ != State::kLingering) return;
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  std::shared_ptr<detail::ServerImpl> server_;  // first: destroyed after the socket
  Strand strand_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<ssl::context> tls_context_;     // the context tls_'s SSL was made from
  std::optional<ssl::stream<tcp::socket&>> tls_;  // set with TLS; over socket_
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  State state_ = State::kReading;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool request_started_ = false;  // a byte of the current request has arrived
  std::atomic<int64_t> idle_since_{0};
  bool continue_sent_ = false;
  bool close_after_write_ = false;
  bool in_gate_ = false;
  int version_ = 11;
  uint64_t request_id_ = 0;
  Method method_ = Method::kOther;
  std::string_view route_;
  SteadyClock::time_point request_done_at_;
  std::string out_;       // status line, header and small bodies
  std::string out_body_;  // large bodies, written without a copy
};
void detail::ServerImpl::DoAccept() {
  pending_strand.emplace(asio::make_strand(ioc));
  pending_socket.emplace(*pending_strand);
  acceptor.async_accept(*pending_socket,
                        [self = shared_from_this()](const ErrorCode& ec) { self->OnAccept(ec); });
}

void detail::ServerImpl::OnAccept(const ErrorCode& ec) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: back off instead of spinning.
    std::fprintf(stderr, "eragon http: accept failed: %s\n", ec.message().c_str());
    accept_retry.expires_after(std::chrono::milliseconds(50));
    accept_retry.async_wait([self = shared_from_this()](const ErrorCode& e) {
      if (!e && self->acceptor.is_open()) self->DoAccept();
    });
    return;
  }
  ErrorCode ignored;
  pending_socket->set_option(tcp::no_delay(true), ignored);
  std::shared_ptr<ssl::context> tls = CurrentTls();
  bool start = false;
  bool full = false;
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard<std::mutex> lock(mu);
    full = connections.size() >= options.max_connections && !CloseLongestIdleLocked();
    if (!stopping.load() && !full) {
      conn = std::make_shared<Connection>(shared_from_this(), *pending_strand,
                                          std::move(*pending_socket), std::move(tls));
      connections.emplace(conn.get(), Entry{conn, true, false});
      ++active_connections;
      start = true;
    }
  }
  if (full) RefuseFull(*pending_socket);
  accepted.fetch_add(1, std::memory_order_relaxed);
  if (start) asio::post(*pending_strand, [conn] { conn->Start(); });
  DoAccept();
}

// Room for one more: the connection that has waited longest for its next request is
// closed (on its strand; the registry shrinks when it is). Scans the registry, which
// happens only at max_connections.
bool detail::ServerImpl::CloseLongestIdleLocked() {
  std::shared_ptr<Connection> oldest;
  int64_t oldest_since = INT64_MAX;
  for (auto& [ptr, entry] : connections) {
    const int64_t since = ptr->idle_since();
    if (since == 0 || since >= oldest_since || !entry.active || entry.closing) continue;
    if (auto c = entry.connection.lock()) {
      oldest = std::move(c);
      oldest_since = since;
    }
  }
  if (!oldest) return false;
  connections[oldest.get()].closing = true;  // the next accept picks another
  const Strand& strand = oldest->strand();
  asio::post(strand, [c = std::move(oldest)] { c->CloseIfIdle(); });
  return true;
}

void detail::ServerImpl::PostToConnections(bool close) {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& [ptr, entry] : connections) {
      if (auto c = entry.connection.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) {
    const Strand& strand = c->strand();
    asio::post(strand, [c = std::move(c), close] { close ? c->Close() : c->OnStop(); });
  }
}

void detail::ServerImpl::Deactivate(Connection* c) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = connections.find(c);
  if (it == connections.end() || !it->second.active) return;
  it->second.active = false;
  if (--active_connections == 0) cv.notify_all();
}

void detail::ServerImpl::Unregister(Connection* c) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = connections.find(c);
  if (it == connections.end()) return;
  if (it->second.active && --active_connections == 0) cv.notify_all();
  connections.erase(it);
  if (connections.empty()) cv.notify_all();
}

}  // namespace eragon::http
