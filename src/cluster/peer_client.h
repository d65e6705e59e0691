// PeerClient: this node's requests to the other nodes of its cluster, so that any node
// answers as the whole cluster where the answer lives on another node (API.md "Running a
// cluster": pull consumers fetch and ack through any node).
//
// A forwarded request is the client's own (same path, same Authorization header) with
// the header `Eragon-Forwarded: <this node's id>`; the node receiving it answers from
// itself only and forwards nothing further, so requests never loop. The other nodes are
// those NodeRegistry lists now (their heartbeats in PostgreSQL, their --advertise-url).
//
// Requests are blocking (http::HttpClient, one kept-alive connection per thread and
// peer), so the callers are this client's own threads (Post) or worker-pool threads; an
// io thread never calls Call. A peer that does not answer within the timeouts counts as
// having nothing. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cluster/node_registry.h"
#include "eragon/status.h"
#include "eragon/tls.h"
#include "http/http_client.h"

namespace eragon::cluster {

// The header that marks a forwarded request (its value: the forwarding node's id).
inline constexpr std::string_view kForwardedHeader = "Eragon-Forwarded";

struct PeerOptions {
  // For https peers: the CA that signed the nodes' certificates, and the certificate this
  // node presents when the peers require client certificates (its own --tls-cert/--tls-key).
  TlsClientFiles tls;
  int threads = 4;
  int connect_timeout_ms = 1'000;
  int request_timeout_ms = 5'000;
};

class PeerClient {
 public:
  PeerClient(const NodeRegistry* nodes, PeerOptions options);
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // The other nodes listed now, in an order that starts one further at every call (so
  // repeated fan-outs do not always favour the same node).
  std::vector<NodeInfo> Peers();

  // Sends one forwarded request to `peer` on the calling thread. `authorization` is the
  // client's Authorization header value. Transport failures as HttpClient::Request.
  Result<HttpReply> Call(const NodeInfo& peer, std::string_view method, std::string_view path,
                         std::string_view body, std::string_view authorization);

  // Runs `task` on one of this client's threads (tasks may call Call). After Stop,
  // tasks run on the caller's thread.
  void Post(std::function<void()> task);
  // Runs what is queued, then joins the threads.
  void Stop();
  // Whether Stop was called (a fetch waiting on the cluster then answers what it has).
  bool stopping();

 private:
  void Run();

  const NodeRegistry* nodes_;
  const PeerOptions o_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  size_t rotate_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace eragon::cluster
