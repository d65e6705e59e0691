#include "testing/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace eragon::dispatch::testing {
namespace {

void Die(const char* what) {
  std::perror(what);
  std::abort();
}

// Blocking I/O on one connection, plain or TLS, that gives up when the server stops.
// The socket has a short receive timeout so blocked reads come back to check.
class Channel {
 public:
  Channel(int fd, SSL* ssl, const std::atomic<bool>* stop) : fd_(fd), ssl_(ssl), stop_(stop) {}

  bool Handshake() {
    if (ssl_ == nullptr) return true;
    while (!stop_->load()) {
      int r = SSL_accept(ssl_);
      if (r == 1) return true;
      int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
    }
    return false;
  }

  // Appends what arrives to *buf. False on EOF, error or stop.
  bool ReadSome(std::string* buf) {
    char tmp[16384];
    while (!stop_->load()) {
      ssize_t n;
      if (ssl_ != nullptr) {
        int r = SSL_read(ssl_, tmp, sizeof(tmp));
        if (r > 0) {
          buf->append(tmp, r);
          return true;
        }
        int err = SSL_get_error(ssl_, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) continue;
        return false;
      }
      n = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (n > 0) {
        buf->append(tmp, n);
        return true;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      return false;
    }
    return false;
  }

  bool WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl_ != nullptr) {
        n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (n <= 0) return false;
      } else {
        n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  int fd_;
  SSL* ssl_;
  const std::atomic<bool>* stop_;
};

// Parses one request out of the front of *buf once it is complete; erases it.
bool TakeRequest(std::string* buf, TestRequest* req, bool* bad) {
  size_t end = buf->find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string_view head(buf->data(), end);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) {
    *bad = true;
    return false;
  }
  req->method = std::string(line.substr(0, sp1));
  req->target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  req->headers.clear();
  size_t content_length = 0;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view h = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(h.substr(0, colon));
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (strcasecmp(name.c_str(), "content-length") == 0) {
      content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    }
    req->headers.emplace_back(std::move(name), std::string(value));
  }
  if (buf->size() < end + 4 + content_length) return false;
  req->body = buf->substr(end + 4, content_length);
  buf->erase(0, end + 4 + content_length);
  return true;
}

std::string Render(const TestAnswer& a) {
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " Test\r\n";
  out += "Content-Length: " + std::to_string(a.body.size()) + "\r\n";
  for (const auto& [k, v] : a.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  out += a.body;
  return out;
}

}  // namespace

std::optional<std::string> TestRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return std::nullopt;
}

TestHttpServer::TestHttpServer(TestHandler handler, std::optional<Tls> tls, bool record)
    : handler_(std::move(handler)), record_(record) {
  ::signal(SIGPIPE, SIG_IGN);
  if (tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr ||
        SSL_CTX_use_certificate_file(ctx, tls->cert_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      ERR_print_errors_fp(stderr);
      Die("TestHttpServer: TLS setup");
    }
    ssl_ctx_ = ctx;
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) Die("socket");
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind");
  if (::listen(listen_fd_, 1024) != 0) Die("listen");
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestHttpServer::~TestHttpServer() {
  Stop();
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string TestHttpServer::Url(std::string_view path) const {
  return std::string(ssl_ctx_ != nullptr ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<TestRequest> TestHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void TestHttpServer::Stop() {
  if (stop_.exchange(true)) return;
  accept_thread_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void TestHttpServer::AcceptLoop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    uint64_t index = accepted_.fetch_add(1) + 1;
    timeval tv{0, 20'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, fd, index] { Serve(fd, index); });
  }
}

void TestHttpServer::Serve(int fd, uint64_t index) {
  SSL* ssl = nullptr;
  if (ssl_ctx_ != nullptr) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    SSL_set_fd(ssl, fd);
  }
  Channel ch(fd, ssl, &stop_);
  std::string buf;
  bool linger_reset = false;
  bool open = ch.Handshake();
  uint64_t on_connection = 0;
  while (open && !stop_.load()) {
    TestRequest req;
    bool bad = false;
    while (!TakeRequest(&buf, &req, &bad)) {
      if (bad || !ch.ReadSome(&buf)) {
        open = false;
        break;
      }
    }
    if (!open) break;
    req.connection = index;
    req.on_connection = ++on_connection;
    request_count_.fetch_add(1);
    TestAnswer answer = handler_(req);
    if (record_) {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    auto until = std::chrono::steady_clock::now() + answer.delay;
    while (!stop_.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    switch (answer.action) {
      case TestAnswer::Action::kAnswer:
        open = ch.WriteAll(Render(answer)) && !answer.close_after;
        break;
      case TestAnswer::Action::kNoAnswer:
        while (ch.ReadSome(&buf)) {
        }
        open = false;
        break;
      case TestAnswer::Action::kReset:
        linger_reset = true;
        open = false;
        break;
      case TestAnswer::Action::kClose:
        open = false;
        break;
    }
  }
  if (linger_reset) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  } else if (ssl != nullptr) {
    SSL_shutdown(ssl);
  }
  if (ssl != nullptr) SSL_free(ssl);
  ::close(fd);
}

}  // namespace eragon::dispatch::testing
