// eragon schedules set | list | rm
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/json.h"

namespace eragon::cli {
namespace {

std::string SchedulePath(const std::string& name) { return "/v1/schedules/" + UrlEncode(name); }

struct SetArgs {
  std::string name, event_type, entity_id, data, every, cron;
};

int Set(const CliContext& ctx, const SetArgs& a) {
  // `data` goes into the body as the JSON text given; the server validates it and answers
  // invalid_json when it is not JSON. Checked here too, for a clearer local error.
  if (Status st = ValidateJson(a.data); !st.ok()) {
    PrintError("--data is not JSON: " + st.message());
    return kExitUsage;
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("event_type").String(a.event_type).Key("entity_id").String(a.entity_id);
  w.Key("data").Raw(TrimJsonWhitespace(a.data));
  if (!a.every.empty()) w.Key("every").String(a.every);
  if (!a.cron.empty()) w.Key("cron").String(a.cron);
  w.EndObject();
  return CallAndShow(ctx, "PUT", SchedulePath(a.name), body,
                     [&](simdjson::dom::element doc, const HttpReply& reply) {
                       std::cout << (reply.status == 201 ? "created" : "replaced") << " schedule "
                                 << a.name << "\n";
                       PrintObject(std::cout, doc, "  ");
                       return kExitOk;
                     });
}

int List(const CliContext& ctx) {
  return CallAndShow(
      ctx, "GET", "/v1/schedules", "", [&](simdjson::dom::element doc, const HttpReply&) {
        Table table({"NAME", "EVENT_TYPE", "ENTITY_ID", "WHEN", "LAST_TICK_MS", "NEXT_TICK_MS"});
        simdjson::dom::array items;
        if (!doc["items"].get(items)) {
          for (auto s : items) {
            std::string when = Field(s, "every");
            when = when == "-" ? "cron " + Field(s, "cron") : "every " + when;
            table.AddRow({Field(s, "name"), Field(s, "event_type"), Field(s, "entity_id"), when,
                          Field(s, "last_tick_ms"), Field(s, "next_tick_ms")});
          }
        }
        table.Print(std::cout);
        return kExitOk;
      });
}

}  // namespace

void AddSchedulesCommands(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto* schedules = app.add_subcommand("schedules", "Manage schedules (events published on time)");
  schedules->require_subcommand(1);

  auto a = std::make_shared<SetArgs>();
  auto* set = schedules->add_subcommand("set", "Create or replace a schedule");
  set->add_option("name", a->name, "Schedule name")->required();
  set->add_option("--event-type", a->event_type, "Event type to publish")->required();
  set->add_option("--entity-id", a->entity_id, "Entity id of the events")->required();
  set->add_option("--data", a->data, "The events' data, as JSON")->required();
  auto* every = set->add_option("--every", a->every, "Period, e.g. 30s, 5m, 1h30m, 1d");
  auto* cron = set->add_option("--cron", a->cron, "Five-field cron in UTC, e.g. \"*/5 * * * *\"");
  every->excludes(cron);
  set->callback([=, &ctx] {
    if (every->count() + cron->count() != 1) {
      PrintError("schedules set: give exactly one of --every and --cron");
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = Set(ctx, *a);
  });

  schedules->add_subcommand("list", "Show all schedules")->callback([&ctx, exit_code] {
    *exit_code = List(ctx);
  });

  auto name = std::make_shared<std::string>();
  auto* rm = schedules->add_subcommand("rm", "Delete a schedule");
  rm->add_option("name", *name, "Schedule name")->required();
  rm->callback([=, &ctx] {
    HttpReply reply;
    *exit_code = CallApi(ctx, "DELETE", SchedulePath(*name), "", &reply);
    if (*exit_code == kExitOk && !ctx.json) std::cout << "removed schedule " << *name << "\n";
  });
}

}  // namespace eragon::cli
