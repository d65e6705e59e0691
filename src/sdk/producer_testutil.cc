#include "producer_testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <set>
#include <thread>

#include "core/json.h"

#ifndef ERAGOND_PATH
#error "ERAGOND_PATH must name the eragond binary"
#endif

namespace eragon::sdk::producer_testing {
namespace {

std::vector<std::string> ServerArgs(int port) {
  if (port == 0) return {};
  return {"--listen", "127.0.0.1:" + std::to_string(port)};
}

}  // namespace

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TestServer::TestServer(int port) : process_(ERAGOND_PATH, ServerArgs(port)) {}

TestServer::TestServer(std::vector<std::string> extra_args, TlsClientFiles tls)
    : tls_(std::move(tls)), process_(ERAGOND_PATH, std::move(extra_args)) {}

Status TestServer::Start() { return process_.Start(); }

Result<std::string> TestServer::StartForOrders() {
  ERAGON_RETURN_IF_ERROR(Start());
  ERAGON_ASSIGN_OR_RETURN(std::string token, CreateProducerService("order-service"));
  ERAGON_RETURN_IF_ERROR(SetProducerRoute("order_created", "order-service", "orders"));
  return token;
}

Result<HttpReply> TestServer::Admin(std::string_view method, const std::string& path,
                                    std::string_view body) {
  HttpClientOptions options;
  options.tls = tls_;
  HttpClient client(process_.url(), options);
  return client.Request(method, path, body,
                        {{"Authorization", "Bearer " + process_.admin_token()}});
}

Result<std::string> TestServer::CreateProducerService(const std::string& name) {
  ERAGON_ASSIGN_OR_RETURN(HttpReply r,
                          Admin("PUT", "/v1/services/" + name, R"({"roles":["producer"]})"));
  if (r.status != 200 && r.status != 201) {
    return Status::Internal("PUT /v1/services/" + name + ": " + std::to_string(r.status) + " " +
                            r.body);
  }
  simdjson::dom::parser parser;
  auto doc = ParseJson(r.body, parser);
  std::string_view token;
  if (!doc.ok() || (*doc)["token"].get(token) != simdjson::SUCCESS) {
    return Status::Internal("no token in " + r.body);
  }
  return std::string(token);
}

Status TestServer::SetProducerRoute(const std::string& type, const std::string& producer,
                                    const std::string& topic) {
  ERAGON_ASSIGN_OR_RETURN(HttpReply r, Admin("PUT", "/v1/routes/" + type + "/producer",
                                             R"({"producer":")" + producer + R"(","topic":")" +
                                                 topic + R"(","ordered":true})"));
  if (r.status != 200 && r.status != 201) {
    return Status::Internal("PUT producer route " + type + ": " + std::to_string(r.status) + " " +
                            r.body);
  }
  return Status::Ok();
}

Result<std::vector<StoredEvent>> TestServer::ListEvents(const std::string& type) {
  std::vector<StoredEvent> newest_first;
  std::string after;
  simdjson::dom::parser parser;
  for (int page = 0; page < 100'000; ++page) {
    std::string path = "/v1/events?event_type=" + type + "&limit=1000";
    if (!after.empty()) path += "&after=" + after;
    ERAGON_ASSIGN_OR_RETURN(HttpReply r, Admin("GET", path));
    if (r.status != 200) {
      return Status::Internal("GET " + path + ": " + std::to_string(r.status) + " " + r.body);
    }
    ERAGON_ASSIGN_OR_RETURN(simdjson::dom::element doc, ParseJson(r.body, parser));
    simdjson::dom::array items;
    if (doc["items"].get(items) != simdjson::SUCCESS)
      return Status::Internal("no items: " + r.body);
    for (simdjson::dom::element item : items) {
      StoredEvent e;
      std::string_view s;
      if (item["id"].get(s) == simdjson::SUCCESS) e.id = s;
      if (item["event_type"].get(s) == simdjson::SUCCESS) e.event_type = s;
      if (item["entity_id"].get(s) == simdjson::SUCCESS) e.entity_id = s;
      int64_t seq = 0;
      if (item["data"]["seq"].get(seq) == simdjson::SUCCESS) e.seq = seq;
      newest_first.push_back(std::move(e));
    }
    std::string_view next;
    if (doc["next"].get(next) != simdjson::SUCCESS) break;  // null: the last page
    after = next;
  }
  return std::vector<StoredEvent>(newest_first.rbegin(), newest_first.rend());
}

Result<HttpReply> TestServer::GetEvent(const std::string& id) {
  return Admin("GET", "/v1/events/" + id);
}

std::string CheckExactlyOnceInOrder(const std::vector<StoredEvent>& stored,
                                    const std::vector<std::string>& want_ids, size_t max_unlisted) {
  std::string problems;
  auto note = [&](const std::string& p) {
    if (problems.size() < 4000) problems += p + "\n";
  };
  const std::set<std::string> want(want_ids.begin(), want_ids.end());
  std::set<std::string> seen;
  std::map<std::string, int64_t> last_seq;
  for (const StoredEvent& e : stored) {
    if (!seen.insert(e.id).second) note("stored twice: " + e.id);
    if (!want.count(e.id)) {
      if (max_unlisted == 0) {
        note("stored but not expected: " + e.id);
      } else {
        --max_unlisted;
      }
    }
    auto [it, fresh] = last_seq.emplace(e.entity_id, e.seq);
    if (!fresh) {
      if (e.seq <= it->second) {
        note("entity " + e.entity_id + ": seq " + std::to_string(e.seq) + " after " +
             std::to_string(it->second));
      }
      it->second = e.seq;
    }
  }
  size_t missing = 0;
  for (const std::string& id : want) {
    if (!seen.count(id)) {
      if (++missing <= 20) note("missing: " + id);
    }
  }
  if (missing > 0)
    note(std::to_string(missing) + " of " + std::to_string(want.size()) + " missing");
  return problems;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

Status ChildProcess::Start(const std::vector<std::string>& argv) {
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return Status::NotFound("not built: " + argv[0]);
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", "", errno);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno("fork", argv[0], errno);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    if (::getppid() != parent) _exit(126);
    ::dup2(out[1], 1);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(out[1]);
  pid_ = pid;
  out_fd_ = out[0];
  return Status::Ok();
}

const std::vector<std::string>& ChildProcess::ReadLines(size_t n,
                                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (lines_.size() < n && out_fd_ >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[65536];
    const ssize_t got = ::read(out_fd_, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ::close(out_fd_);
      out_fd_ = -1;
      break;
    }
    partial_.append(buf, static_cast<size_t>(got));
    size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      lines_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
  }
  return lines_;
}

void ChildProcess::Kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Wait();
  // Whatever complete lines the child wrote before it died are still in the pipe.
  ReadLines(SIZE_MAX, std::chrono::seconds(60));
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace eragon::sdk::producer_testing
