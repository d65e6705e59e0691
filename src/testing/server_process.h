// ServerProcess: runs the real `eragond` as a child process for black-box tests.
// Starts it on 127.0.0.1:0 with a fresh temp data dir, learns the address from its
// start line on stdout, and stops it with SIGTERM (clean exit required) or SIGKILL.
// The destructor always kills a still-running server and removes the data dir.
//
// Thread safety: none; drive it from the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "eragon/status.h"

namespace eragon::testing {

// Start-up and shutdown limits, generous enough for ASan/TSan builds of eragond.
inline constexpr std::chrono::seconds kStartTimeout{60};
inline constexpr std::chrono::seconds kStopTimeout{60};

class ServerProcess {
 public:
  // `binary` is eragond's path; `extra_args` go after the standard flags. When they hold
  // "--listen", that address replaces 127.0.0.1:0 (and survives restarts).
  explicit ServerProcess(std::string binary, std::vector<std::string> extra_args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Creates the temp data dir (first call only) and starts eragond on it. Fails when the
  // binary is missing, the process exits, or no address line arrives in kStartTimeout.
  Status Start();
  // SIGTERM, then waits; returns the exit status as waitpid reports it (or an error on
  // timeout, after which the process is killed). REQUIRES: running().
  Result<int> Stop();
  // SIGKILL and wait. No-op when not running.
  void Kill();
  // Stop() or Kill(), then Start() on the same data dir (on a new port, unless --listen).
  Status Restart(bool kill = false);

  // Runs eragond on `dir` (e.g. a small filesystem the test mounted) instead of a fresh
  // <temp>/data; its logs stay in the temp dir. The destructor leaves `dir` alone.
  // REQUIRES: before the first Start().
  void UseDataDir(std::string dir) { own_data_dir_ = std::move(dir); }

  // A cluster node started without the shared admin token writes no admin.token: Start()
  // then does not wait for one (admin_token() stays "").
  void ExpectNoAdminToken() { expect_admin_token_ = false; }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& url() const { return url_; }  // http[s]://127.0.0.1:PORT
  const std::string& data_dir() const { return data_dir_; }
  const std::string& binary() const { return binary_; }
  // The admin token read from <data-dir>/admin.token after start.
  const std::string& admin_token() const { return admin_token_; }
  // Everything eragond wrote to stderr (all runs), and its stdout after the first line.
  std::string Logs() const;
  // The start line of the last run.
  const std::string& start_line() const { return start_line_; }

 private:
  void ReapDrainer();
  void StartDrainer(std::string rest);
  Status WaitForAdminToken();

  std::string binary_;
  std::vector<std::string> extra_args_;
  std::string data_dir_;
  std::string own_data_dir_;  // UseDataDir's, or ""
  std::string temp_root_;     // logs (and the data dir unless UseDataDir)
  std::string stderr_path_;
  std::string stdout_path_;
  std::string url_;
  std::string admin_token_;
  std::string start_line_;
  bool expect_admin_token_ = true;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::thread drainer_;  // copies stdout after the first line to stdout_path_
};

// Runs `argv` to completion with `stdin_data` on its stdin and `env` added to the
// environment; returns exit code, stdout and stderr. Used for the CLI and for
// "second server on a locked dir" checks.
struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         const std::vector<std::string>& env = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

// Reads a whole file; "" when it cannot.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace eragon::testing
