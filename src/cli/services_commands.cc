// eragon services create | revoke
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/json.h"

namespace eragon::cli {
namespace {

struct CreateArgs {
  std::string name;
  std::vector<std::string> roles;
};

int Create(const CliContext& ctx, const CreateArgs& a) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("roles").BeginArray();
  for (const auto& role : a.roles) w.String(role);
  w.EndArray().EndObject();
  return CallAndShow(ctx, "PUT", "/v1/services/" + UrlEncode(a.name), body,
                     [&](simdjson::dom::element doc, const HttpReply& reply) {
                       std::string_view token;
                       if (doc["token"].get(token)) {
                         PrintError("the server's answer has no token: " + reply.body);
                         return kExitApiError;
                       }
                       // The token alone on stdout, so scripts can capture it; the note goes to
                       // stderr.
                       std::cerr << (reply.status == 201 ? "created" : "rotated") << " service "
                                 << a.name << "; its token is shown once:\n";
                       std::cout << token << "\n";
                       return kExitOk;
                     });
}

}  // namespace

void AddServicesCommands(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto* services = app.add_subcommand("services", "Manage services and their tokens");
  services->require_subcommand(1);

  auto a = std::make_shared<CreateArgs>();
  auto* create = services->add_subcommand(
      "create", "Create a service, or rotate its token; prints the new token");
  create->add_option("name", a->name, "Service name")->required();
  create->add_option("--role", a->roles, "producer, consumer or admin (repeatable)")
      ->required()
      ->check(CLI::IsMember({"producer", "consumer", "admin"}));
  create->callback([=, &ctx] { *exit_code = Create(ctx, *a); });

  auto name = std::make_shared<std::string>();
  auto* revoke = services->add_subcommand("revoke", "Delete a service and its token");
  revoke->add_option("name", *name, "Service name")->required();
  revoke->callback([=, &ctx] {
    HttpReply reply;
    *exit_code = CallApi(ctx, "DELETE", "/v1/services/" + UrlEncode(*name), "", &reply);
    if (*exit_code == kExitOk && !ctx.json) std::cout << "revoked " << *name << "\n";
  });
}

}  // namespace eragon::cli
