// eragon routes list | set-producer | set-consumer | show | remove-producer | remove-consumer
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/json.h"

namespace eragon::cli {
namespace {

std::string ProducerPath(const std::string& type) {
  return "/v1/routes/" + UrlEncode(type) + "/producer";
}
std::string ConsumerPath(const std::string& type, const std::string& consumer) {
  return "/v1/routes/" + UrlEncode(type) + "/consumers/" + UrlEncode(consumer);
}

int List(const CliContext& ctx) {
  return CallAndShow(
      ctx, "GET", "/v1/routes", "", [&](simdjson::dom::element doc, const HttpReply&) {
        Table producers({"EVENT_TYPE", "PRODUCER", "CHANNEL", "TOPIC", "ORDERED", "PARTITIONS"});
        simdjson::dom::array items;
        if (!doc["producers"].get(items)) {
          for (auto p : items) {
            producers.AddRow({Field(p, "event_type"), Field(p, "producer"), Field(p, "channel"),
                              Field(p, "topic"), Field(p, "ordered"), Field(p, "partitions")});
          }
        }
        Table consumers({"EVENT_TYPE", "CONSUMER", "TYPE", "URL", "ENABLED", "DEDUP", "START"});
        if (!doc["consumers"].get(items)) {
          for (auto c : items) {
            consumers.AddRow({Field(c, "event_type"), Field(c, "consumer"), Field(c, "type"),
                              Field(c, "url"), Field(c, "enabled"), Field(c, "dedup"),
                              Field(c, "start")});
          }
        }
        std::cout << "Producers (" << producers.size() << ")\n";
        producers.Print(std::cout);
        std::cout << "\nConsumers (" << consumers.size() << ")\n";
        consumers.Print(std::cout);
        return kExitOk;
      });
}

// PUTs `body` to `path` and shows the stored object.
int Put(const CliContext& ctx, const std::string& path, const std::string& body) {
  return CallAndShow(
      ctx, "PUT", path, body, [&](simdjson::dom::element doc, const HttpReply& reply) {
        std::cout << (reply.status == 201 ? "created " : "replaced ") << path << "\n";
        PrintObject(std::cout, doc, "  ");
        return kExitOk;
      });
}

int Delete(const CliContext& ctx, const std::string& path) {
  HttpReply reply;
  if (int rc = CallApi(ctx, "DELETE", path, "", &reply)) return rc;
  if (!ctx.json) std::cout << "removed " << path << "\n";
  return kExitOk;
}

struct ProducerArgs {
  std::string event_type, producer, topic, channel;
  bool ordered = false;
  int64_t partitions = 0;
};

void AddSetProducer(CLI::App& routes, const CliContext& ctx, int* exit_code) {
  auto args = std::make_shared<ProducerArgs>();
  auto* cmd = routes.add_subcommand("set-producer", "Create or replace a producer destination");
  cmd->add_option("event_type", args->event_type, "Event type")->required();
  cmd->add_option("--producer", args->producer, "Owning service")->required();
  auto* topic = cmd->add_option("--topic", args->topic, "Topic (default: the event type)");
  auto* ordered = cmd->add_flag("--ordered", args->ordered,
                                "Ordered per entity id (--ordered=false to turn off)");
  auto* partitions = cmd->add_option("--partitions", args->partitions, "Partitions (default 8)");
  auto* channel = cmd->add_option("--channel", args->channel, "embedded (default) or kafka");
  cmd->callback([=, &ctx] {
    std::string body;
    JsonWriter w(&body);
    w.BeginObject().Key("producer").String(args->producer);
    if (channel->count()) w.Key("channel").String(args->channel);
    if (topic->count()) w.Key("topic").String(args->topic);
    if (ordered->count()) w.Key("ordered").Bool(args->ordered);
    if (partitions->count()) w.Key("partitions").Int(args->partitions);
    w.EndObject();
    *exit_code = Put(ctx, ProducerPath(args->event_type), body);
  });
}

struct ConsumerArgs {
  std::string event_type, consumer, type, url, dedup, format, secret, start, json_body, filter;
  int64_t timeout_ms = 0, max_in_flight = 0, rate_limit = 0, max_attempts = 0,
          initial_backoff_ms = 0, max_backoff_ms = 0, dedup_ttl_hours = 0, secret_overlap_ms = 0,
          disable_after_ms = 0;
  std::vector<int64_t> retry_schedule_ms;
  bool enabled = true;
  std::vector<std::string> headers;
};

// The consumer object from the flags: only what was given, so the server's documented
// defaults apply to the rest. Returns nullopt (after printing why) on a bad --header.
std::optional<std::string> ConsumerBody(const CLI::App& cmd, const ConsumerArgs& a) {
  auto given = [&](const char* name) { return cmd.get_option(name)->count() > 0; };
  for (const auto& kv : a.headers) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      PrintError("--header wants NAME=VALUE, got '" + kv + "'");
      return std::nullopt;
    }
  }
  if (given("--filter") && !ValidateJson(a.filter).ok()) {
    PrintError("--filter wants a JSON object (an event pattern), got '" + a.filter + "'");
    return std::nullopt;
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  if (given("--type")) w.Key("type").String(a.type);
  if (given("--url")) w.Key("url").String(a.url);
  if (given("--timeout-ms")) w.Key("timeout_ms").Int(a.timeout_ms);
  if (given("--header")) {
    w.Key("headers").BeginObject();
    for (const auto& kv : a.headers) {
      size_t eq = kv.find('=');
      w.Key(std::string_view(kv).substr(0, eq)).String(std::string_view(kv).substr(eq + 1));
    }
    w.EndObject();
  }
  if (given("--max-in-flight")) w.Key("max_in_flight").Int(a.max_in_flight);
  if (given("--rate-limit")) w.Key("rate_limit_per_s").Int(a.rate_limit);
  if (given("--max-attempts") || given("--initial-backoff-ms") || given("--max-backoff-ms") ||
      given("--retry-schedule-ms")) {
    w.Key("retry").BeginObject();
    if (given("--max-attempts")) w.Key("max_attempts").Int(a.max_attempts);
    if (given("--initial-backoff-ms")) w.Key("initial_backoff_ms").Int(a.initial_backoff_ms);
    if (given("--max-backoff-ms")) w.Key("max_backoff_ms").Int(a.max_backoff_ms);
    if (given("--retry-schedule-ms")) {
      w.Key("schedule_ms").BeginArray();
      for (int64_t ms : a.retry_schedule_ms) w.Int(ms);
      w.EndArray();
    }
    w.EndObject();
  }
  if (given("--dedup")) w.Key("dedup").String(a.dedup);
  if (given("--dedup-ttl-hours")) w.Key("dedup_ttl_hours").Int(a.dedup_ttl_hours);
  if (given("--format")) w.Key("format").String(a.format);
  if (given("--secret")) w.Key("secret").String(a.secret);
  if (given("--secret-overlap-ms")) w.Key("secret_overlap_ms").Int(a.secret_overlap_ms);
  if (given("--filter")) w.Key("filter").Raw(TrimJsonWhitespace(a.filter));
  if (given("--start")) w.Key("start").String(a.start);
  if (given("--enabled")) w.Key("enabled").Bool(a.enabled);
  if (given("--disable-after-ms")) w.Key("disable_after_ms").Int(a.disable_after_ms);
  w.EndObject();
  return body;
}

void AddSetConsumer(CLI::App& routes, const CliContext& ctx, int* exit_code) {
  auto a = std::make_shared<ConsumerArgs>();
  auto* cmd = routes.add_subcommand("set-consumer", "Create or replace a consumer destination");
  cmd->add_option("event_type", a->event_type, "Event type")->required();
  cmd->add_option("consumer", a->consumer, "Consumer service")->required();
  auto* json_body = cmd->add_option("--json-body", a->json_body,
                                    "The whole consumer object as JSON, from FILE or - (stdin)");
  std::vector<CLI::Option*> fields = {
      cmd->add_option("--type", a->type, "http, pull or kafka"),
      cmd->add_option("--url", a->url, "Endpoint for type http"),
      cmd->add_option("--timeout-ms", a->timeout_ms, "Push timeout"),
      cmd->add_option("--max-in-flight", a->max_in_flight, "Concurrent pushes"),
      cmd->add_option("--rate-limit", a->rate_limit, "Pushes per second, 0 = unlimited"),
      cmd->add_option("--max-attempts", a->max_attempts, "Attempts, the first included"),
      cmd->add_option("--initial-backoff-ms", a->initial_backoff_ms, "First retry delay"),
      cmd->add_option("--max-backoff-ms", a->max_backoff_ms, "Longest retry delay"),
      cmd->add_option("--dedup", a->dedup, "none, entity_event or event_id"),
      cmd->add_option("--dedup-ttl-hours", a->dedup_ttl_hours, "Dedup key lifetime, 0 = never"),
      cmd->add_option("--format", a->format, "eragon or cloudevents"),
      cmd->add_option("--secret", a->secret, "Standard Webhooks secret (whsec_...)"),
      cmd->add_option("--start", a->start, "latest or earliest"),
      cmd->add_flag("--enabled", a->enabled, "Deliver (--enabled=false pauses)"),
      cmd->add_option("--header", a->headers, "Extra push header NAME=VALUE (repeatable)"),
      cmd->add_option("--filter", a->filter,
                      "Deliver only matching events: a JSON pattern, e.g. "
                      "'{\"data.total\":[{\"numeric\":[\">=\",100]}]}'"),
      cmd->add_option("--retry-schedule-ms", a->retry_schedule_ms,
                      "Delays between attempts, e.g. 1000,5000,60000 (max attempts = count + 1)")
          ->delimiter(','),
      cmd->add_option("--secret-overlap-ms", a->secret_overlap_ms,
                      "After a new --secret, also sign with the old one this long (default 24 h)"),
      cmd->add_option("--disable-after-ms", a->disable_after_ms,
                      "Disable the route when every attempt has failed this long (0 = never); "
                      "`routes show` then says why"),
  };
  for (auto* f : fields) json_body->excludes(f);
  cmd->callback([=, &ctx] {
    std::string body;
    if (json_body->count()) {
      if (!ReadInput(a->json_body, &body)) {
        *exit_code = kExitUsage;
        return;
      }
    } else {
      auto built = ConsumerBody(*cmd, *a);
      if (!built) {
        *exit_code = kExitUsage;
        return;
      }
      body = *built;
    }
    *exit_code = Put(ctx, ConsumerPath(a->event_type, a->consumer), body);
  });
}

}  // namespace

void AddRoutesCommands(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto* routes = app.add_subcommand("routes", "Show and change the routing table");
  routes->require_subcommand(1);
  routes->add_subcommand("list", "Show all producer and consumer destinations")
      ->callback([&ctx, exit_code] { *exit_code = List(ctx); });
  AddSetProducer(*routes, ctx, exit_code);
  AddSetConsumer(*routes, ctx, exit_code);

  auto type = std::make_shared<std::string>();
  auto consumer = std::make_shared<std::string>();
  auto* show = routes->add_subcommand(
      "show",
      "Show one consumer destination: every setting (filter, retry schedule, secret "
      "rotation included)");
  show->add_option("event_type", *type, "Event type")->required();
  show->add_option("consumer", *consumer, "Consumer service")->required();
  show->callback([=, &ctx] {
    *exit_code = CallAndShow(ctx, "GET", ConsumerPath(*type, *consumer), "",
                             [](simdjson::dom::element doc, const HttpReply&) {
                               PrintObject(std::cout, doc, "");
                               return kExitOk;
                             });
  });
  auto* rp = routes->add_subcommand("remove-producer", "Remove a producer destination");
  rp->add_option("event_type", *type, "Event type")->required();
  rp->callback([=, &ctx] { *exit_code = Delete(ctx, ProducerPath(*type)); });
  auto* rc = routes->add_subcommand("remove-consumer",
                                    "Remove a consumer destination with its position, retries, "
                                    "dead letters and dedup keys");
  rc->add_option("event_type", *type, "Event type")->required();
  rc->add_option("consumer", *consumer, "Consumer service")->required();
  rc->callback([=, &ctx] { *exit_code = Delete(ctx, ConsumerPath(*type, *consumer)); });
}

}  // namespace eragon::cli
