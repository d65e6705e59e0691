#include "testing/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

extern char** environ;

namespace eragon::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Waits for `pid` until `deadline`; returns the waitpid status, or nullopt on timeout.
std::optional<int> WaitUntil(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return status;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// "http://127.0.0.1:43567" or "https://..." out of eragond's start line; "" when absent.
std::string UrlOfStartLine(const std::string& line) {
  size_t at = line.find("http://");
  if (at == std::string::npos) at = line.find("https://");
  if (at == std::string::npos) return "";
  size_t end = line.find_first_of(" \t\r", at);
  return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string TempRoot() {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/eragon-it-XXXXXX";
  if (!mkdtemp(tmpl.data())) return "";
  return tmpl;
}

}  // namespace

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

ServerProcess::ServerProcess(std::string binary, std::vector<std::string> extra_args)
    : binary_(std::move(binary)), extra_args_(std::move(extra_args)) {}

ServerProcess::~ServerProcess() {
  Kill();
  if (!temp_root_.empty() && !std::getenv("ERAGON_TEST_KEEP_DATA")) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_root_, ignored);
  }
}

std::string ServerProcess::Logs() const {
  return "--- eragond stderr (" + stderr_path_ + ") ---\n" + ReadFileOrEmpty(stderr_path_) +
         "--- eragond stdout after the start line ---\n" + ReadFileOrEmpty(stdout_path_);
}

Status ServerProcess::Start() {
  if (running()) return Status::Internal("eragond already running");
  if (access(binary_.c_str(), X_OK) != 0) {
    return Status::NotFound("eragond is not built: no executable at " + binary_ +
                            " (build the target eragond in this build dir first)");
  }
  if (data_dir_.empty()) {
    std::string root = TempRoot();
    if (root.empty()) return Status::FromErrno("mkdtemp", "/tmp", errno);
    temp_root_ = root;
    data_dir_ = own_data_dir_.empty() ? root + "/data" : own_data_dir_;
    stderr_path_ = root + "/eragond.stderr";
    stdout_path_ = root + "/eragond.stdout";
  }
  std::vector<std::string> args = {binary_, "--data-dir", data_dir_, "--fsync", "always"};
  // A test that needs the same address across restarts passes its own --listen.
  if (std::find(extra_args_.begin(), extra_args_.end(), "--listen") == extra_args_.end()) {
    args.insert(args.end(), {"--listen", "127.0.0.1:0"});
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  auto argv = CStrings(args);
  int err_fd = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_fd < 0) return Status::FromErrno("open", stderr_path_, errno);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::FromErrno("pipe2", "", errno);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno("fork", binary_, errno);
  if (pid == 0) {
    // The server must not outlive a crashed test run.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    dup2(out[1], 1);
    dup2(err_fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err_fd);
  pid_ = pid;
  stdout_fd_ = out[0];

  // The start line: "eragond: listening on http://127.0.0.1:43567 data-dir ... fsync ...".
  std::string line;
  const auto deadline = Clock::now() + kStartTimeout;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      Kill();
      return Status::Unavailable("eragond printed no start line within " +
                                 std::to_string(kStartTimeout.count()) + " s; got '" + line +
                                 "'\n" + Logs());
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[512];
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto status = WaitUntil(pid_, Clock::now() + std::chrono::seconds(10));
      pid_ = -1;
      close(stdout_fd_);
      stdout_fd_ = -1;
      return Status::Unavailable("eragond exited (code " +
                                 std::to_string(status ? ExitCodeOf(*status) : -1) +
                                 ") before printing its start line; got '" + line + "'\n" + Logs());
    }
    line.append(buf, static_cast<size_t>(n));
  }
  start_line_ = line.substr(0, line.find('\n'));
  url_ = UrlOfStartLine(start_line_);
  if (url_.empty()) {
    Kill();
    return Status::Internal("no http[s]://HOST:PORT in eragond's start line '" + start_line_ + "'");
  }
  StartDrainer(line.substr(line.find('\n') + 1));
  return expect_admin_token_ ? WaitForAdminToken() : Status::Ok();
}

// Copies eragond's stdout after the start line (`rest` is what came with it) to
// stdout_path_ until the pipe closes.
void ServerProcess::StartDrainer(std::string rest) {
  drainer_ = std::thread([fd = stdout_fd_, path = stdout_path_, rest = std::move(rest)] {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << rest;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.write(buf, n);
      out.flush();
    }
  });
}

// admin.token is written on first start; allow the file a moment to appear.
Status ServerProcess::WaitForAdminToken() {
  const auto token_deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::string token = ReadFileOrEmpty(data_dir_ + "/admin.token");
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
      token.pop_back();
    }
    if (!token.empty()) {
      admin_token_ = token;
      return Status::Ok();
    }
    if (Clock::now() >= token_deadline) {
      return Status::NotFound("eragond is up but wrote no " + data_dir_ + "/admin.token");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ServerProcess::ReapDrainer() {
  if (drainer_.joinable()) drainer_.join();
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
}

Result<int> ServerProcess::Stop() {
  if (!running()) return Status::Internal("eragond is not running");
  kill(pid_, SIGTERM);
  auto status = WaitUntil(pid_, Clock::now() + kStopTimeout);
  if (!status) {
    Kill();
    return Status::Unavailable("eragond did not exit within " +
                               std::to_string(kStopTimeout.count()) + " s of SIGTERM");
  }
  pid_ = -1;
  ReapDrainer();
  return ExitCodeOf(*status);
}

void ServerProcess::Kill() {
  if (running()) {
    kill(pid_, SIGKILL);
    WaitUntil(pid_, Clock::now() + std::chrono::seconds(30));
    pid_ = -1;
  }
  ReapDrainer();
}

Status ServerProcess::Restart(bool kill) {
  if (kill) {
    Kill();
  } else if (running()) {
    auto code = Stop();
    if (!code.ok()) return code.status();
    if (*code != 0) {
      return Status::Internal("eragond exited with " + std::to_string(*code) +
                              " on SIGTERM, want 0\n" + Logs());
    }
  }
  return Start();
}

ProcessResult RunProcess(const std::vector<std::string>& argv_in, const std::string& stdin_data,
                         const std::vector<std::string>& env, std::chrono::seconds timeout) {
  ProcessResult result;
  std::vector<std::string> args = argv_in;
  std::vector<std::string> envs;
  // `env` entries replace inherited ones of the same name (getenv finds the first).
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& x : env) {
      if (entry.substr(0, entry.find('=') + 1) == std::string_view(x).substr(0, x.find('=') + 1)) {
        replaced = true;
      }
    }
    if (!replaced) envs.emplace_back(entry);
  }
  envs.insert(envs.end(), env.begin(), env.end());
  auto argv = CStrings(args);
  auto envp = CStrings(envs);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    result.err = "pipe2 failed";
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  size_t written = 0;
  int in_fd = in[1];
  if (stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int open_outputs = 2;
  const auto deadline = Clock::now() + timeout;
  while (open_outputs > 0 && Clock::now() < deadline) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
    if (poll(fds, 3, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        (i == 0 ? out[0] : err[0]) = -1;
        --open_outputs;
      }
    }
    if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = write(in_fd, stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == stdin_data.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out[0] >= 0) close(out[0]);
  if (err[0] >= 0) close(err[0]);
  auto status = WaitUntil(pid, deadline);
  if (!status) {
    kill(pid, SIGKILL);
    WaitUntil(pid, Clock::now() + std::chrono::seconds(10));
    result.err += "\n[timed out]";
    return result;
  }
  result.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return result;
}

}  // namespace eragon::testing
