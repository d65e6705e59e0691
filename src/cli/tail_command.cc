// eragon tail CONSUMER: follows a consumer's deliveries until Ctrl-C (or --max).
//
// Pull consumers: long-polls POST /v1/consumers/{c}/fetch and prints each message as it
// arrives, acking it after printing with --ack. HTTP push consumers: the server pushes,
// so there is nothing to fetch; tail polls the recent events of the consumer's routed
// types (GET /v1/events?event_type=T, newest first) and prints each new event, and again
// whenever its delivery state for this consumer changes (GET /v1/events/{id}), until the
// state is final.
#include <algorithm>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <thread>
#include <unordered_set>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/json.h"
#include "core/time_format.h"

namespace eragon::cli {
namespace {

struct TailArgs {
  std::string consumer;
  int64_t max = 0;  // 0: until Ctrl-C
  bool ack = false;
  int64_t wait_ms = 5000;
  int64_t ack_timeout_ms = 1000;
  int64_t interval_ms = 1000;
};

// A set of strings that forgets the oldest once it holds `cap` of them.
class RecentSet {
 public:
  explicit RecentSet(size_t cap) : cap_(cap) {}
  bool contains(const std::string& s) const { return set_.count(s) != 0; }
  void insert(const std::string& s) {
    if (!set_.insert(s).second) return;
    order_.push_back(s);
    if (order_.size() > cap_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  size_t cap_;
  std::unordered_set<std::string> set_;
  std::deque<std::string> order_;
};

// The raw text of member `key` of the JSON object `object` ("" when absent).
// REQUIRES: `object` was validated and is exactly one object.
std::string_view RawMember(std::string_view object, std::string_view key) {
  for (const auto& [k, v] : RawObjectMembers(TrimJsonWhitespace(object))) {
    if (k.size() == key.size() + 2 && k.substr(1, key.size()) == key) return v;
  }
  return {};
}

std::string TimeText(simdjson::dom::element obj, std::string_view key) {
  int64_t ms = 0;
  if (obj[key].get(ms) || ms <= 0) return Field(obj, key);
  return FormatRfc3339Ms(ms);
}

// "2026-11-26T08:00:00.000Z  order_created  entity=o1  id=..." for an event.
std::string EventPrefix(simdjson::dom::element event) {
  return TimeText(event, "occurred_at") + "  " + Field(event, "event_type") +
         "  entity=" + Field(event, "entity_id") + "  id=" + Field(event, "id");
}

// HTTP client for tail's loop: one kept-alive connection, and a request timeout longer
// than the long poll.
HttpClient MakeClient(const CliContext& ctx, int64_t wait_ms) {
  HttpClientOptions options;
  options.request_timeout_ms = static_cast<int>(wait_ms) + 15'000;
  options.tls = ctx.tls;
  return HttpClient(ctx.url, options);
}

int TailPull(const CliContext& ctx, const TailArgs& a) {
  HttpClient client = MakeClient(ctx, a.wait_ms);
  const std::string base = "/v1/consumers/" + UrlEncode(a.consumer);
  RecentSet shown(100'000);  // peek mode: event ids already printed
  int64_t printed = 0;
  simdjson::dom::parser parser;
  while (a.max == 0 || printed < a.max) {
    int64_t want = a.max == 0 ? 100 : std::min<int64_t>(100, a.max - printed);
    std::string body;
    JsonWriter w(&body);
    w.BeginObject().Key("max").Int(want).Key("wait_ms").Int(a.wait_ms);
    w.Key("ack_timeout_ms").Int(a.ack_timeout_ms).EndObject();
    HttpReply reply;
    if (int rc = CallApi(ctx, client, "POST", base + "/fetch", body, &reply)) return rc;
    simdjson::dom::element doc;
    simdjson::dom::array messages;
    if (!ParseReply(parser, reply.body, &doc)) return kExitApiError;
    if (doc["messages"].get(messages)) continue;
    std::vector<std::string_view> raw =
        RawArrayElements(RawMember(reply.body, "messages"));  // same order as `messages`
    std::string ack;
    JsonWriter ack_w(&ack);
    ack_w.BeginObject().Key("ack_ids").BeginArray();
    size_t i = 0, to_ack = 0;
    for (simdjson::dom::element m : messages) {
      std::string_view raw_message = i < raw.size() ? raw[i] : std::string_view();
      ++i;
      simdjson::dom::element event;
      if (m["event"].get(event)) continue;
      std::string id = Field(event, "id");
      if (a.ack) {
        ack_w.String(Field(m, "ack_id"));
        ++to_ack;
      } else if (shown.contains(id)) {
        continue;  // our own peek came back after its ack timeout
      }
      shown.insert(id);
      if (raw_message.empty()) return kExitApiError;  // cannot happen: same document
      if (ctx.json) {
        std::cout << raw_message << "\n";
      } else {
        std::cout << EventPrefix(event) << "  attempt=" << Field(m, "attempt")
                  << "  data=" << RawMember(RawMember(raw_message, "event"), "data") << "\n";
      }
      ++printed;
    }
    std::cout.flush();
    if (to_ack > 0) {
      ack_w.EndArray().EndObject();
      HttpReply acked;
      if (int rc = CallApi(ctx, client, "POST", base + "/ack", ack, &acked)) return rc;
    }
  }
  return kExitOk;
}

// What tail last showed of one event's delivery to the consumer.
struct Tracked {
  std::string shown;  // state, attempts and status as last printed ("" = nothing yet)
};

bool IsFinal(std::string_view state) {
  return state == "delivered" || state == "dead" || state == "skipped_duplicate" ||
         state == "expired" || state == "filtered";
}

class PushTail {
 public:
  PushTail(const CliContext& ctx, const TailArgs& a, std::vector<std::string> types)
      : ctx_(ctx), a_(a), types_(std::move(types)), client_(MakeClient(ctx, 0)) {}

  int Run() {
    // What is already stored is history (`eragon events list`); follow what comes next.
    if (int rc = ListNew(/*print=*/false)) return rc;
    for (;;) {
      if (int rc = ListNew(/*print=*/true)) return rc;
      if (int rc = RefreshStates()) return rc;
      if (a_.max > 0 && printed_ >= a_.max) return kExitOk;
      std::this_thread::sleep_for(std::chrono::milliseconds(a_.interval_ms));
    }
  }

 private:
  static constexpr size_t kMaxTracked = 1000;
  static constexpr int kMaxPages = 10;

  // Finds events of the routed types not seen before; with `print`, tracks them (oldest
  // first) so RefreshStates prints them.
  int ListNew(bool print) {
    for (const std::string& type : types_) {
      std::vector<std::string> fresh;  // newest first
      std::string after;
      for (int page = 0; page < kMaxPages; ++page) {
        std::string path = "/v1/events?limit=100&event_type=" + UrlEncode(type);
        if (!after.empty()) path += "&after=" + UrlEncode(after);
        HttpReply reply;
        if (int rc = CallApi(ctx_, client_, "GET", path, "", &reply)) return rc;
        simdjson::dom::element doc;
        simdjson::dom::array items;
        if (!ParseReply(parser_, reply.body, &doc)) return kExitApiError;
        bool reached_known = false;
        if (!doc["items"].get(items)) {
          for (auto e : items) {
            std::string id = Field(e, "id");
            if (known_.contains(id)) {
              reached_known = true;
              break;
            }
            fresh.push_back(id);
          }
        }
        std::string_view next;
        if (reached_known || doc["next"].get(next) || next.empty()) break;
        after = std::string(next);
      }
      for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
        known_.insert(*it);
        if (!print) continue;
        order_.push_back(*it);
        tracked_[*it] = {};
        if (order_.size() > kMaxTracked) {
          tracked_.erase(order_.front());
          order_.pop_front();
        }
      }
    }
    return kExitOk;
  }

  // Prints each tracked event whose delivery to the consumer changed; forgets final ones.
  int RefreshStates() {
    std::deque<std::string> keep;
    for (const std::string& id : order_) {
      auto it = tracked_.find(id);
      if (it == tracked_.end()) continue;
      HttpReply reply;
      if (int rc = CallApi(ctx_, client_, "GET", "/v1/events/" + UrlEncode(id), "", &reply)) {
        if (reply.status == 404) continue;  // expired from the log meanwhile
        return rc;
      }
      simdjson::dom::element doc, event, mine;
      simdjson::dom::array deliveries;
      if (!ParseReply(parser_, reply.body, &doc) || doc["event"].get(event)) return kExitApiError;
      std::string_view raw_delivery;
      if (!doc["deliveries"].get(deliveries)) {
        std::vector<std::string_view> raw = RawArrayElements(RawMember(reply.body, "deliveries"));
        size_t i = 0;
        for (simdjson::dom::element d : deliveries) {
          if (Field(d, "consumer") == a_.consumer) {
            mine = d;
            if (i < raw.size()) raw_delivery = raw[i];
          }
          ++i;
        }
      }
      std::string state = raw_delivery.empty() ? "" : Field(mine, "state");
      std::string shown =
          state + "/" +
          (state.empty() ? "" : Field(mine, "attempts") + "/" + Field(mine, "last_status"));
      if (!state.empty() && shown != it->second.shown && (a_.max == 0 || printed_ < a_.max)) {
        Print(reply.body, event, mine, raw_delivery);
        it->second.shown = shown;
      }
      if (IsFinal(state)) {
        tracked_.erase(it);
      } else {
        keep.push_back(id);
      }
    }
    order_.swap(keep);
    return kExitOk;
  }

  void Print(const std::string& body, simdjson::dom::element event, simdjson::dom::element d,
             std::string_view raw_delivery) {
    ++printed_;
    if (ctx_.json) {
      std::cout << "{\"event\":" << RawMember(body, "event") << ",\"delivery\":" << raw_delivery
                << "}" << std::endl;
      return;
    }
    std::cout << EventPrefix(event) << "  " << Field(d, "state")
              << "  attempts=" << Field(d, "attempts");
    if (std::string s = Field(d, "last_status"); s != "0") std::cout << "  status=" << s;
    if (std::string e = Field(d, "last_error"); !e.empty() && e != "-") {
      std::cout << "  error=" << OneLine(e, 120);
    }
    if (std::string n = TimeText(d, "next_attempt_at"); n != "0") std::cout << "  next=" << n;
    std::cout << std::endl;
  }

  const CliContext& ctx_;
  const TailArgs& a_;
  std::vector<std::string> types_;
  HttpClient client_;
  simdjson::dom::parser parser_;
  RecentSet known_{100'000};
  std::deque<std::string> order_;  // tracked ids, oldest first
  std::map<std::string, Tracked> tracked_;
  int64_t printed_ = 0;
};

int Tail(const CliContext& ctx, const TailArgs& a) {
  // Which kind of consumer is it? GET /v1/routes needs admin; a consumer's own token gets
  // 403 there and can only pull, so that is what tail does with it.
  HttpClient client(ctx.url);
  HttpHeaders auth;
  if (!ctx.token.empty()) auth.emplace_back("Authorization", "Bearer " + ctx.token);
  auto routes = client.Request("GET", "/v1/routes", "", auth);
  if (!routes.ok()) {
    PrintError(routes.status().message());
    return kExitUnreachable;
  }
  if (routes->status == 403) return TailPull(ctx, a);
  if (routes->status != 200) {
    PrintError("GET /v1/routes: " + DescribeError(*routes));
    return kExitApiError;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array consumers;
  if (!ParseReply(parser, routes->body, &doc)) return kExitApiError;
  std::vector<std::string> pull, push;
  if (!doc["consumers"].get(consumers)) {
    for (auto c : consumers) {
      if (Field(c, "consumer") != a.consumer) continue;
      std::string type = Field(c, "type");
      if (type == "pull") pull.push_back(Field(c, "event_type"));
      if (type == "http") push.push_back(Field(c, "event_type"));
    }
  }
  if (pull.empty() && push.empty()) {
    PrintError("no consumer routes for '" + a.consumer + "' (see eragon routes list)");
    return kExitApiError;
  }
  if (!pull.empty()) {
    if (!push.empty()) {
      std::cerr << "eragon: tail follows the pull routes of " << a.consumer
                << "; its push routes are not shown\n";
    }
    return TailPull(ctx, a);
  }
  return PushTail(ctx, a, std::move(push)).Run();
}

}  // namespace

void AddTailCommand(CLI::App& app, const CliContext& ctx, int* exit_code) {
  auto a = std::make_shared<TailArgs>();
  auto* cmd = app.add_subcommand(
      "tail",
      "Follow a consumer's deliveries until Ctrl-C.\n"
      "Pull consumers: fetches (long poll) and prints each message as it arrives. Without "
      "--ack tail only peeks, but a pull queue cannot be read without taking: each message "
      "it prints is hidden from the real consumer until --ack-timeout-ms passes, then "
      "delivered again, and every fetch counts as a delivery attempt towards the route's "
      "max_attempts. With --ack tail IS the consumer: what it prints is acknowledged.\n"
      "HTTP push consumers: polls the recent events of the consumer's routed types and "
      "prints each new event, and again whenever its delivery state for the consumer "
      "changes (needs an admin token).");
  cmd->add_option("consumer", a->consumer, "Consumer service name")->required();
  cmd->add_option("--max", a->max, "Exit after printing N messages (default: until Ctrl-C)")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_flag("--ack", a->ack, "Pull: acknowledge each message after printing it");
  cmd->add_option("--wait-ms", a->wait_ms, "Pull: long-poll wait of each fetch")
      ->check(CLI::Range(0, 60'000))
      ->capture_default_str();
  cmd->add_option("--ack-timeout-ms", a->ack_timeout_ms,
                  "Pull: how long a fetched message stays hidden from other fetches")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  cmd->add_option("--interval-ms", a->interval_ms, "Push: time between two polls")
      ->check(CLI::Range(50, 60'000))
      ->capture_default_str();
  cmd->callback([=, &ctx] { *exit_code = Tail(ctx, *a); });
}

}  // namespace eragon::cli
