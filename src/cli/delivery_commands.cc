// eragon dead list | dead redrive, eragon replay, eragon seek: the admin operations on
// one consumer route (API.md "Dead letters, replay and seek").
#include <iostream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/json.h"
#include "core/time_format.h"

namespace eragon::cli {
namespace {

// The consumer route's path, plus `op` ("dead", "redrive", ...).
std::string RoutePath(const std::string& type, const std::string& consumer, std::string_view op) {
  return "/v1/routes/" + UrlEncode(type) + "/consumers/" + UrlEncode(consumer) + "/" +
         std::string(op);
}

// "2026-11-26T08:00:00.000Z" for a time in ms; "-" for 0 (never) or a negative time.
std::string TimeText(int64_t ms) { return ms > 0 ? FormatRfc3339Ms(ms) : "-"; }

// Runs one admin POST and prints `--json` answers; the caller prints the human line.
int Post(const CliContext& ctx, const std::string& path, const std::string& body, HttpReply* reply,
         simdjson::dom::parser& parser, simdjson::dom::element* doc) {
  if (int rc = CallApi(ctx, "POST", path, body, reply)) return rc;
  if (ctx.json) {
    std::cout << reply->body << "\n";
    return kExitOk;
  }
  return ParseReply(parser, reply->body, doc) ? kExitOk : kExitApiError;
}

struct RouteArgs {
  std::string event_type, consumer;
};

struct DeadListArgs : RouteArgs {
  int limit = 0;
  std::string after;
};

int DeadList(const CliContext& ctx, const DeadListArgs& a) {
  std::string query;
  if (a.limit > 0) query += "?limit=" + std::to_string(a.limit);
  if (!a.after.empty()) query += (query.empty() ? "?after=" : "&after=") + UrlEncode(a.after);
  return CallAndShow(
      ctx, "GET", RoutePath(a.event_type, a.consumer, "dead") + query, "",
      [&](simdjson::dom::element doc, const HttpReply&) {
        Table table({"EVENT_ID", "ENTITY_ID", "ATTEMPTS", "LAST_STATUS", "LAST_ERROR", "DEAD_AT"});
        simdjson::dom::array items;
        if (!doc["items"].get(items)) {
          for (auto d : items) {
            simdjson::dom::element event;
            if (d["event"].get(event)) continue;
            int64_t dead_at = 0;
            if (d["dead_at"].get(dead_at)) dead_at = 0;
            // last_status 0: no HTTP answer (timeout, connection failure, ack timeout).
            std::string status = Field(d, "last_status");
            table.AddRow({Field(event, "id"), OneLine(Field(event, "entity_id"), 40),
                          Field(d, "attempts"), status == "0" ? "-" : status,
                          OneLine(Field(d, "last_error")), TimeText(dead_at)});
          }
        }
        table.Print(std::cout);
        if (std::string next = Field(doc, "next"); next != "-")
          std::cout << "next: " << next << "\n";
        return kExitOk;
      });
}

struct RedriveArgs : RouteArgs {
  std::vector<std::string> ids;
};

int Redrive(const CliContext& ctx, const RedriveArgs& a) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  if (!a.ids.empty()) {
    w.Key("ids").BeginArray();
    for (const std::string& id : a.ids) w.String(id);
    w.EndArray();
  }
  w.EndObject();
  HttpReply reply;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (int rc =
          Post(ctx, RoutePath(a.event_type, a.consumer, "redrive"), body, &reply, parser, &doc)) {
    return rc;
  }
  if (!ctx.json) {
    std::cout << "redriven " << Field(doc, "redriven") << " dead letter(s) of " << a.event_type
              << " for " << a.consumer << "\n";
  }
  return kExitOk;
}

struct ReplayArgs : RouteArgs {
  std::string from;
  bool ignore_dedup = false;
};

int Replay(const CliContext& ctx, const ReplayArgs& a) {
  std::optional<int64_t> from = ParseTimeArg(a.from);
  if (!from) {
    PrintError("--from: '" + a.from + "' is neither ms since the epoch nor RFC 3339");
    return kExitUsage;
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("from").Int(*from);
  if (a.ignore_dedup) w.Key("ignore_dedup").Bool(true);
  w.EndObject();
  HttpReply reply;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (int rc =
          Post(ctx, RoutePath(a.event_type, a.consumer, "replay"), body, &reply, parser, &doc)) {
    return rc;
  }
  if (!ctx.json) {
    std::cout << "replaying to " << a.consumer << " the topic of " << a.event_type << " from "
              << FormatRfc3339Ms(*from) << " (" << *from << ")"
              << (a.ignore_dedup ? ", ignoring dedup" : "") << "\n";
  }
  return kExitOk;
}

struct SeekArgs : RouteArgs {
  std::string to;
};

int Seek(const CliContext& ctx, const SeekArgs& a) {
  std::optional<int64_t> to;
  if (a.to != "latest") {
    to = ParseTimeArg(a.to);
    if (!to) {
      PrintError("--to: '" + a.to + "' is not latest, ms since the epoch or RFC 3339");
      return kExitUsage;
    }
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("to");
  if (to) {
    w.Int(*to);
  } else {
    w.String("latest");
  }
  w.EndObject();
  HttpReply reply;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (int rc = Post(ctx, RoutePath(a.event_type, a.consumer, "seek"), body, &reply, parser, &doc)) {
    return rc;
  }
  if (!ctx.json) {
    std::cout << a.consumer << " continues on the topic of " << a.event_type << " from "
              << (to ? FormatRfc3339Ms(*to) + " (" + std::to_string(*to) + ")" : "the latest event")
              << "\n";
  }
  return kExitOk;
}

// EVENT_TYPE and CONSUMER positionals, shared by every command here.
void AddRouteArgs(CLI::App* cmd, RouteArgs* a) {
  cmd->add_option("event_type", a->event_type, "Event type of the consumer route")->required();
  cmd->add_option("consumer", a->consumer, "Consumer service name")->required();
}

}  // namespace

void AddDeliveryCommands(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto* dead = app.add_subcommand("dead", "Dead letters of a consumer route");
  dead->require_subcommand(1);

  auto list_args = std::make_shared<DeadListArgs>();
  auto* list = dead->add_subcommand("list", "List the route's dead letters, oldest first");
  AddRouteArgs(list, list_args.get());
  list->add_option("--limit", list_args->limit, "At most this many (server default 100)")
      ->check(CLI::Range(1, 1000));
  list->add_option("--after", list_args->after, "Cursor from a previous page's 'next'");
  list->callback([=, &ctx] { *exit_code = DeadList(ctx, *list_args); });

  auto redrive_args = std::make_shared<RedriveArgs>();
  auto* redrive = dead->add_subcommand(
      "redrive",
      "Deliver dead letters again now (dedup ignored, attempts start over); all of them "
      "unless --id is given");
  AddRouteArgs(redrive, redrive_args.get());
  redrive->add_option("--id", redrive_args->ids, "Event id of a dead letter (repeatable)");
  redrive->callback([=, &ctx] { *exit_code = Redrive(ctx, *redrive_args); });

  auto replay_args = std::make_shared<ReplayArgs>();
  auto* replay = app.add_subcommand(
      "replay",
      "Deliver again to CONSUMER everything retained since a time. Acts on the consumer's "
      "position in EVENT_TYPE's topic: every type of that topic routed to CONSUMER is "
      "replayed");
  AddRouteArgs(replay, replay_args.get());
  replay
      ->add_option("--from", replay_args->from,
                   "ms since the epoch, or RFC 3339 (2026-11-26T08:00:00Z)")
      ->required();
  replay->add_flag("--ignore-dedup", replay_args->ignore_dedup,
                   "Deliver even events whose dedup key this consumer already claimed");
  replay->callback([=, &ctx] { *exit_code = Replay(ctx, *replay_args); });

  auto seek_args = std::make_shared<SeekArgs>();
  auto* seek = app.add_subcommand(
      "seek",
      "Move CONSUMER's position: continue from the latest event (skipping the backlog) or "
      "from the first event at or after a time. Acts on the consumer's position in "
      "EVENT_TYPE's topic (every routed type of that topic); skipped events are not "
      "delivered, pending retries in the skipped range are dropped");
  AddRouteArgs(seek, seek_args.get());
  seek->add_option("--to", seek_args->to,
                   "latest, ms since the epoch, or RFC 3339 (2026-11-26T08:00:00Z)")
      ->required();
  seek->callback([=, &ctx] { *exit_code = Seek(ctx, *seek_args); });
}

}  // namespace eragon::cli
