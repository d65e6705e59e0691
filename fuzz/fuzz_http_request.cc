// The HTTP request path of the server (src/http): raw bytes go over a loopback socket
// into a real HttpServer (the Beast parser with the server's header and body limits,
// 100-continue, pipelining, keep-alive, the router's matching and percent-decoding), and
// the answer is read until the server closes. Every answer must be an HTTP/1.1 response;
// nothing may crash, leak or hang (a hang shows as a libFuzzer timeout).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz/fuzz_util.h"
#include "http/http_server.h"
#include "http/router.h"

using eragon::fuzz::Check;
namespace http = eragon::http;

namespace {

std::string Describe(const http::HttpRequest& req) {
  std::string out = req.method_name + " " + req.path + " q=" + std::to_string(req.query.size());
  for (const auto& [k, v] : req.query) out += " " + k + "=" + v;
  out += " body=" + std::to_string(req.body.size());
  if (auto ct = req.Header("Content-Type")) out += " ct=" + std::string(*ct);
  return out;
}

struct Server {
  http::Router router;
  std::unique_ptr<http::HttpServer> server;

  Server() {
    auto echo = [](http::HttpRequest&& req, http::Responder respond) {
      http::HttpResponse r;
      r.content_type = "text/plain";
      r.body = Describe(req) + " p=" + std::string(req.Param("name"));
      respond(std::move(r));
    };
    router.Get("/v1/things/{name}", echo);
    router.Post("/v1/things/{name}", echo);
    router.Put("/v1/things/{name}/sub/{other}", echo);
    router.Delete("/v1/things/{name}", echo);
    http::HttpServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 1;
    o.max_header_bytes = 2048;
    o.max_body_bytes = 8192;
    o.request_timeout = std::chrono::milliseconds(2000);
    o.idle_timeout = std::chrono::milliseconds(2000);
    server = std::make_unique<http::HttpServer>(o, &router);
    Check(server->Start().ok(), "server starts");
  }
};

Server& TheServer() {
  static Server* s = new Server();  // lives as long as the process: io threads use it
  return *s;
}

// A socket for one connection attempt: reads time out after 5 s; close() resets the
// connection (no TIME_WAIT): hundreds of connections a second for ten minutes would
// otherwise run the loopback out of ephemeral ports, which a 10-min run next to a busy
// test suite did (connect failed; the input replayed fine on its own).
int NewSocket() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  Check(fd >= 0, "socket");
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  linger no_wait{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_wait, sizeof(no_wait));
  return fd;
}

int Connect(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // What is the machine's, not the server's, is tried again on a fresh socket: out of
  // local ports (wait for some), and a signal interrupting connect (EINTR: libFuzzer's
  // own timers; a CI run met it once).
  for (int tries = 0;; ++tries) {
    int fd = NewSocket();
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
    const int err = errno;
    close(fd);
    const bool machine = err == EADDRNOTAVAIL || err == EINTR;
    if (!machine || tries == 50) {
      std::fprintf(stderr, "connect: %s\n", std::strerror(err));
      Check(false, "connect");
      return -1;
    }
    if (err == EADDRNOTAVAIL) usleep(100'000);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& s = TheServer();
  int fd = Connect(s.server->port());
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered an error and closed early
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string answer;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EAGAIN) Check(false, "server did not close within 5 s after EOF");
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  Check(answer.empty() || answer.rfind("HTTP/1.1 ", 0) == 0, "answers are HTTP/1.1 responses");
  return 0;
}
