// PushClient's set-up and shutdown: Create (options, the TLS client context, the io
// threads), Stop, and the timer that fails calls waiting too long for a free connection.
// The per-request path is in push_client.cc; the shared state in push_client_impl.h.
#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

#include <openssl/ssl.h>

#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstdlib>

#include "core/thread_name.h"
#include "dispatch/push_client.h"
#include "dispatch/push_client_impl.h"

namespace eragon::dispatch {
namespace {

thread_local const void* current_client = nullptr;  // set on the client's io threads

}  // namespace

namespace detail {

// On pool->strand. Fires at the earliest deadline among the waiting calls.
void PushClientImpl::ArmWaitTimer(const std::shared_ptr<Pool>& pool) {
  std::optional<SteadyClock::time_point> earliest;
  {
    std::lock_guard<std::mutex> lock(pool->mu);
    for (const auto& c : pool->waiting) {
      if (!earliest || c->deadline < *earliest) earliest = c->deadline;
    }
    if (!earliest) {
      pool->wait_timer_armed = false;
      return;
    }
  }
  pool->wait_timer.expires_at(*earliest);
  pool->wait_timer.async_wait([this, pool](const ErrorCode& ec) {
    if (!ec) OnWaitTimer(pool);
  });
}

void PushClientImpl::OnWaitTimer(const std::shared_ptr<Pool>& pool) {
  std::vector<CallPtr> expired;
  {
    std::lock_guard<std::mutex> lock(pool->mu);
    auto now = SteadyClock::now();
    auto& w = pool->waiting;
    for (auto it = w.begin(); it != w.end();) {
      if ((*it)->deadline <= now) {
        expired.push_back(std::move(*it));
        it = w.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : expired) {
    std::string e = TimeoutError(*c) + " (no free connection)";
    Complete(std::move(c), ErrorResult(std::move(e)));
  }
  ArmWaitTimer(pool);
}

void PushClientImpl::Stop() {
  if (current_client == this) {
    std::fprintf(stderr, "PushClient::Stop called from a done callback\n");
    std::abort();
  }
  std::vector<std::shared_ptr<Pool>> all_pools;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopped) return;
    stopped = true;
    stopping_locked = true;
    stopping.store(true);
    for (auto& [key, pool] : pools) all_pools.push_back(pool);
  }
  for (auto& pool : all_pools) {
    std::deque<CallPtr> waiting;
    std::vector<std::shared_ptr<PooledConnection>> conns;
    {
      std::lock_guard<std::mutex> lock(pool->mu);
      pool->closed = true;
      waiting.swap(pool->waiting);
      for (auto& [ptr, weak] : pool->all) {
        if (auto c = weak.lock()) conns.push_back(std::move(c));
      }
      pool->idle.clear();  // `conns` still holds them: nothing is destroyed under the lock
    }
    for (auto& c : waiting) PostError(std::move(c), kStopped);
    for (auto& c : conns) PostAbort(std::move(c));
    asio::post(pool->strand, [pool] { pool->wait_timer.cancel(); });
  }
  {
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait(lock, [this] { return outstanding.load() == 0; });
  }
  work.clear();
  for (auto& t : threads) t.join();
  threads.clear();
}

std::string Describe(const ErrorCode& ec) {
  std::string m = ec.message();
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z' && (m.size() < 2 || !(m[1] >= 'A' && m[1] <= 'Z'))) {
    m[0] = static_cast<char>(m[0] - 'A' + 'a');
  }
  return m;
}

std::string KeepAllowed(const PushTargets* targets,
                        std::vector<asio::ip::tcp::endpoint>* endpoints) {
  std::string refusal;
  if (targets == nullptr) return refusal;
  std::erase_if(*endpoints, [&](const asio::ip::tcp::endpoint& e) {
    const asio::ip::address a = e.address();
    std::optional<std::string> why;
    if (a.is_v4()) {
      auto bytes = a.to_v4().to_bytes();
      why = targets->Refusal(IpAddress::FromBytes(bytes.data(), bytes.size()), e.port());
    } else {
      auto bytes = a.to_v6().to_bytes();
      why = targets->Refusal(IpAddress::FromBytes(bytes.data(), bytes.size()), e.port());
    }
    if (why) refusal = std::move(*why);
    return why.has_value();
  });
  return refusal;
}

}  // namespace detail

Result<std::unique_ptr<PushClient>> PushClient::Create(PushClientOptions options) {
  if (options.io_threads < 1) return Status::InvalidArgument("io_threads: must be >= 1");
  if (options.max_connections_per_endpoint < 1) {
    return Status::InvalidArgument("max_connections_per_endpoint: must be >= 1");
  }
  if (options.connect_timeout.count() <= 0 || options.idle_timeout.count() <= 0) {
    return Status::InvalidArgument("connect_timeout and idle_timeout: must be > 0");
  }
  auto impl = std::make_shared<detail::PushClientImpl>(std::move(options));
  detail::ErrorCode ec;
  SSL_CTX_set_min_proto_version(impl->tls.native_handle(), TLS1_2_VERSION);
  impl->tls.set_default_verify_paths(ec);  // no system CAs is not fatal: extra CA may do
  if (!impl->options.extra_ca_file.empty()) {
    impl->tls.load_verify_file(impl->options.extra_ca_file, ec);
    if (ec) {
      return Status::InvalidArgument("extra_ca_file: cannot load " + impl->options.extra_ca_file +
                                     ": " + ec.message());
    }
  }
  impl->tls.set_verify_mode(detail::ssl::verify_peer);
  for (auto& ioc : impl->iocs) {
    impl->threads.emplace_back([raw = impl.get(), ioc = ioc.get()] {
      SetThreadName("push-io");
      current_client = raw;
      ioc->run();
    });
  }
  return std::unique_ptr<PushClient>(new PushClient(std::move(impl)));
}

PushClient::PushClient(std::shared_ptr<detail::PushClientImpl> impl) : impl_(std::move(impl)) {}

PushClient::~PushClient() { Stop(); }

void PushClient::Stop() { impl_->Stop(); }

uint64_t PushClient::connections_opened() const { return impl_->opened.load(); }

}  // namespace eragon::dispatch
