// eragon publish | events get | events list | events attempts
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/json.h"

namespace eragon::cli {

bool ReadInput(const std::string& path, std::string* out) {
  std::ostringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      PrintError("cannot read '" + path + "'");
      return false;
    }
    buf << in.rdbuf();
  }
  *out = buf.str();
  return true;
}

bool ParseReply(simdjson::dom::parser& parser, const std::string& body,
                simdjson::dom::element* doc) {
  auto parsed = ParseJson(body, parser);
  if (!parsed.ok()) {
    PrintError("the server's answer is not JSON: " + parsed.status().message());
    return false;
  }
  *doc = *parsed;
  return true;
}

int CallAndShow(const CliContext& ctx, std::string_view method, const std::string& path,
                std::string_view body, const ShowFn& show, const HttpHeaders& headers) {
  HttpReply reply;
  if (int rc = CallApi(ctx, method, path, body, &reply, headers)) return rc;
  if (ctx.json) {
    std::cout << reply.body << "\n";
    return kExitOk;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!ParseReply(parser, reply.body, &doc)) return kExitApiError;
  return show(doc, reply);
}

namespace {

// `{"events":[...]}` from a file of JSON lines (blank lines skipped). Each line must be
// one JSON value; a bad line is reported with its number.
bool BatchFromLines(const std::string& text, const std::string& name, std::string* body) {
  std::istringstream in(text);
  std::string line;
  int number = 0, count = 0;
  *body = "{\"events\":[";
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (Status st = ValidateJson(line); !st.ok()) {
      PrintError(name + ":" + std::to_string(number) + ": not a JSON value: " + st.message());
      return false;
    }
    if (count++) body->push_back(',');
    *body += line;
  }
  *body += "]}";
  return true;
}

struct PublishArgs {
  std::string event, file, batch_file, traceparent;
  bool cloudevents = false;
};

int Publish(const CliContext& ctx, const PublishArgs& a) {
  std::string body;
  if (!a.batch_file.empty()) {
    std::string text;
    if (!ReadInput(a.batch_file, &text) || !BatchFromLines(text, a.batch_file, &body)) {
      return kExitUsage;
    }
  } else if (!a.event.empty()) {
    body = a.event;
  } else if (!ReadInput(a.file.empty() ? "-" : a.file, &body)) {
    return kExitUsage;
  }
  HttpHeaders headers;
  if (a.cloudevents) headers.emplace_back("Content-Type", "application/cloudevents+json");
  if (!a.traceparent.empty()) headers.emplace_back("traceparent", a.traceparent);
  return CallAndShow(
      ctx, "POST", "/v1/events", body,
      [&](simdjson::dom::element doc, const HttpReply&) {
        simdjson::dom::array ids, dups;
        Table table({"ID", "DUPLICATE"});
        if (!doc["ids"].get(ids)) {
          bool have_dups = !doc["duplicates"].get(dups);
          for (size_t i = 0; i < ids.size(); ++i) {
            simdjson::dom::element dup;
            std::string shown = have_dups && !dups.at(i).get(dup) ? Text(dup) : "-";
            table.AddRow({Text(ids.at(i).value()), shown});
          }
        }
        table.Print(std::cout);
        return kExitOk;
      },
      headers);
}

// The event's members as "key: value"; `data` as the exact bytes the server sent, so
// numbers beyond 64 bits and the producer's formatting are shown as stored.
void PrintEvent(const std::string& body, simdjson::dom::element event) {
  std::string_view raw_data;
  for (const auto& [key, value] : RawObjectMembers(TrimJsonWhitespace(body))) {
    if (key != "\"event\"") continue;
    for (const auto& [k, v] : RawObjectMembers(value)) {
      if (k == "\"data\"") raw_data = v;
    }
  }
  simdjson::dom::object members;
  if (event.get(members)) return;
  for (auto [key, value] : members) {
    std::cout << key << ": " << (key == "data" ? std::string(raw_data) : Text(value)) << "\n";
  }
}

int Get(const CliContext& ctx, const std::string& id, const std::string& producer) {
  std::string path = "/v1/events/" + UrlEncode(id);
  if (!producer.empty()) path += "?producer=" + UrlEncode(producer);
  return CallAndShow(ctx, "GET", path, "", [&](simdjson::dom::element doc, const HttpReply& reply) {
    simdjson::dom::element event;
    if (!doc["event"].get(event)) PrintEvent(reply.body, event);
    simdjson::dom::array deliveries;
    if (!doc["deliveries"].get(deliveries)) {
      Table table({"CONSUMER", "STATE", "ATTEMPTS", "LAST_STATUS", "LAST_ERROR", "NEXT_ATTEMPT_AT",
                   "DELIVERED_AT"});
      for (auto d : deliveries) {
        table.AddRow({Field(d, "consumer"), Field(d, "state"), Field(d, "attempts"),
                      Field(d, "last_status"), Field(d, "last_error"), Field(d, "next_attempt_at"),
                      Field(d, "delivered_at")});
      }
      std::cout << "\nDeliveries (" << table.size() << ")\n";
      table.Print(std::cout);
    }
    return kExitOk;
  });
}

// "?k=v&..." of the pairs whose value is not empty (values percent-encoded); "" for none.
std::string Query(std::initializer_list<std::pair<const char*, std::string>> pairs) {
  std::string query;
  for (const auto& [key, value] : pairs) {
    if (value.empty()) continue;
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + UrlEncode(value);
  }
  return query;
}

struct ListArgs {
  std::string event_type, entity_id, after;
  int limit = 0;
};

int List(const CliContext& ctx, const ListArgs& a) {
  const std::string query = Query({{"event_type", a.event_type},
                                   {"entity_id", a.entity_id},
                                   {"limit", a.limit > 0 ? std::to_string(a.limit) : ""},
                                   {"after", a.after}});
  return CallAndShow(
      ctx, "GET", "/v1/events" + query, "", [&](simdjson::dom::element doc, const HttpReply&) {
        Table table({"ID", "EVENT_TYPE", "ENTITY_ID", "PRODUCER", "OCCURRED_AT"});
        simdjson::dom::array items;
        if (!doc["items"].get(items)) {
          for (auto e : items) {
            table.AddRow({Field(e, "id"), Field(e, "event_type"), Field(e, "entity_id"),
                          Field(e, "producer"), Field(e, "occurred_at")});
          }
        }
        table.Print(std::cout);
        if (std::string next = Field(doc, "next"); next != "-")
          std::cout << "next: " << next << "\n";
        return kExitOk;
      });
}

struct AttemptsArgs {
  std::string id, consumer, producer, after;
  int limit = 0;
};

// GET /v1/events/{id}/attempts: one row per attempt, oldest first.
int Attempts(const CliContext& ctx, const AttemptsArgs& a) {
  const std::string query = Query({{"consumer", a.consumer},
                                   {"producer", a.producer},
                                   {"limit", a.limit > 0 ? std::to_string(a.limit) : ""},
                                   {"after", a.after}});
  const std::string path = "/v1/events/" + UrlEncode(a.id) + "/attempts" + query;
  return CallAndShow(ctx, "GET", path, "", [&](simdjson::dom::element doc, const HttpReply&) {
    Table table({"CONSUMER", "ATTEMPT", "KIND", "AT", "DURATION_MS", "STATUS", "ERROR", "NODE"});
    simdjson::dom::array items;
    if (!doc["items"].get(items)) {
      for (auto e : items) {
        table.AddRow({Field(e, "consumer"), Field(e, "attempt"), Field(e, "kind"), Field(e, "at"),
                      Field(e, "duration_ms"), Field(e, "status"), Field(e, "error"),
                      Field(e, "node")});
      }
    }
    table.Print(std::cout);
    if (std::string next = Field(doc, "next"); next != "-") std::cout << "next: " << next << "\n";
    return kExitOk;
  });
}

}  // namespace

void AddPublishCommand(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto a = std::make_shared<PublishArgs>();
  auto* cmd = app.add_subcommand(
      "publish", "Publish one event (argument, --file or stdin) or a batch (--batch-file)");
  auto* event = cmd->add_option("event", a->event, "The event as JSON");
  auto* file = cmd->add_option("--file,-f", a->file, "Read the event from FILE (- for stdin)");
  auto* batch = cmd->add_option("--batch-file", a->batch_file,
                                "One JSON event per line, sent as one all-or-nothing batch");
  event->excludes(file)->excludes(batch);
  file->excludes(batch);
  cmd->add_flag("--cloudevents", a->cloudevents,
                "Send as a CloudEvents 1.0 structured event (application/cloudevents+json)");
  cmd->add_option("--traceparent", a->traceparent, "W3C traceparent stored with the event");
  cmd->callback([=, &ctx] { *exit_code = Publish(ctx, *a); });
}

void AddEventsCommands(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto* events = app.add_subcommand("events", "Read stored events");
  events->require_subcommand(1);
  auto id = std::make_shared<std::string>();
  auto* get = events->add_subcommand("get", "Show one event and its deliveries");
  get->add_option("id", *id, "Event id")->required();
  auto producer = std::make_shared<std::string>();
  get->add_option("--producer", *producer, "Whose event, when several producers published this id");
  get->callback([=, &ctx] { *exit_code = Get(ctx, *id, *producer); });

  auto a = std::make_shared<ListArgs>();
  auto* list = events->add_subcommand("list", "Recent events, newest first");
  list->add_option("--event-type", a->event_type, "Only this event type");
  list->add_option("--entity-id", a->entity_id, "Only this entity id");
  list->add_option("--limit", a->limit, "At most this many (server default 100, max 1000)")
      ->check(CLI::Range(1, 1000));
  list->add_option("--after", a->after, "Cursor from a previous page's 'next'");
  list->callback([=, &ctx] { *exit_code = List(ctx, *a); });

  auto t = std::make_shared<AttemptsArgs>();
  auto* attempts = events->add_subcommand("attempts", "An event's delivery attempts, oldest first");
  attempts->add_option("id", t->id, "Event id")->required();
  attempts->add_option("--consumer", t->consumer, "Only this consumer's attempts");
  attempts->add_option("--producer", t->producer,
                       "Whose event, when several producers published this id");
  attempts->add_option("--limit", t->limit, "At most this many (server default 100, max 1000)")
      ->check(CLI::Range(1, 1000));
  attempts->add_option("--after", t->after, "Cursor from a previous page's 'next'");
  attempts->callback([=, &ctx] { *exit_code = Attempts(ctx, *t); });
}

}  // namespace eragon::cli
