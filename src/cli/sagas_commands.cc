// eragon sagas set | list | rm | instances | show
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/json.h"

namespace eragon::cli {
namespace {

std::string SagaPath(const std::string& name) { return "/v1/sagas/" + UrlEncode(name); }

int Set(const CliContext& ctx, const std::string& name, const std::string& file) {
  std::string body;
  if (!ReadInput(file, &body)) return kExitUsage;
  return CallAndShow(ctx, "PUT", SagaPath(name), body,
                     [&](simdjson::dom::element doc, const HttpReply& reply) {
                       std::cout << (reply.status == 201 ? "created" : "replaced") << " saga "
                                 << name << " (version " << Field(doc, "version") << ")\n";
                       return kExitOk;
                     });
}

int List(const CliContext& ctx) {
  return CallAndShow(
      ctx, "GET", "/v1/sagas", "", [&](simdjson::dom::element doc, const HttpReply&) {
        Table table({"NAME", "TRIGGER", "STEPS", "COMPLETED", "FAILED", "VERSION"});
        simdjson::dom::array items;
        if (!doc["items"].get(items)) {
          for (auto s : items) {
            std::string steps;
            simdjson::dom::array list;
            if (!s["steps"].get(list)) {
              for (auto step : list) {
                steps += (steps.empty() ? "" : ",") + Field(step, "name");
              }
            }
            table.AddRow({Field(s, "name"), Field(s, "trigger"), steps, Field(s, "completed"),
                          Field(s, "failed"), Field(s, "version")});
          }
        }
        table.Print(std::cout);
        return kExitOk;
      });
}

int Instances(const CliContext& ctx, const std::string& name, const std::string& state) {
  std::string path = SagaPath(name) + "/instances?limit=1000";
  if (!state.empty()) path += "&state=" + UrlEncode(state);
  return CallAndShow(ctx, "GET", path, "", [&](simdjson::dom::element doc, const HttpReply&) {
    Table table({"ID", "STATE", "STEP", "VERSION", "STARTED_AT", "UPDATED_AT"});
    simdjson::dom::array items;
    if (!doc["items"].get(items)) {
      for (auto i : items) {
        table.AddRow({Field(i, "id"), Field(i, "state"), Field(i, "step"), Field(i, "version"),
                      Field(i, "started_at"), Field(i, "updated_at")});
      }
    }
    table.Print(std::cout);
    return kExitOk;
  });
}

int Show(const CliContext& ctx, const std::string& name, const std::string& id) {
  return CallAndShow(ctx, "GET", SagaPath(name) + "/instances/" + UrlEncode(id), "",
                     [&](simdjson::dom::element doc, const HttpReply&) {
                       std::cout << "instance " << Field(doc, "id") << " of saga " << name << ": "
                                 << Field(doc, "state") << " at step " << Field(doc, "step")
                                 << "\n";
                       Table table({"AT", "STEP", "EVENT_TYPE", "EVENT_ID", "NOTE"});
                       simdjson::dom::array history;
                       if (!doc["history"].get(history)) {
                         for (auto h : history) {
                           table.AddRow({Field(h, "at"), Field(h, "step"), Field(h, "event_type"),
                                         Field(h, "event_id"), Field(h, "note")});
                         }
                       }
                       table.Print(std::cout);
                       return kExitOk;
                     });
}

struct Args {
  std::string name, file, state, id;
};

}  // namespace

void AddSagasCommands(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto* sagas = app.add_subcommand("sagas", "Manage sagas (orchestrated steps with compensation)");
  sagas->require_subcommand(1);
  auto a = std::make_shared<Args>();

  auto* set = sagas->add_subcommand("set", "Create or replace a saga from a JSON definition");
  set->add_option("name", a->name, "Saga name")->required();
  set->add_option("--file,-f", a->file, "The definition (API.md \"Sagas\"); - for stdin")
      ->required();
  set->callback([=, &ctx] { *exit_code = Set(ctx, a->name, a->file); });

  sagas->add_subcommand("list", "Show all sagas")->callback([&ctx, exit_code] {
    *exit_code = List(ctx);
  });

  auto* rm = sagas->add_subcommand("rm", "Delete a saga (running instances finish)");
  rm->add_option("name", a->name, "Saga name")->required();
  rm->callback([=, &ctx] {
    HttpReply reply;
    *exit_code = CallApi(ctx, "DELETE", SagaPath(a->name), "", &reply);
    if (*exit_code == kExitOk && !ctx.json) std::cout << "removed saga " << a->name << "\n";
  });

  auto* instances = sagas->add_subcommand("instances", "List a saga's instances");
  instances->add_option("name", a->name, "Saga name")->required();
  instances->add_option("--state", a->state, "running, completed or failed");
  instances->callback([=, &ctx] { *exit_code = Instances(ctx, a->name, a->state); });

  auto* show = sagas->add_subcommand("show", "Show one instance with its history");
  show->add_option("name", a->name, "Saga name")->required();
  show->add_option("id", a->id, "Instance id (the trigger's entity id)")->required();
  show->callback([=, &ctx] { *exit_code = Show(ctx, a->name, a->id); });
}

}  // namespace eragon::cli
