// eragond: the Eragon server. Flags: see server_options.h or `eragond --help`.
#include <signal.h>

#include <cstdio>

#include "server/app.h"
#include "server/server_options.h"

namespace {

// SIGHUP: the listener stays; new connections get the re-read certificate.
void ReloadTls(eragon::server::App& app) {
  eragon::Status st = app.ReloadTls();
  if (st.ok()) {
    fprintf(stderr, "eragond: SIGHUP: TLS certificate reloaded\n");
  } else {
    fprintf(stderr, "eragond: SIGHUP: keeping the current TLS certificate: %s\n",
            st.message().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace eragon;
  Result<server::ServerOptions> options = server::ParseServerOptions(argc, argv);
  if (!options.ok()) {
    if (options.status().IsNotFound()) return 0;  // --help
    fprintf(stderr, "eragond: %s\n", options.status().message().c_str());
    return 2;
  }
  // Every thread started from here on inherits the blocked set; only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Result<std::unique_ptr<server::App>> app = server::App::Start(*options);
  if (!app.ok()) {
    fprintf(stderr, "eragond: cannot start: %s\n", app.status().message().c_str());
    return 1;
  }
  printf("eragond: listening on %s data-dir %s fsync %s\n", (*app)->url().c_str(),
         options->data_dir.c_str(), channel::FsyncOptionsToString(options->fsync).c_str());
  fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) ReloadTls(**app);
  fprintf(stderr, "eragond: %s received, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  Status st = (*app)->Stop();
  if (!st.ok()) {
    fprintf(stderr, "eragond: shutdown: %s\n", st.ToString().c_str());
    return 1;
  }
  fprintf(stderr, "eragond: stopped cleanly\n");
  return 0;
}
