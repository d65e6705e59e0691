// Shared pieces of the integration tests: a fixture that runs one eragond per test,
// request helpers, and JSON inspection of answers.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/http_client.h"
#include "testing/server_process.h"

#ifndef ERAGOND_PATH
#error "ERAGOND_PATH must name the eragond binary"
#endif

namespace eragon::testing {

// A parsed JSON document that owns its parser. ok() is false when the text is not JSON.
class Json {
 public:
  explicit Json(std::string_view text);
  bool ok() const { return ok_; }
  simdjson::dom::element root() const { return root_; }
  // The element at a path of object keys and array indexes ("items", 0, "id"), or null.
  std::optional<simdjson::dom::element> At(std::initializer_list<std::string_view> path) const;
  // The string at `path`, or "" (not found / not a string).
  std::string Str(std::initializer_list<std::string_view> path) const;
  std::optional<int64_t> Int(std::initializer_list<std::string_view> path) const;
  std::optional<bool> Bool(std::initializer_list<std::string_view> path) const;
  // The length of the array at `path`, or -1.
  int64_t Len(std::initializer_list<std::string_view> path) const;

 private:
  std::string text_;
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

// The raw bytes of the value at "event"."data" (or `key` of the root object) as they
// appear in `body`, found by simdjson On-Demand after a full DOM validation.
std::optional<std::string> RawEventData(const std::string& body);

// A GET /v1/routes answer without the built-in platform event routes (producer `eragon`,
// API.md "Platform events"), for tests that count or index the routes they made.
std::string WithoutPlatformRoutes(const std::string& routes_body);

// The error code of an API error answer, or a description of why it is not one.
std::string ErrorCode(const HttpReply& reply);
// "status body" for failure messages.
std::string Describe(const HttpReply& reply);

// Percent-encodes a query value or path segment.
std::string UrlEncode(std::string_view s);
// `s` as a JSON string literal.
std::string Quote(std::string_view s);

// A minimal event; `data` is raw JSON text.
std::string EventJson(const std::string& type, const std::string& entity, const std::string& data,
                      const std::string& id = "");

// Polls `done` every 20 ms until it holds or `limit` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& done, std::chrono::seconds limit);

// The shared test broker's address: ERAGON_TEST_KAFKA_BOOTSTRAP, else the first line of
// the file ERAGON_TEST_KAFKA_FILE names (the ctest fixture kafka_broker writes it), else "".
std::string KafkaBootstrap();

// A cluster node's flags: the config store `url` and the test broker, under topic prefix
// `prefix` (each test its own: NewTopicPrefix).
std::vector<std::string> ClusterArgs(const std::string& url, const std::string& prefix);
// A fresh Kafka topic prefix, `tag` + a random number + ".".
std::string NewTopicPrefix(const std::string& tag = "pg");

// Asserts an API error answer: exact status and error code.
#define EXPECT_API_ERROR(reply, want_status, want_code)                                        \
  do {                                                                                         \
    const ::eragon::HttpReply& _r = (reply);                                                   \
    EXPECT_EQ(_r.status, want_status) << ::eragon::testing::Describe(_r);                      \
    EXPECT_EQ(::eragon::testing::ErrorCode(_r), want_code) << ::eragon::testing::Describe(_r); \
  } while (0)

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Flags for eragond besides the standard ones (a fixture may add some).
  virtual std::vector<std::string> ExtraArgs() { return {}; }
  // Stops (SIGTERM, exit 0 required) or kills, then starts again on the same data dir.
  void Restart(bool kill = false);

  // One request; a transport failure is a test failure and yields status 0.
  // `token` "" sends no Authorization header.
  HttpReply Call(const std::string& token, std::string_view method, const std::string& path,
                 std::string_view body = {}, const HttpHeaders& headers = {});
  HttpReply Admin(std::string_view method, const std::string& path, std::string_view body = {},
                  const HttpHeaders& headers = {}) {
    return Call(server_->admin_token(), method, path, body, headers);
  }

  // Creates (or rotates) a service with the given roles; returns its token.
  std::string CreateService(const std::string& name, const std::vector<std::string>& roles);
  // PUTs a producer destination; `extra` is more members, e.g. R"("topic":"t")".
  void SetProducer(const std::string& type, const std::string& producer,
                   const std::string& extra = "");
  // Publishes as admin; expects 202 and returns the ids.
  std::vector<std::string> PublishOk(std::string_view body, const HttpHeaders& headers = {});
  // Number of events of `type` in GET /v1/events?event_type=, following `next` cursors.
  // Also fails the test when an id shows up twice.
  int64_t CountEvents(const std::string& type);
  // GET /v1/events/{id} status as admin.
  int GetStatus(const std::string& id);

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace eragon::testing
