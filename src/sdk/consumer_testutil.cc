#include "sdk/consumer_testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "core/json.h"

namespace eragon::sdk::testing {

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) close(fd);
  return port;
}

SdkServer::SdkServer(std::vector<std::string> extra_args)
    : server_(std::make_unique<::eragon::testing::ServerProcess>(ERAGOND_PATH,
                                                                 std::move(extra_args))) {}

SdkServer::~SdkServer() = default;

Status SdkServer::Start() {
  ERAGON_RETURN_IF_ERROR(server_->Start());
  client_ = std::make_unique<HttpClient>(server_->url());
  return Status::Ok();
}

HttpReply SdkServer::Admin(std::string_view method, const std::string& path,
                           std::string_view body) {
  Result<HttpReply> r =
      client_->Request(method, path, body, {{"Authorization", "Bearer " + server_->admin_token()}});
  if (!r.ok()) return HttpReply{0, {}, r.status().ToString()};
  return std::move(*r);
}

std::string SdkServer::CreateService(const std::string& name, const std::string& roles_json) {
  HttpReply r = Admin("PUT", "/v1/services/" + name, "{\"roles\":" + roles_json + "}");
  simdjson::dom::parser parser;
  auto doc = ParseJson(r.body, parser);
  std::string_view token;
  if (!doc.ok() || (*doc)["token"].get_string().get(token) != simdjson::SUCCESS) return "";
  return std::string(token);
}

bool SdkServer::SetProducer(const std::string& type, const std::string& topic, bool ordered) {
  HttpReply r = Admin("PUT", "/v1/routes/" + type + "/producer",
                      R"({"producer":"order-service","topic":")" + topic + R"(","ordered":)" +
                          (ordered ? "true" : "false") + "}");
  return r.status / 100 == 2;
}

bool SdkServer::SetConsumer(const std::string& type, const std::string& consumer,
                            const std::string& route_json) {
  HttpReply r = Admin("PUT", "/v1/routes/" + type + "/consumers/" + consumer, route_json);
  return r.status / 100 == 2;
}

std::vector<std::string> SdkServer::Publish(const std::string& body) {
  HttpReply r = Admin("POST", "/v1/events", body);
  std::vector<std::string> ids;
  simdjson::dom::parser parser;
  auto doc = ParseJson(r.body, parser);
  simdjson::dom::array arr;
  if (r.status != 202 || !doc.ok() || (*doc)["ids"].get_array().get(arr)) return ids;
  for (simdjson::dom::element e : arr) {
    std::string_view id;
    if (e.get_string().get(id) == simdjson::SUCCESS) ids.emplace_back(id);
  }
  return ids;
}

std::string SdkServer::DeliveryState(const std::string& id, const std::string& consumer) {
  HttpReply r = Admin("GET", "/v1/events/" + id);
  simdjson::dom::parser parser;
  auto doc = ParseJson(r.body, parser);
  simdjson::dom::array deliveries;
  if (r.status != 200 || !doc.ok() || (*doc)["deliveries"].get_array().get(deliveries)) return "";
  for (simdjson::dom::element d : deliveries) {
    std::string_view c, state;
    if (d["consumer"].get_string().get(c) == simdjson::SUCCESS && c == consumer &&
        d["state"].get_string().get(state) == simdjson::SUCCESS) {
      return std::string(state);
    }
  }
  return "";
}

}  // namespace eragon::sdk::testing
