// Pull, replay and seek through any node of a cluster (API.md "Running a cluster"): each
// node delivers only the partitions its consumer groups assign it, so a fetch also asks
// the other nodes (PeerClient) for what they hold, ack or nack ids this node does not hold
// go to the others, which count those they lease, and a replay or seek is sent on to every
// other node, each moving the partitions it owns. Forwarded requests carry
// Eragon-Forwarded and are answered by the receiving node alone.
#include <chrono>
#include <cstdlib>
#include <memory>

#include "cluster/peer_client.h"
#include "core/json.h"
#include "server/api.h"

namespace eragon::server {

using http::HttpRequest;
using http::HttpResponse;
using http::Responder;

namespace {

using SteadyClock = std::chrono::steady_clock;

// How long a fetch long-polls this node's partitions before it asks the other nodes
// again: the most a message on another node waits for a fetch that is already waiting.
constexpr int64_t kPeerPollMs = 250;

constexpr std::string_view kOpen = "{\"messages\":[";
constexpr std::string_view kClose = "]}";

// The message objects of a fetch answer, without the enclosing {"messages":[ ]}, and how
// many there are (a view into `body`); nullopt for anything else (a peer answering an error).
std::optional<std::pair<std::string_view, size_t>> MessageItems(std::string_view body) {
  simdjson::dom::array arr;
  if (!body.starts_with(kOpen) || !body.ends_with(kClose)) return std::nullopt;
  Result<simdjson::dom::element> parsed = ParseJson(body);
  if (!parsed.ok() || (*parsed)["messages"].get_array().get(arr) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  body.remove_prefix(kOpen.size());
  body.remove_suffix(kClose.size());
  return std::make_pair(body, arr.size());
}

// One fetch answered from the whole cluster: this node's messages first, then the other
// nodes' (each asked without waiting, for what is still missing of `max`); when nobody
// has any, this node long-polls for kPeerPollMs and the others are asked again, until the
// fetch's wait is over.
class ClusterFetch : public std::enable_shared_from_this<ClusterFetch> {
 public:
  ClusterFetch(const ApiDeps& d, PullFetch f, Responder respond)
      : d_(d),
        f_(std::move(f)),
        respond_(std::move(respond)),
        deadline_(SteadyClock::now() + std::chrono::milliseconds(f_.wait_ms)) {}

  void FetchHere(int64_t wait_ms) {
    auto self = shared_from_this();
    d_.dispatcher->Fetch(f_.consumer, f_.max - count_, wait_ms, f_.ack_timeout_ms,
                         [self](std::vector<dispatch::PulledMessage> msgs) {
                           if (!msgs.empty()) {
                             const std::string json = PulledMessagesJson(msgs);
                             std::string_view items = json;
                             items.remove_prefix(kOpen.size());
                             items.remove_suffix(kClose.size());
                             self->Add(items, msgs.size());
                           }
                           if (self->count_ >= self->f_.max || self->d_.peers->stopping()) {
                             return self->Answer();
                           }
                           self->d_.peers->Post([self] { self->AskPeers(); });
                         });
  }

 private:
  // Appends `n` message objects (comma-separated, without the enclosing array).
  void Add(std::string_view items, size_t n) {
    if (n == 0) return;
    if (!items_.empty()) items_ += ',';
    items_ += items;
    count_ += n;
  }

  void AskPeers() {
    const std::vector<cluster::NodeInfo> peers = d_.peers->Peers();
    for (const cluster::NodeInfo& peer : peers) {
      if (count_ >= f_.max) break;
      std::string body = "{\"max\":" + std::to_string(f_.max - count_) +
                         ",\"wait_ms\":0,\"ack_timeout_ms\":" + std::to_string(f_.ack_timeout_ms) +
                         "}";
      Result<HttpReply> r = d_.peers->Call(peer, "POST", "/v1/consumers/" + f_.consumer + "/fetch",
                                           body, f_.authorization);
      if (!r.ok() || r->status != 200) continue;
      if (auto items = MessageItems(r->body)) Add(items->first, items->second);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - SteadyClock::now())
            .count();
    if (count_ > 0 || left <= 0) return Answer();
    // Alone (the others stopped or not seen yet): one long-poll for the rest of the wait.
    FetchHere(peers.empty() ? left : std::min<int64_t>(left, kPeerPollMs));
  }

  void Answer() {
    std::string out;
    out.reserve(kOpen.size() + items_.size() + kClose.size());
    out.append(kOpen).append(items_).append(kClose);
    respond_(HttpResponse::Json(200, std::move(out)));
  }

  const ApiDeps& d_;
  const PullFetch f_;
  Responder respond_;
  const SteadyClock::time_point deadline_;
  std::string items_;  // message objects, comma-separated
  size_t count_ = 0;
};

// The body of a forwarded ack or nack of `ids`.
std::string AckBody(const std::vector<std::string>& ids, int64_t delay_ms) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("ack_ids").BeginArray();
  for (const std::string& id : ids) w.String(id);
  w.EndArray();
  if (delay_ms >= 0) w.Key("delay_ms").Int(delay_ms);
  w.EndObject();
  return out;
}

}  // namespace

bool FansOut(const ApiDeps& d, const HttpRequest& req) {
  return d.peers != nullptr && !req.Header(cluster::kForwardedHeader).has_value();
}

void FetchFromCluster(const ApiDeps& d, PullFetch f, Responder respond) {
  auto fetch = std::make_shared<ClusterFetch>(d, std::move(f), std::move(respond));
  fetch->FetchHere(0);
}

size_t ForwardAcks(const ApiDeps& d, std::string_view verb, const std::string& consumer,
                   const std::vector<std::string>& ids, int64_t delay_ms,
                   std::string_view authorization) {
  const std::string body = AckBody(ids, delay_ms);
  const std::string path = "/v1/consumers/" + consumer + "/" + std::string(verb);
  const std::string field = std::string(verb) + "ed";  // acked, nacked
  size_t n = 0;
  for (const cluster::NodeInfo& peer : d.peers->Peers()) {
    if (n >= ids.size()) break;
    Result<HttpReply> r = d.peers->Call(peer, "POST", path, body, authorization);
    if (!r.ok() || r->status != 200) continue;
    Result<simdjson::dom::element> j = ParseJson(r->body);
    int64_t counted = 0;
    if (j.ok() && (*j)[field].get_int64().get(counted) == simdjson::SUCCESS && counted > 0) {
      n += static_cast<size_t>(counted);
    }
  }
  return n;
}

Status MovedEverywhere(const ApiDeps& d, const HttpRequest& req, std::string_view verb,
                       const std::string& type, const std::string& consumer,
                       dispatch::Moved* moved) {
  if (!FansOut(d, req)) return Status::Ok();
  const std::string path =
      "/v1/routes/" + type + "/consumers/" + consumer + "/" + std::string(verb);
  const std::string auth = Authorization(req);
  for (const cluster::NodeInfo& peer : d.peers->Peers()) {
    Result<HttpReply> r = d.peers->Call(peer, "POST", path, req.body, auth);
    if (!r.ok() || r->status != 200) continue;
    moved->partitions += std::strtoull(r->Header(kMovedHeader).c_str(), nullptr, 10);
  }
  if (moved->partitions >= moved->of) return Status::Ok();
  return Status::Unavailable(std::string(verb) + " moved " + std::to_string(moved->partitions) +
                             " of " + std::to_string(moved->of) +
                             " partitions (the cluster is rebalancing, or a node did not "
                             "answer); send it again");
}

}  // namespace eragon::server
