#include "bench/bench_deliver_env.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "http/http_server.h"
#include "http/router.h"

namespace eragon::bench {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ReadTokenFile(const std::string& data_dir) {
  std::ifstream in(data_dir + "/admin.token");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return token;
}

// ---- EragondProcess ----

Result<std::unique_ptr<EragondProcess>> EragondProcess::Spawn(
    const std::string& binary, const std::string& fsync, const std::vector<std::string>& extra_args,
    bool keep_data) {
  if (::access(binary.c_str(), X_OK) != 0) {
    return Status::NotFound("no eragond at " + binary + " (build it, or pass --eragond/--url)");
  }
  std::unique_ptr<EragondProcess> p(new EragondProcess());
  p->keep_data_ = keep_data;
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/eragon-bench-deliver-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return Status::IOError("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  p->temp_dir_ = templ;
  p->data_dir_ = templ + "/data";
  p->log_path_ = templ + "/eragond.log";

  std::vector<std::string> args = {binary,        "--data-dir", p->data_dir_, "--listen",
                                   "127.0.0.1:0", "--fsync",    fsync};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Status::IOError("pipe: " + std::string(strerror(errno)));
  int log_fd = ::open(p->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::IOError("open " + p->log_path_ + ": " + strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) return Status::IOError("fork: " + std::string(strerror(errno)));
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(log_fd);
  p->pid_ = pid;
  p->stdout_fd_ = out[0];

  // The start line, within 30 s.
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{p->stdout_fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      return Status::Unavailable("eragond printed no start line within 30 s; see " + p->log_path_);
    }
    char buf[512];
    ssize_t n = ::read(p->stdout_fd_, buf, sizeof(buf));
    if (n <= 0) return Status::Unavailable("eragond exited at start; see " + p->log_path_);
    line.append(buf, static_cast<size_t>(n));
  }
  constexpr std::string_view kPrefix = "eragond: listening on ";
  size_t at = line.find(kPrefix);
  if (at == std::string::npos) return Status::Unavailable("unexpected start line: " + line);
  size_t begin = at + kPrefix.size();
  p->url_ = line.substr(begin, line.find_first_of(" \n", begin) - begin);
  p->token_ = ReadTokenFile(p->data_dir_);
  if (p->token_.empty()) return Status::Unavailable("no " + p->data_dir_ + "/admin.token");
  return p;
}

Status EragondProcess::Stop() {
  if (pid_ <= 0) return Status::Ok();
  ::kill(pid_, SIGTERM);
  int wstatus = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  pid_t r = 0;
  while ((r = ::waitpid(pid_, &wstatus, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Status st = Status::Ok();
  if (r == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &wstatus, 0);
    st = Status::Unavailable("eragond did not stop within 20 s of SIGTERM; killed");
  } else if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    st = Status::Unavailable("eragond exited with status " + std::to_string(wstatus) + "; see " +
                             log_path_);
  }
  pid_ = -1;
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
  return st;
}

EragondProcess::~EragondProcess() {
  Status st = Stop();
  if (!st.ok()) std::fprintf(stderr, "eragon-bench deliver: %s\n", st.message().c_str());
  if (!keep_data_ && !temp_dir_.empty() && st.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

// ---- ApiClient ----

std::string ApiClient::Request(std::string_view method, std::string_view path,
                               std::string_view body) const {
  std::string r;
  r.reserve(256 + body.size());
  r.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(endpoint_.host);
  r.append(":").append(std::to_string(endpoint_.port));
  r.append("\r\nContent-Type: application/json\r\nAuthorization: Bearer ").append(token_);
  r.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  r.append(body);
  return r;
}

Result<SimpleResponse> ApiClient::Call(std::string_view method, std::string_view path,
                                       std::string_view body) {
  if (!conn_) {
    // Long enough for a fetch's long poll (wait_ms ≤ 5 s in this benchmark).
    ERAGON_ASSIGN_OR_RETURN(HttpConnection c, HttpConnection::Open(endpoint_, 30'000));
    conn_ = std::make_unique<HttpConnection>(std::move(c));
  }
  Result<SimpleResponse> r = conn_->RoundTrip(Request(method, path, body));
  if (!r.ok()) {
    conn_.reset();
    return r.status();
  }
  if (r->status < 200 || r->status > 299) {
    return Status::Unavailable(std::string(method) + " " + std::string(path) + " answered " +
                               std::to_string(r->status) + ": " + r->body.substr(0, 300));
  }
  return r;
}

// ---- PushSink ----

int64_t FindJsonNumber(std::string_view body, std::string_view quoted_key_colon) {
  size_t at = body.find(quoted_key_colon);
  if (at == std::string_view::npos) return -1;
  const char* begin = body.data() + at + quoted_key_colon.size();
  int64_t v = -1;
  auto [ptr, ec] = std::from_chars(begin, body.data() + body.size(), v);
  return ec == std::errc() ? v : -1;
}

void PushSink::Reset(int64_t latency_from_ns, int64_t latency_to_ns) {
  std::lock_guard lock(mu_);
  seen_.clear();
  latency_ = LatencyHistogram();
  in_window_ = 0;
  from_ns_ = latency_from_ns;
  to_ns_ = latency_to_ns;
  distinct_ = 0;
  deliveries_ = 0;
  malformed_ = 0;
  first_ns_ = 0;
  last_new_ns_ = 0;
}

bool PushSink::Record(std::string_view body, int64_t now_ns) {
  int64_t sent = FindJsonNumber(body, R"("sent_ns":)");
  int64_t seq = FindJsonNumber(body, R"("seq":)");
  if (sent < 0 || seq < 0) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::lock_guard lock(mu_);
  deliveries_.fetch_add(1, std::memory_order_relaxed);
  auto s = static_cast<size_t>(seq);
  if (s >= seen_.size()) seen_.resize(std::max(s + 1, seen_.size() * 2));
  if (seen_[s]) return true;
  seen_[s] = true;
  if (first_ns_.load(std::memory_order_relaxed) == 0) first_ns_ = now_ns;
  last_new_ns_ = now_ns;
  distinct_.fetch_add(1, std::memory_order_relaxed);
  if (sent >= from_ns_ && sent < to_ns_) {
    ++in_window_;
    latency_.Record(static_cast<uint64_t>(std::max<int64_t>(0, now_ns - sent)));
  }
  return true;
}

LatencyHistogram PushSink::latency() const {
  std::lock_guard lock(mu_);
  return latency_;
}

uint64_t PushSink::in_window() const {
  std::lock_guard lock(mu_);
  return in_window_;
}

// ---- SinkServer ----

SinkServer::SinkServer(int sinks, int io_threads) : router_(std::make_unique<http::Router>()) {
  for (int i = 0; i < sinks; ++i) sinks_.push_back(std::make_unique<PushSink>());
  router_->Post("/sink/{n}", [this](http::HttpRequest&& req, http::Responder respond) {
    int64_t now = SteadyNowNs();
    size_t n = 0;
    std::string_view p = req.Param("n");
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (ec != std::errc() || n >= sinks_.size()) {
      return respond(http::HttpResponse::Json(404, R"({"error":"no such sink"})"));
    }
    sinks_[n]->Record(req.body, now);
    respond(http::HttpResponse::Empty(200));
  });
  http::HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = io_threads;
  server_ = std::make_unique<http::HttpServer>(options, router_.get());
}

SinkServer::~SinkServer() { server_->Stop(std::chrono::seconds(1)); }

Status SinkServer::Start() { return server_->Start(); }

std::string SinkServer::url(int i) const {
  return "http://127.0.0.1:" + std::to_string(server_->port()) + "/sink/" + std::to_string(i);
}

std::string EragondNextToBench() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "build/bin/eragond";
  return (self.parent_path() / "eragond").string();
}

double LoadAverage1m() {
  std::ifstream in("/proc/loadavg");
  double v = -1;
  in >> v;
  return in ? v : -1;
}

}  // namespace eragon::bench
