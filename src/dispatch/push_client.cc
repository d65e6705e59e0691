// PushClient's per-request path: Send, the pools' Dispatch and the keep-alive connection
// state machine (connect, TLS handshake, write, read the answer, reuse or close). The only
// translation unit of eragon_push that includes Beast; push_client_impl.h has the state it
// shares with push_client_lifecycle.cc (Create, Stop) and the threading rules.
#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

// GCC 12 with -fsanitize reports a false -Wmaybe-uninitialized inside Beast 1.74's
// basic_parser (a boost::optional<uint64_t> in do_field); the code there is fine.
// (Before the Boost headers: the warning is reported at their lines.)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#if defined(__SANITIZE_THREAD__)
// Asio's handler code uses std::atomic_thread_fence, which TSan does not model (-Wtsan);
// its strands and scheduler are annotated through the mutexes they use.
#pragma GCC diagnostic ignored "-Wtsan"
#endif

#include "dispatch/push_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <cerrno>
#include <concepts>

#include "core/names.h"
#include "dispatch/push_client_impl.h"

namespace eragon::dispatch {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using detail::Call;
using detail::CallPtr;
using detail::Describe;
using detail::ErrorCode;
using detail::ErrorResult;
using detail::kStopped;
using detail::Pool;
using detail::PushClientImpl;
using detail::SteadyClock;
using detail::Strand;
using detail::TimeoutError;

constexpr size_t kBodyPrefixBytes = 512;
constexpr uint32_t kMaxHeaderBytes = 16 * 1024;

// A Beast body that keeps the first kBodyPrefixBytes of the answer, discards the rest
// and fails with body_limit past `limit` bytes. (The limit is enforced here: Beast 1.74's
// parser let a Content-Length above its body_limit through in our tests.)
struct PrefixBody {
  struct value_type {
    std::string prefix;
    uint64_t limit = 0;
    uint64_t seen = 0;
  };
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}
    // A long Content-Length is not refused up front: the prefix is still worth reading.
    void init(const boost::optional<uint64_t>&, ErrorCode& ec) { ec = {}; }
    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, ErrorCode& ec) {
      ec = {};
      size_t n = 0;
      for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
           ++it) {
        asio::const_buffer b = *it;
        size_t room = kBodyPrefixBytes - std::min(kBodyPrefixBytes, body_.prefix.size());
        body_.prefix.append(static_cast<const char*>(b.data()), std::min(room, b.size()));
        n += b.size();
      }
      body_.seen += n;
      if (body_.seen > body_.limit) ec = bhttp::error::body_limit;
      return n;
    }
    void finish(ErrorCode& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};
using ResponseParser = bhttp::response_parser<PrefixBody>;

bool IsClosedByPeer(const ErrorCode& ec) {
  return ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated || ec == bhttp::error::partial_message;
}

// One keep-alive connection. Every member function runs on strand_.
class Connection final : public detail::PooledConnection,
                         public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Pool> pool, asio::io_context& ioc)
      : pool_(std::move(pool)),
        impl_(pool_->impl),
        strand_(asio::make_strand(ioc)),
        socket_(strand_),
        resolver_(strand_),
        timer_(strand_) {}

  const Strand& strand() const { return strand_; }

  // A new connection's first call.
  void Open(CallPtr call) {
    call_ = std::move(call);
    Connect();
  }

  // A call on a connection taken from the idle list.
  void Reuse(CallPtr call) {
    call_ = std::move(call);
    if (closed_) {  // lost a race with Stop()
      impl_->Complete(std::move(call_), ErrorResult(kStopped));
      return;
    }
    if (!LooksAlive()) {
      ResetSocket();
      Connect();
      return;
    }
    SetDeadline(call_->deadline);
    Write();
  }

  // Stop(): finishes the current call with "push client stopped" and closes.
  void Abort() {
    aborted_ = true;
    if (call_) {
      Finish(ErrorResult(kStopped), false);
    } else {
      Close();
    }
  }

 private:
  enum class State : uint8_t { kConnecting, kHandshake, kWriting, kReading, kIdle, kClosed };

  template <typename F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  // Handlers carry the epoch they were issued in; a handler of a closed or replaced
  // socket finds a newer epoch and does nothing.
  template <typename F>
  auto Bind(F f) {
    return [ self = shared_from_this(), epoch = epoch_, f = std::move(f) ]<typename... A>(
               A && ... args) mutable -> void requires std::invocable<F&, A...> {
      if (epoch != self->epoch_ || self->closed_) return;
      f(std::forward<A>(args)...);
    };
  }

  // A pooled socket the server closed, or on which bytes arrived unasked, is not reused.
  bool LooksAlive() {
    char byte;
    ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    return n > 0 && tls_.has_value();  // TLS may carry a late session ticket; http may not
  }

  void SetDeadline(SteadyClock::time_point d) {
    deadline_ = d;
    if (!timer_waiting_ || timer_.expiry() > d) {
      timer_.expires_at(d);  // cancels a wait that would fire later
      timer_waiting_ = true;
      timer_.async_wait([self = shared_from_this()](const ErrorCode& ec) { self->OnTimer(ec); });
    }
  }

  // The timer is re-armed lazily: a request that ends early leaves it pending, and when
  // it fires it only moves on to the current deadline. So most requests cost no timer
  // operation at all.
  void OnTimer(const ErrorCode& ec) {
    if (ec == asio::error::operation_aborted || closed_) return;
    timer_waiting_ = false;
    if (SteadyClock::now() < deadline_) {
      SetDeadline(deadline_);
      return;
    }
    if (state_ == State::kIdle) {
      CloseIfStillIdle();
      return;
    }
    if (!call_) return;
    std::string error;
    if (SteadyClock::now() >= call_->deadline) {
      error = TimeoutError(*call_);
    } else {  // the connect limit, shorter than the request's
      error = std::string(state_ == State::kHandshake ? "tls: handshake" : "connect") +
              ": timeout after " + std::to_string(impl_->options.connect_timeout.count()) + " ms";
    }
    Finish(ErrorResult(std::move(error)), false);
  }

  void Connect() {
    state_ = State::kConnecting;
    reused_ = false;
    SetDeadline(std::min(call_->deadline, SteadyClock::now() + impl_->options.connect_timeout));
    impl_->opened.fetch_add(1, std::memory_order_relaxed);
    const PushUrl& ep = pool_->endpoint;
    if (ep.host_is_ip) {
      ErrorCode ec;
      auto address = asio::ip::make_address(ep.host, ec);
      if (ec) return Fail("connect", ec);
      return ConnectTo({tcp::endpoint(address, ep.port)});
    }
    resolver_.async_resolve(
        ep.host, std::to_string(ep.port),
        Bind([this](const ErrorCode& e, const tcp::resolver::results_type& results) {
          if (e) return Fail("resolve", e);
          ConnectTo({results.begin(), results.end()});
        }));
  }

  // Checks every resolved address against the push targets on each connection (DNS
  // answers change) and connects to the first allowed one that answers.
  void ConnectTo(std::vector<tcp::endpoint> endpoints) {
    std::string refusal = detail::KeepAllowed(impl_->options.targets.get(), &endpoints);
    if (endpoints.empty()) return Finish(ErrorResult("connect: " + refusal), false);
    asio::async_connect(socket_, endpoints,
                        Bind([this](const ErrorCode& e, const tcp::endpoint&) { OnConnect(e); }));
  }

  void OnConnect(const ErrorCode& ec) {
    if (ec) return Fail("connect", ec);
    ErrorCode ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    if (!pool_->endpoint.tls) {
      SetDeadline(call_->deadline);
      return Write();
    }
    state_ = State::kHandshake;
    tls_.emplace(socket_, impl_->tls);
    SSL* ssl = tls_->native_handle();
    const PushUrl& ep = pool_->endpoint;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool ok = ep.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str()) == 1
                            : (SSL_set_tlsext_host_name(ssl, ep.host.c_str()) == 1 &&
                               SSL_set1_host(ssl, ep.host.c_str()) == 1);
    if (!ok) {
      return Finish(ErrorResult("tls: cannot set up verification of " + ep.host), false);
    }
    tls_->set_verify_mode(ssl::verify_peer);
    tls_->async_handshake(ssl::stream_base::client, Bind([this](const ErrorCode& e) {
                            if (e) return FailHandshake(e);
                            SetDeadline(call_->deadline);
                            Write();
                          }));
  }

  void FailHandshake(const ErrorCode& ec) {
    long verify = SSL_get_verify_result(tls_->native_handle());
    if (verify != X509_V_OK) {
      return Finish(ErrorResult(std::string("tls: certificate verify failed: ") +
                                X509_verify_cert_error_string(verify)),
                    false);
    }
    Fail("tls", ec);
  }

  void Write() {
    state_ = State::kWriting;
    std::array<asio::const_buffer, 2> buffers{asio::buffer(call_->head), asio::buffer(call_->body)};
    WithStream([&](auto& stream) {
      asio::async_write(stream, buffers, Bind([this](const ErrorCode& ec, size_t) {
                          if (ec) return Fail("write", ec);
                          Read();
                        }));
    });
  }

  void Read() {
    state_ = State::kReading;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(boost::none);  // PrefixBody enforces the limit
    parser_->get().body().limit = impl_->options.max_response_body_bytes;
    WithStream([&](auto& stream) {
      bhttp::async_read(stream, buffer_, *parser_,
                        Bind([this](const ErrorCode& ec, size_t) { OnRead(ec); }));
    });
  }

  void OnRead(const ErrorCode& ec) {
    bool too_long = ec == bhttp::error::body_limit && parser_->is_header_done();
    if (ec && !too_long) return Fail("read", ec);
    auto& answer = parser_->get();
    int status = static_cast<int>(answer.result_int());
    if (status >= 100 && status < 200 && status != 101 && !too_long) return Read();  // interim
    PushResult result;
    result.status = status;
    auto retry_after = answer.find(bhttp::field::retry_after);
    if (retry_after != answer.end()) {
      auto v = retry_after->value();
      int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      result.retry_after_ms = ParseRetryAfterMs(std::string_view(v.data(), v.size()), now_ms);
    }
    result.body_prefix = std::move(answer.body().prefix);
    bool reusable = !too_long && status != 101 && answer.keep_alive() && !parser_->need_eof() &&
                    buffer_.size() == 0;
    parser_.reset();
    Finish(std::move(result), reusable);
  }

  void Fail(const char* phase, const ErrorCode& ec) {
    if (!call_) return;
    bool nothing_answered = !parser_ || (!parser_->got_some() && buffer_.size() == 0);
    bool stale = reused_ && nothing_answered && IsClosedByPeer(ec) &&
                 (state_ == State::kWriting || state_ == State::kReading);
    if (stale && !call_->retried && !aborted_) {
      call_->retried = true;
      ResetSocket();
      Connect();
      return;
    }
    std::string error;
    if (ec == asio::error::connection_reset) {
      error = "connection reset";
    } else if (IsClosedByPeer(ec) && (state_ == State::kWriting || state_ == State::kReading)) {
      error = "connection closed by the server before the answer";
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category()) {
      error = "bad answer: " + Describe(ec);
    } else {
      error = std::string(phase) + ": " + Describe(ec);
    }
    Finish(ErrorResult(std::move(error)), false);
  }

  // Hands the connection back (or closes it) first, so `done` may Send at once.
  void Finish(PushResult result, bool reusable) {
    CallPtr call = std::move(call_);
    parser_.reset();
    if (reusable && !aborted_) {
      reused_ = true;
      Release();
    } else {
      Close();
    }
    impl_->Complete(std::move(call), std::move(result));
  }

  // After a good answer: take the next waiting call, or go idle.
  void Release() {
    std::vector<CallPtr> expired;
    CallPtr next;
    bool pool_closed = false;
    {
      std::lock_guard<std::mutex> lock(pool_->mu);
      pool_closed = pool_->closed;
      if (!pool_closed) {
        next = TakeWaiting(&expired);
        if (!next) {
          state_ = State::kIdle;
          pool_->idle.push_back(shared_from_this());
        }
      }
    }
    for (auto& c : expired) {
      std::string e = TimeoutError(*c);
      impl_->Complete(std::move(c), ErrorResult(std::move(e)));
    }
    if (pool_closed) return Close();
    if (!next) return SetDeadline(SteadyClock::now() + impl_->options.idle_timeout);
    call_ = std::move(next);
    if (!LooksAlive()) {
      ResetSocket();
      return Connect();
    }
    SetDeadline(call_->deadline);
    Write();
  }

  // REQUIRES: pool_->mu held. The first waiting call still in time; those past their
  // deadline go to *expired.
  CallPtr TakeWaiting(std::vector<CallPtr>* expired) {
    auto now = SteadyClock::now();
    auto& waiting = pool_->waiting;
    while (!pool_->closed && !waiting.empty()) {
      CallPtr c = std::move(waiting.front());
      waiting.pop_front();
      if (c->deadline > now) return c;
      expired->push_back(std::move(c));
    }
    return nullptr;
  }

  void CloseIfStillIdle() {
    {
      std::lock_guard<std::mutex> lock(pool_->mu);
      auto& idle = pool_->idle;
      auto it =
          std::find_if(idle.begin(), idle.end(), [this](const auto& c) { return c.get() == this; });
      if (it == idle.end()) return;  // taken by Send: Reuse is on its way
      idle.erase(it);                // `this` stays alive: the timer handler holds a reference
    }
    Close();
  }

  void ResetSocket() {
    ++epoch_;
    ErrorCode ignored;
    socket_.close(ignored);
    tls_.reset();
    buffer_.clear();
    parser_.reset();
  }

  // Closes for good and gives the slot to the first waiting call, if any.
  void Close() {
    if (closed_) return;
    ResetSocket();
    closed_ = true;
    state_ = State::kClosed;
    resolver_.cancel();
    timer_.cancel();
    std::shared_ptr<Connection> replacement;
    CallPtr next;
    std::vector<CallPtr> expired;
    {
      std::lock_guard<std::mutex> lock(pool_->mu);
      --pool_->open;
      pool_->all.erase(this);
      next = TakeWaiting(&expired);
      if (next) {
        ++pool_->open;
        replacement = std::make_shared<Connection>(pool_, impl_->NextIoc());
        pool_->all.emplace(replacement.get(), replacement);
      }
    }
    for (auto& c : expired) {
      std::string e = TimeoutError(*c);
      impl_->Complete(std::move(c), ErrorResult(std::move(e)));
    }
    if (replacement) {
      asio::post(replacement->strand(),
                 [replacement, c = std::move(next)]() mutable { replacement->Open(std::move(c)); });
    }
  }

  std::shared_ptr<Pool> pool_;
  PushClientImpl* const impl_;
  Strand strand_;
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<ResponseParser> parser_;
  CallPtr call_;
  State state_ = State::kConnecting;
  SteadyClock::time_point deadline_;
  uint64_t epoch_ = 0;
  bool timer_waiting_ = false;
  bool reused_ = false;  // an answer already came over this connection
  bool aborted_ = false;
  bool closed_ = false;
};

std::shared_ptr<Pool> GetPool(PushClientImpl& impl, const PushUrl& url) {
  std::string key = url.EndpointKey();
  std::lock_guard<std::mutex> lock(impl.mu);
  if (impl.stopping_locked) return nullptr;
  auto& pool = impl.pools[key];
  if (!pool) pool = std::make_shared<Pool>(&impl, url, impl.NextIoc());
  return pool;
}

void Dispatch(PushClientImpl& impl, const std::shared_ptr<Pool>& pool, CallPtr call) {
  std::shared_ptr<Connection> conn;
  bool fresh = false;
  {
    std::lock_guard<std::mutex> lock(pool->mu);
    if (pool->closed) {
      // Fall through to the error below, outside the lock.
    } else if (!pool->idle.empty()) {
      conn = std::static_pointer_cast<Connection>(std::move(pool->idle.back()));
      pool->idle.pop_back();
    } else if (pool->open < impl.options.max_connections_per_endpoint) {
      ++pool->open;
      fresh = true;
      conn = std::make_shared<Connection>(pool, impl.NextIoc());
      pool->all.emplace(conn.get(), conn);
    } else {
      pool->waiting.push_back(std::move(call));
      if (!pool->wait_timer_armed) {
        pool->wait_timer_armed = true;
        asio::post(pool->strand, [impl = &impl, pool] { impl->ArmWaitTimer(pool); });
      }
      return;
    }
  }
  if (!conn) return impl.PostError(std::move(call), kStopped);
  const Strand& strand = conn->strand();
  asio::post(strand, [conn = std::move(conn), c = std::move(call), fresh]() mutable {
    fresh ? conn->Open(std::move(c)) : conn->Reuse(std::move(c));
  });
}

}  // namespace

namespace detail {

void PostAbort(std::shared_ptr<PooledConnection> connection) {
  auto c = std::static_pointer_cast<Connection>(std::move(connection));
  const Strand& strand = c->strand();
  asio::post(strand, [c] { c->Abort(); });
}

void PushClientImpl::Complete(CallPtr call, PushResult result) {
  call->done(std::move(result));
  call.reset();
  Uncount();
}

void PushClientImpl::Uncount() {
  if (outstanding.fetch_sub(1) == 1 && stopping.load()) {
    std::lock_guard<std::mutex> lock(done_mu);
    done_cv.notify_all();
  }
}

void PushClientImpl::PostError(CallPtr call, std::string error) {
  asio::post(*iocs[0], [this, c = std::move(call), e = std::move(error)]() mutable {
    Complete(std::move(c), ErrorResult(std::move(e)));
  });
}

}  // namespace detail

void PushClient::Send(PushRequest request, std::function<void(PushResult)> done) {
  // Counted before the check, so a Stop() that has not seen this call yet waits for it.
  impl_->outstanding.fetch_add(1);
  if (impl_->stopping.load()) {
    impl_->Uncount();
    done(ErrorResult(kStopped));
    return;
  }
  auto call = std::make_unique<Call>();
  call->timeout = request.timeout;
  call->deadline = SteadyClock::now() + request.timeout;
  call->done = std::move(done);

  auto url = ParsePushUrl(request.url);
  if (!url.ok()) return impl_->PostError(std::move(call), url.status().message());
  call->url = std::move(url).value();

  std::string& head = call->head;
  head.reserve(128 + request.headers.size() * 48);
  head.append("POST ").append(call->url.target).append(" HTTP/1.1\r\nHost: ");
  head.append(call->url.HostHeader()).append("\r\n");
  for (const auto& [name, value] : request.headers) {
    if (!IsValidHeaderName(name) || !IsSafeHeaderValue(value)) {
      return impl_->PostError(std::move(call), "invalid header: " + PercentEncodeHeaderValue(name));
    }
    if (beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
        beast::iequals(name, "transfer-encoding") || beast::iequals(name, "connection")) {
      return impl_->PostError(std::move(call), "invalid header: " + name + " is set by the client");
    }
    head.append(name).append(": ").append(value).append("\r\n");
  }
  head.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n\r\n");
  call->body = std::move(request.body);

  auto pool = GetPool(*impl_, call->url);
  if (!pool) return impl_->PostError(std::move(call), kStopped);
  Dispatch(*impl_, pool, std::move(call));
}

}  // namespace eragon::dispatch
