// eragon: the command line for an Eragon server (README.md in this folder).
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/commands.h"

namespace {

using eragon::cli::CliContext;

std::string EnvOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

// The token from `<data_dir>/admin.token`, trimmed; "" when unreadable.
std::string ReadTokenFile(const std::string& data_dir) {
  std::ifstream in(data_dir + "/admin.token");
  std::string token;
  if (in) std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
    token.pop_back();
  }
  return token;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"eragon: command line for the Eragon event platform"};
  app.fallthrough();  // global options may also follow the subcommand
  app.require_subcommand(1);
  CliContext ctx;
  ctx.url = EnvOr("ERAGON_URL", "http://127.0.0.1:7070");
  ctx.data_dir = "./eragon-data";
  app.add_option("--url", ctx.url, "Server URL (env ERAGON_URL)")->capture_default_str();
  ctx.tls.ca_file = EnvOr("ERAGON_CA_FILE", "");
  ctx.tls.cert_file = EnvOr("ERAGON_CLIENT_CERT", "");
  ctx.tls.key_file = EnvOr("ERAGON_CLIENT_KEY", "");
  app.add_option("--ca-file", ctx.tls.ca_file,
                 "https: PEM CAs trusted besides the system's (env ERAGON_CA_FILE)");
  app.add_option("--client-cert", ctx.tls.cert_file,
                 "https: PEM client certificate, for a server with --tls-client-ca "
                 "(env ERAGON_CLIENT_CERT)");
  app.add_option("--client-key", ctx.tls.key_file,
                 "https: PEM key of --client-cert (env ERAGON_CLIENT_KEY)");
  auto* token = app.add_option("--token", ctx.token,
                               "Bearer token (env ERAGON_TOKEN, else <data-dir>/admin.token)");
  app.add_option("--data-dir", ctx.data_dir, "Server data dir, for its admin.token")
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "Print the server's JSON answer as is");

  int exit_code = eragon::cli::kExitOk;
  eragon::cli::AddRoutesCommands(app, ctx, &exit_code);
  eragon::cli::AddPublishCommand(app, ctx, &exit_code);
  eragon::cli::AddEventsCommands(app, ctx, &exit_code);
  eragon::cli::AddServicesCommands(app, ctx, &exit_code);
  eragon::cli::AddDeliveryCommands(app, ctx, &exit_code);
  eragon::cli::AddTailCommand(app, ctx, &exit_code);
  eragon::cli::AddSchedulesCommands(app, ctx, &exit_code);
  eragon::cli::AddSagasCommands(app, ctx, &exit_code);

  // The token must be known before a subcommand's callback runs.
  app.parse_complete_callback([&] {
    if (token->count() == 0) ctx.token = EnvOr("ERAGON_TOKEN", "");
    if (ctx.token.empty()) ctx.token = ReadTokenFile(ctx.data_dir);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : eragon::cli::kExitUsage;
  }
  return exit_code;
}
