#include "cluster/peer_client.h"

#include <algorithm>
#include <map>
#include <memory>

namespace eragon::cluster {

PeerClient::PeerClient(const NodeRegistry* nodes, PeerOptions options)
    : nodes_(nodes), o_(std::move(options)) {
  for (int i = 0; i < o_.threads; ++i) threads_.emplace_back([this] { Run(); });
}

PeerClient::~PeerClient() { Stop(); }

std::vector<NodeInfo> PeerClient::Peers() {
  std::vector<NodeInfo> all = nodes_->Nodes();
  std::vector<NodeInfo> out;
  for (NodeInfo& n : all) {
    if (n.id != nodes_->id() && !n.address.empty()) out.push_back(std::move(n));
  }
  size_t start = 0;
  {
    std::lock_guard lock(mu_);
    start = rotate_++;
  }
  if (!out.empty()) std::rotate(out.begin(), out.begin() + start % out.size(), out.end());
  return out;
}

Result<HttpReply> PeerClient::Call(const NodeInfo& peer, std::string_view method,
                                   std::string_view path, std::string_view body,
                                   std::string_view authorization) {
  // One kept-alive connection per (thread, peer address): HttpClient is single-threaded.
  thread_local std::map<std::string, std::unique_ptr<HttpClient>> clients;
  std::unique_ptr<HttpClient>& c = clients[peer.address];
  if (c == nullptr) {
    HttpClientOptions ho;
    ho.connect_timeout_ms = o_.connect_timeout_ms;
    ho.request_timeout_ms = o_.request_timeout_ms;
    ho.tls = o_.tls;
    c = std::make_unique<HttpClient>(peer.address, ho);
  }
  HttpHeaders headers{{std::string(kForwardedHeader), nodes_->id()}};
  if (!authorization.empty()) headers.emplace_back("Authorization", std::string(authorization));
  Result<HttpReply> r = c->Request(method, path, body, headers);
  if (!r.ok()) c->Close();
  return r;
}

void PeerClient::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      tasks_.push_back(std::move(task));
      cv_.notify_one();
      return;
    }
  }
  task();
}

void PeerClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool PeerClient::stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

void PeerClient::Run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace eragon::cluster
