// The generator's engine: Asio sockets and a minimal HTTP/1.1 response parser (status
// line and Content-Length are all a benchmark needs; the client must cost less than the
// server it measures).
#include <utility>  // first: Boost 1.74 with GCC 12 needs std::exchange declared

#include "bench/bench_load_generator.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace eragon::bench {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using Strand = asio::strand<asio::io_context::executor_type>;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != prefix[i]) return false;
  }
  return true;
}

struct ResponseHead {
  int status = 0;
  size_t header_bytes = 0;  // through the blank line
  size_t content_length = 0;
  bool close = false;
};

// Parses the head of the response at the front of `data`. 1: complete head, 0: need
// more bytes, -1: not an HTTP/1.x response with a Content-Length we can frame.
int ParseResponseHead(std::string_view data, ResponseHead* out) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return data.size() > 64 * 1024 ? -1 : 0;
  std::string_view head = data.substr(0, end);
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1.") return -1;
  out->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
  out->header_bytes = end + 4;
  out->content_length = 0;
  out->close = head[7] == '0';
  bool has_length = false;
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    std::string_view line = head.substr(pos + 2);
    size_t next = line.find("\r\n");
    if (next != std::string_view::npos) line = line.substr(0, next);
    if (StartsWithIgnoreCase(line, "content-length:")) {
      size_t v = 0;
      for (char c : line.substr(15)) {
        if (c >= '0' && c <= '9') v = v * 10 + static_cast<size_t>(c - '0');
      }
      out->content_length = v;
      has_length = true;
    } else if (StartsWithIgnoreCase(line, "connection:")) {
      out->close = line.find("close") != std::string_view::npos ||
                   line.find("Close") != std::string_view::npos;
    }
    pos = next == std::string_view::npos ? next : pos + 2 + next;
  }
  bool bodiless = out->status == 204 || out->status == 304 || out->status < 200;
  return has_length || bodiless ? 1 : -1;
}

struct RunState {
  const LoadOptions* options;
  const RequestBuilder* builder;
  tcp::endpoint endpoint;
  ssl::context* tls = nullptr;  // set: every connection does a TLS handshake first
  int64_t start_ns = 0;
  int64_t measure_start_ns = 0;
  int64_t end_ns = 0;
  int64_t interval_ns = 0;  // per connection, when paced
  std::atomic<uint64_t> seq{0};
  std::atomic<int> connected{0};
};

class Conn {
 public:
  Conn(RunState& run, asio::io_context& ioc, int index)
      : run_(run), strand_(asio::make_strand(ioc)), socket_(strand_), timer_(strand_) {
    if (run_.interval_ns > 0) {
      next_due_ns_ = run_.start_ns + run_.interval_ns * index / run_.options->connections;
    }
    buf_.resize(64 * 1024);
    if (run_.options->framer) framer_ = run_.options->framer();
  }

  void Start() {
    asio::post(strand_, [this] { Connect(); });
  }

  // Ends the run for this connection, whatever it is doing (the safety net).
  void Abort() {
    asio::post(strand_, [this] {
      done_ = true;
      ErrorCode ignored;
      socket_.close(ignored);
      timer_.cancel();
    });
  }

  void AddTo(LoadResult* r) const {
    r->requests_ok += ok_;
    r->requests_failed += failed_;
    r->transport_errors += errors_;
    r->events_ok += events_ok_;
    r->payload_bytes_ok += payload_ok_;
    r->latency_ns.Merge(latency_);
    for (auto [status, n] : statuses_) r->status_counts[status] += n;
    if (r->first_failure.empty()) r->first_failure = first_failure_;
  }

  bool ever_connected() const { return ever_connected_; }

 private:
  void Connect() {
    if (done_ || NowNs() >= run_.end_ns) return;
    ErrorCode ignored;
    tls_.reset();
    socket_.close(ignored);
    begin_ = end_ = 0;
    if (framer_) framer_->Reset();
    socket_.async_connect(run_.endpoint, [this](const ErrorCode& ec) {
      if (ec) return Fail();
      ever_connected_ = true;
      ErrorCode e;
      socket_.set_option(tcp::no_delay(true), e);
      if (run_.tls == nullptr) return Next();
      tls_.emplace(socket_, *run_.tls);
      tls_->async_handshake(ssl::stream_base::client, [this](const ErrorCode& h) {
        if (h) return Fail();
        Next();
      });
    });
  }

  template <typename F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  void Fail() {
    if (done_) return;  // closed by Abort(): the end of the run, not an error
    ++errors_;
    timer_.expires_after(std::chrono::milliseconds(20));  // no hot spin on a dead server
    timer_.async_wait([this](const ErrorCode& ec) {
      if (!ec) Connect();
    });
  }

  void Next() {
    if (done_) return;
    int64_t now = NowNs();
    if (now >= run_.end_ns) {
      done_ = true;
      ErrorCode ignored;
      socket_.close(ignored);
      return;
    }
    if (run_.interval_ns == 0) return Send(now);
    int64_t due = next_due_ns_;
    next_due_ns_ += run_.interval_ns;
    if (due <= now) return Send(due);  // behind schedule: latency counts from `due`
    timer_.expires_after(std::chrono::nanoseconds(due - now));
    timer_.async_wait([this, due](const ErrorCode& ec) {
      if (!ec) Send(due);
    });
  }

  void Send(int64_t intended_ns) {
    sent_at_ns_ = intended_ns;
    request_.clear();
    built_ = (*run_.builder)(run_.seq.fetch_add(1, std::memory_order_relaxed), request_);
    WithStream([this](auto& stream) {
      asio::async_write(stream, asio::buffer(request_), [this](const ErrorCode& ec, size_t) {
        if (ec) return Fail();
        Parse();
      });
    });
  }

  void Parse() {
    if (framer_) return ParseFramed();
    std::string_view data(buf_.data() + begin_, end_ - begin_);
    ResponseHead head;
    int r = ParseResponseHead(data, &head);
    if (r < 0) {
      ++errors_;
      return Connect();
    }
    if (r == 1 && data.size() >= head.header_bytes + head.content_length) {
      begin_ += head.header_bytes + head.content_length;
      if (begin_ == end_) begin_ = end_ = 0;
      return OnResponse(head, data.substr(head.header_bytes, head.content_length));
    }
    ReadMore();
  }

  void ParseFramed() {
    size_t consumed = 0;
    ResponseHead head;
    std::string error;
    int r = framer_->Frame(std::string_view(buf_.data() + begin_, end_ - begin_), built_, &consumed,
                           &head.status, &error);
    begin_ += consumed;
    if (begin_ == end_) begin_ = end_ = 0;
    if (r < 0) {
      ++errors_;
      return Connect();
    }
    if (r == 1) return OnResponse(head, error);
    ReadMore();
  }

  void ReadMore() {
    if (begin_ > 0 && buf_.size() - end_ < 16 * 1024) {  // compact
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buf_.size() - end_ < 16 * 1024) buf_.resize(buf_.size() * 2);
    WithStream([this](auto& stream) {
      stream.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                             [this](const ErrorCode& ec, size_t n) {
                               if (ec) return Fail();
                               end_ += n;
                               Parse();
                             });
    });
  }

  void OnResponse(const ResponseHead& head, std::string_view body) {
    int64_t now = NowNs();
    ++statuses_[head.status];
    bool measured = sent_at_ns_ >= run_.measure_start_ns && now <= run_.end_ns;
    bool success = head.status >= 200 && head.status < 300;
    if (!success && first_failure_.empty()) {
      first_failure_ = std::to_string(head.status) + " " + std::string(body.substr(0, 300));
    }
    if (measured) {
      if (success) {
        ++ok_;
        events_ok_ += static_cast<uint64_t>(built_.events);
        payload_ok_ += built_.payload_bytes;
        latency_.Record(static_cast<uint64_t>(now - sent_at_ns_));
      } else {
        ++failed_;
      }
    }
    if (head.close) return Connect();
    Next();
  }

  RunState& run_;
  Strand strand_;
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_;  // over socket_, with LoadOptions::tls_ca_file
  asio::steady_timer timer_;
  std::string request_;
  BuiltRequest built_;
  std::vector<char> buf_;
  std::unique_ptr<ResponseFramer> framer_;
  size_t begin_ = 0, end_ = 0;
  int64_t sent_at_ns_ = 0;
  int64_t next_due_ns_ = 0;
  bool done_ = false;
  bool ever_connected_ = false;

  uint64_t ok_ = 0, failed_ = 0, errors_ = 0, events_ok_ = 0, payload_ok_ = 0;
  std::map<int, uint64_t> statuses_;
  std::string first_failure_;
  LatencyHistogram latency_;
};

Result<tcp::endpoint> Resolve(asio::io_context& ioc, const Endpoint& e) {
  ErrorCode ec;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument("cannot resolve " + e.host + ": " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace

Result<Endpoint> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("only http:// URLs are supported: " + std::string(url));
  }
  std::string_view rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('/'));
  Endpoint e;
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.back() == ']') {
    e.host = std::string(rest);
    e.port = 80;
  } else {
    e.host = std::string(rest.substr(0, colon));
    int port = std::atoi(std::string(rest.substr(colon + 1)).c_str());
    if (port <= 0 || port > 65535)
      return Status::InvalidArgument("bad port in " + std::string(url));
    e.port = static_cast<uint16_t>(port);
  }
  if (e.host.size() > 2 && e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
  if (e.host.empty()) return Status::InvalidArgument("no host in " + std::string(url));
  return e;
}

Result<LoadResult> LoadGenerator::Run() {
  asio::io_context ioc(options_.threads);
  ERAGON_ASSIGN_OR_RETURN(tcp::endpoint endpoint, Resolve(ioc, options_.endpoint));

  RunState run;
  run.options = &options_;
  run.builder = &builder_;
  run.endpoint = endpoint;
  ssl::context tls(ssl::context::tls_client);
  if (!options_.tls_ca_file.empty()) {
    ErrorCode ec;
    if (tls.load_verify_file(options_.tls_ca_file, ec)) {
      return Status::InvalidArgument("CA file " + options_.tls_ca_file + ": " + ec.message());
    }
    tls.set_verify_mode(ssl::verify_peer);
    run.tls = &tls;
  }
  run.start_ns = NowNs();
  run.measure_start_ns = run.start_ns + static_cast<int64_t>(options_.warmup_s * 1e9);
  run.end_ns = run.measure_start_ns + static_cast<int64_t>(options_.duration_s * 1e9);
  if (options_.request_rate > 0) {
    run.interval_ns = static_cast<int64_t>(options_.connections * 1e9 / options_.request_rate);
    if (run.interval_ns <= 0) run.interval_ns = 1;
  }

  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < options_.connections; ++i) {
    conns.push_back(std::make_unique<Conn>(run, ioc, i));
    conns.back()->Start();
  }
  // Answers after end_ns are not counted; shortly after it every connection is closed,
  // which also ends the run when the server has stopped answering.
  asio::steady_timer stop_timer(ioc);
  stop_timer.expires_at(
      std::chrono::steady_clock::time_point(std::chrono::nanoseconds(run.end_ns)) +
      std::chrono::milliseconds(100));
  stop_timer.async_wait([&conns](const ErrorCode&) {
    for (auto& c : conns) c->Abort();
  });
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();

  LoadResult result;
  result.measured_s = options_.duration_s;
  bool any = false;
  for (auto& c : conns) {
    c->AddTo(&result);
    any = any || c->ever_connected();
  }
  if (!any) {
    return Status::Unavailable("could not connect to " + options_.endpoint.host + ":" +
                               std::to_string(options_.endpoint.port));
  }
  return result;
}

struct HttpConnection::Impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  std::string where;
  std::string data;  // bytes read past the previous answer
};

HttpConnection::HttpConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpConnection::HttpConnection(HttpConnection&&) noexcept = default;
HttpConnection& HttpConnection::operator=(HttpConnection&&) noexcept = default;
HttpConnection::~HttpConnection() = default;

Result<HttpConnection> HttpConnection::Open(const Endpoint& endpoint, int timeout_ms) {
  auto impl = std::make_unique<Impl>();
  ERAGON_ASSIGN_OR_RETURN(tcp::endpoint ep, Resolve(impl->ioc, endpoint));
  impl->where = endpoint.host + ":" + std::to_string(endpoint.port);
  ErrorCode ec;
  impl->socket.connect(ep, ec);
  if (ec) return Status::Unavailable("connect " + impl->where + ": " + ec.message());
  impl->socket.set_option(tcp::no_delay(true), ec);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(impl->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return HttpConnection(std::move(impl));
}

Result<SimpleResponse> HttpConnection::RoundTrip(std::string_view request) {
  Impl& c = *impl_;
  ErrorCode ec;
  asio::write(c.socket, asio::buffer(request.data(), request.size()), ec);
  if (ec) return Status::Unavailable("write to " + c.where + ": " + ec.message());
  char tmp[64 * 1024];
  for (;;) {
    ResponseHead head;
    int r = ParseResponseHead(c.data, &head);
    if (r < 0) return Status::Unavailable("malformed response from " + c.where);
    if (r == 1 && c.data.size() >= head.header_bytes + head.content_length) {
      SimpleResponse out{head.status, c.data.substr(head.header_bytes, head.content_length)};
      c.data.erase(0, head.header_bytes + head.content_length);
      if (head.close) c.socket.close(ec);
      return out;
    }
    size_t n = c.socket.read_some(asio::buffer(tmp), ec);
    if (ec) return Status::Unavailable("read from " + c.where + ": " + ec.message());
    c.data.append(tmp, n);
  }
}

Result<SimpleResponse> SendOnce(const Endpoint& endpoint, const std::string& request,
                                int timeout_ms) {
  ERAGON_ASSIGN_OR_RETURN(HttpConnection conn, HttpConnection::Open(endpoint, timeout_ms));
  return conn.RoundTrip(request);
}

}  // namespace eragon::bench
