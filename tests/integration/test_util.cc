#include "test_util.h"

#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "core/json.h"

namespace eragon::testing {

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

Json::Json(std::string_view text)
    : text_(text), parser_(std::make_unique<simdjson::dom::parser>()) {
  auto parsed = ParseJson(text_, *parser_);  // full validation; big numbers allowed
  ok_ = parsed.ok();
  if (ok_) root_ = *parsed;
}

std::optional<simdjson::dom::element> Json::At(std::initializer_list<std::string_view> path) const {
  if (!ok_) return std::nullopt;
  simdjson::dom::element cur = root_;
  for (std::string_view key : path) {
    simdjson::dom::element next;
    if (cur.is_array()) {
      if (key.empty() || key.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
      }
      if (cur.at(std::stoul(std::string(key))).get(next)) return std::nullopt;
    } else if (cur.at_key(key).get(next)) {
      return std::nullopt;
    }
    cur = next;
  }
  return cur;
}

std::string Json::Str(std::initializer_list<std::string_view> path) const {
  auto e = At(path);
  std::string_view s;
  if (!e || e->get(s)) return "";
  return std::string(s);
}

std::optional<int64_t> Json::Int(std::initializer_list<std::string_view> path) const {
  auto e = At(path);
  int64_t v;
  if (!e || e->get(v)) return std::nullopt;
  return v;
}

std::optional<bool> Json::Bool(std::initializer_list<std::string_view> path) const {
  auto e = At(path);
  bool v;
  if (!e || e->get(v)) return std::nullopt;
  return v;
}

int64_t Json::Len(std::initializer_list<std::string_view> path) const {
  auto e = At(path);
  simdjson::dom::array a;
  if (!e || e->get(a)) return -1;
  return static_cast<int64_t>(a.size());
}

std::optional<std::string> RawEventData(const std::string& body) {
  if (!Json(body).ok()) return std::nullopt;  // On-Demand does not validate what it skips
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return std::nullopt;
  simdjson::ondemand::value data;
  if (doc["event"]["data"].get(data)) return std::nullopt;
  simdjson::ondemand::json_type type;
  if (data.type().get(type)) return std::nullopt;
  std::string_view raw;
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object o;
    if (data.get_object().get(o) || o.raw_json().get(raw)) return std::nullopt;
  } else if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array a;
    if (data.get_array().get(a) || a.raw_json().get(raw)) return std::nullopt;
  } else {
    raw = data.raw_json_token();
  }
  while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.back()))) {
    raw.remove_suffix(1);
  }
  return std::string(raw);
}

std::string WithoutPlatformRoutes(const std::string& routes_body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(routes_body).get(root)) return routes_body;
  std::string out = "{\"producers\":[";
  simdjson::dom::array producers;
  bool first = true;
  if (!root["producers"].get(producers)) {
    for (simdjson::dom::element p : producers) {
      std::string_view producer;
      if (!p["producer"].get(producer) && producer == "eragon") continue;
      out += (first ? "" : ",") + simdjson::minify(p);
      first = false;
    }
  }
  out += "],\"consumers\":";
  simdjson::dom::element consumers;
  out += root["consumers"].get(consumers) ? "[]" : simdjson::minify(consumers);
  return out + "}";
}

std::string ErrorCode(const HttpReply& reply) {
  Json j(reply.body);
  if (!j.ok()) return "<body is not JSON>";
  std::string code = j.Str({"error", "code"});
  if (code.empty()) return "<no error.code>";
  if (j.Str({"error", "message"}).empty()) return code + " <but no error.message>";
  return code;
}

std::string Describe(const HttpReply& reply) {
  std::string body = reply.body.size() > 600 ? reply.body.substr(0, 600) + "..." : reply.body;
  return "answer: HTTP " + std::to_string(reply.status) + " " + body;
}

std::string EventJson(const std::string& type, const std::string& entity, const std::string& data,
                      const std::string& id) {
  std::string out = "{";
  if (!id.empty()) out += "\"id\":" + Quote(id) + ",";
  out += "\"event_type\":" + Quote(type) + ",\"entity_id\":" + Quote(entity) + ",\"data\":" + data +
         "}";
  return out;
}

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string KafkaBootstrap() {
  if (const char* b = std::getenv("ERAGON_TEST_KAFKA_BOOTSTRAP")) return b;
  std::string out;
  if (const char* f = std::getenv("ERAGON_TEST_KAFKA_FILE")) std::getline(std::ifstream(f), out);
  return out;
}

std::vector<std::string> ClusterArgs(const std::string& url, const std::string& prefix) {
  return {"--config-store",       url,   "--kafka-brokers", KafkaBootstrap(),
          "--kafka-topic-prefix", prefix};
}

std::string NewTopicPrefix(const std::string& tag) {
  static std::mt19937_64 rng(std::random_device{}());
  return tag + std::to_string(rng() % 1000000000) + ".";
}

void ServerTest::SetUp() {
  // ERAGON_TEST_ERAGOND runs the suite against another build (e.g. ASan or TSan) of eragond.
  const char* binary = std::getenv("ERAGON_TEST_ERAGOND");
  server_ = std::make_unique<ServerProcess>(binary && *binary ? binary : ERAGOND_PATH, ExtraArgs());
  Status st = server_->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  client_ = std::make_unique<HttpClient>(server_->url());
}

void ServerTest::TearDown() {
  if (HasFailure() && server_) {
    std::cerr << "data dir: " << server_->data_dir() << "\n" << server_->Logs();
  }
}

void ServerTest::Restart(bool kill) {
  Status st = server_->Restart(kill);
  ASSERT_TRUE(st.ok()) << st.ToString();
  client_ = std::make_unique<HttpClient>(server_->url());
}

HttpReply ServerTest::Call(const std::string& token, std::string_view method,
                           const std::string& path, std::string_view body,
                           const HttpHeaders& headers) {
  HttpHeaders h = headers;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  auto r = client_->Request(method, path, body, h);
  if (!r.ok()) {
    ADD_FAILURE() << method << " " << path << ": " << r.status().ToString();
    return HttpReply{};
  }
  return std::move(r).value();
}

std::string ServerTest::CreateService(const std::string& name,
                                      const std::vector<std::string>& roles) {
  std::string body = "{\"roles\":[";
  for (size_t i = 0; i < roles.size(); ++i) body += (i ? "," : "") + Quote(roles[i]);
  body += "]}";
  HttpReply r = Admin("PUT", "/v1/services/" + name, body);
  EXPECT_TRUE(r.status == 201 || r.status == 200)
      << "PUT /v1/services/" << name << " " << Describe(r);
  std::string token = Json(r.body).Str({"token"});
  EXPECT_FALSE(token.empty()) << Describe(r);
  return token;
}

void ServerTest::SetProducer(const std::string& type, const std::string& producer,
                             const std::string& extra) {
  std::string body = "{\"producer\":" + Quote(producer) + (extra.empty() ? "" : ",") + extra + "}";
  HttpReply r = Admin("PUT", "/v1/routes/" + type + "/producer", body);
  EXPECT_TRUE(r.status == 201 || r.status == 200)
      << "PUT /v1/routes/" << type << "/producer " << body << " " << Describe(r);
}

std::vector<std::string> ServerTest::PublishOk(std::string_view body, const HttpHeaders& headers) {
  HttpReply r = Admin("POST", "/v1/events", body, headers);
  EXPECT_EQ(r.status, 202) << "publish " << body.substr(0, 300) << " " << Describe(r);
  std::vector<std::string> ids;
  Json j(r.body);
  for (int64_t i = 0, n = j.Len({"ids"}); i < n; ++i) {
    ids.push_back(j.Str({"ids", std::to_string(i)}));
  }
  return ids;
}

int64_t ServerTest::CountEvents(const std::string& type) {
  std::set<std::string> seen;
  int64_t count = 0;
  std::string after;
  for (int page = 0; page < 10'000; ++page) {
    std::string path = "/v1/events?event_type=" + type + "&limit=1000";
    if (!after.empty()) path += "&after=" + after;
    HttpReply r = Admin("GET", path);
    if (r.status != 200) {
      ADD_FAILURE() << "GET " << path << " " << Describe(r);
      return -1;
    }
    Json j(r.body);
    int64_t n = j.Len({"items"});
    if (n < 0) {
      ADD_FAILURE() << "GET " << path << ": no items array; " << Describe(r);
      return -1;
    }
    for (int64_t i = 0; i < n; ++i) {
      std::string id = j.Str({"items", std::to_string(i), "id"});
      EXPECT_EQ(j.Str({"items", std::to_string(i), "event_type"}), type) << id;
      EXPECT_TRUE(seen.insert(id).second) << "event id " << id << " listed twice";
      ++count;
    }
    auto next = j.At({"next"});
    if (!next) {
      ADD_FAILURE() << "GET " << path << ": no 'next' member; " << Describe(r);
      return count;
    }
    if (next->is_null()) return count;
    std::string_view cursor;
    if (next->get(cursor) || cursor.empty()) {
      ADD_FAILURE() << "'next' is neither null nor a cursor string: " << Describe(r);
      return count;
    }
    after = UrlEncode(cursor);
  }
  ADD_FAILURE() << "listing of " << type << " does not end";
  return count;
}

int ServerTest::GetStatus(const std::string& id) { return Admin("GET", "/v1/events/" + id).status; }

}  // namespace eragon::testing
