// HttpServer: start (resolve, bind, listen, io threads) and graceful stop. The connections
// and the acceptor are in http_connection.cc; the state both share in http_server_impl.h.
#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

#include "http/http_server.h"

#include <boost/asio/post.hpp>
#include <cstdio>
#include <exception>

#include "core/thread_name.h"
#include "http/http_server_impl.h"

namespace eragon::http {

namespace {
namespace asio = boost::asio;
using detail::ErrorCode;
using detail::SteadyClock;
using detail::tcp;
}  // namespace

HttpServer::HttpServer(HttpServerOptions options, const Router* router)
    : impl_(std::make_shared<detail::ServerImpl>(std::move(options), router)) {}

HttpServer::~HttpServer() {
  Stop(std::chrono::milliseconds(0));
  if (impl_->finished.load()) {
    // Answers posted by Responders since Stop() returned: run them (they find their
    // connections closed) so none stays queued holding a connection.
    impl_->ioc.restart();
    impl_->ioc.poll();
  }
}

void HttpServer::SetLatencyHook(LatencyHook hook) { impl_->hook = std::move(hook); }
void HttpServer::SetOversizeHook(OversizeHook hook) { impl_->oversize_hook = std::move(hook); }

Status HttpServer::Start() {
  detail::ServerImpl& s = *impl_;
  if (s.options.tls) {
    ERAGON_ASSIGN_OR_RETURN(s.tls_context, detail::LoadServerTlsContext(*s.options.tls));
  }
  ErrorCode ec;
  tcp::resolver resolver(s.ioc);
  auto results = resolver.resolve(s.options.host, std::to_string(s.options.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument("cannot resolve listen host '" + s.options.host +
                                   "': " + ec.message());
  }
  tcp::endpoint endpoint = results.begin()->endpoint();
  std::string where = s.options.host + ":" + std::to_string(s.options.port);
  if (s.acceptor.open(endpoint.protocol(), ec)) {
    return Status::Unavailable("socket for " + where + ": " + ec.message());
  }
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (s.acceptor.bind(endpoint, ec)) {
    return Status::Unavailable("bind " + where + ": " + ec.message());
  }
  if (s.acceptor.listen(s.options.listen_backlog, ec)) {
    return Status::Unavailable("listen " + where + ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint(ec).port();
  s.DoAccept();
  int n = std::max(1, s.options.io_threads);
  s.running_threads = n;
  for (int i = 0; i < n; ++i) {
    s.threads.emplace_back([impl = impl_.get()] {
      SetThreadName("http-io");
      for (;;) {
        try {
          impl->ioc.run();
          break;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "eragon http: exception escaped a handler: %s\n", e.what());
        }
      }
      std::lock_guard<std::mutex> lock(impl->mu);
      if (--impl->running_threads == 0) impl->cv.notify_all();
    });
  }
  return Status::Ok();
}

uint16_t HttpServer::port() const { return impl_->port; }

Status HttpServer::ReloadTls() {
  detail::ServerImpl& s = *impl_;
  if (!s.options.tls) return Status::InvalidArgument("the server was started without TLS");
  ERAGON_ASSIGN_OR_RETURN(auto context, detail::LoadServerTlsContext(*s.options.tls));
  std::lock_guard<std::mutex> lock(s.tls_mu);
  s.tls_context = std::move(context);
  return Status::Ok();
}
int64_t HttpServer::in_flight() const { return impl_->in_flight.load(); }
uint64_t HttpServer::connections_accepted() const { return impl_->accepted.load(); }

void HttpServer::Stop(std::chrono::milliseconds grace) {
  detail::ServerImpl& s = *impl_;
  if (s.threads.empty() || s.finished.load()) return;
  const auto deadline = SteadyClock::now() + grace;

  {
    std::lock_guard<std::mutex> lock(s.mu);  // orders against registration in OnAccept
    s.stopping.store(true);
  }
  asio::post(s.acceptor.get_executor(), [impl = impl_] {
    ErrorCode ignored;
    impl->acceptor.close(ignored);
    impl->accept_retry.cancel();
  });
  // Idle connections close now; the others finish their request, then close.
  s.PostToConnections(false);
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.cv.wait_until(lock, deadline, [&s] { return s.active_connections == 0; });
  }
  // All answered, or past the grace period: close whatever is left (lingering ones
  // included). With no socket, timer or acceptor left, io_context::run() runs out of
  // work and the threads return.
  s.PostToConnections(true);
  {
    std::unique_lock<std::mutex> lock(s.mu);
    if (!s.cv.wait_for(lock, std::chrono::seconds(2), [&s] { return s.running_threads == 0; })) {
      s.ioc.stop();  // something still holds work; do not hang the caller
    }
  }
  for (auto& t : s.threads) t.join();
  s.finished.store(true, std::memory_order_release);
  // Run what Responders posted while the threads wound down, so no handler that holds a
  // connection (and through it this Impl) stays queued.
  s.ioc.restart();
  s.ioc.poll();
}

}  // namespace eragon::http
