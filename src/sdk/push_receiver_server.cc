// PushServer (eragon/push_receiver.h): eragond's own HTTP/1.1 layer (eragon_http, Beast
// inside http_server.cc only) with one route, POST <path>, answered by a PushReceiver.
#include <chrono>

#include "eragon/push_receiver.h"
#include "http/http_server.h"
#include "http/router.h"

namespace eragon {

struct PushServer::Impl {
  PushServerOptions options;
  const PushReceiver* receiver;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
};

PushServer::PushServer(PushServerOptions options, const PushReceiver* receiver)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->receiver = receiver;
}

PushServer::~PushServer() { Stop(1'000); }

Status PushServer::Start() {
  Impl& im = *impl_;
  if (im.server) return Status::InvalidArgument("Start: already called");
  if (!im.options.path.starts_with('/')) return Status::InvalidArgument("path: must start with /");
  if (im.options.threads < 1) return Status::InvalidArgument("threads: must be at least 1");
  im.router.Post(im.options.path,
                 [r = im.receiver](http::HttpRequest&& req, http::Responder respond) {
                   PushHeaders headers;
                   headers.reserve(req.headers.size());
                   for (const auto& [name, value] : req.headers) headers.emplace_back(name, value);
                   PushAnswer a = r->Handle(req.method_name, headers, req.body);
                   respond(http::HttpResponse::Json(a.status, std::move(a.body)));
                 });
  http::HttpServerOptions ho;
  ho.host = im.options.host;
  ho.port = im.options.port;
  ho.io_threads = im.options.threads;
  ho.max_body_bytes = im.options.max_body_bytes;
  im.server = std::make_unique<http::HttpServer>(ho, &im.router);
  Status st = im.server->Start();
  if (!st.ok()) im.server.reset();
  return st;
}

uint16_t PushServer::port() const { return impl_->server->port(); }

std::string PushServer::url() const {
  const std::string& h = impl_->options.host;
  return "http://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" +
         std::to_string(port()) + impl_->options.path;
}

void PushServer::Stop(int grace_ms) {
  if (impl_->server) impl_->server->Stop(std::chrono::milliseconds(grace_ms));
}

}  // namespace eragon
