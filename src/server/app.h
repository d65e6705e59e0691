// App: one running eragond — the data dir lock, config store, log, id index, HTTP
// server and maintenance thread, wired together, started and stopped in order.
#pragma once

#include <memory>
#include <string>

#include "eragon/status.h"
#include "server/server_options.h"

namespace eragon::server {

class App {
 public:
  // Locks the data dir, opens (recovering) the stores, writes admin.token when missing,
  // and starts listening. Fails with a message for a person (locked or unreadable data
  // dir, corrupt log, address in use).
  static Result<std::unique_ptr<App>> Start(const ServerOptions& options);
  ~App();

  // "http://HOST:PORT" actually bound (the port is real when 0 was asked for);
  // "https://..." with TLS.
  std::string url() const;

  // SIGHUP: re-reads --tls-cert, --tls-key and --tls-client-ca. New connections use them;
  // on an error (unreadable file, key not matching) the old ones stay and the error says
  // why. InvalidArgument without TLS. Any thread.
  Status ReloadTls();

  // Graceful stop: stop accepting, let in-flight requests finish (up to the grace
  // period), then close the log (everything written is synced) and the stores.
  Status Stop();

  struct Parts;

 private:
  explicit App(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> p_;
};

}  // namespace eragon::server
