// eragon-bench publish: POST /v1/events load against a running eragond, then the same
// load against the trivial endpoint, and the ratio of the two.
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "bench/bench_flags.h"

namespace eragon::bench {
namespace {

// A random prefix so that ids of one run never collide with an earlier run's (which
// the server would answer as duplicates without storing anything).
std::string RunPrefix() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%012llx",
                static_cast<unsigned long long>(v & 0xffffffffffffULL));
  return std::string("b") + buf;
}

void AppendEvent(std::string& out, const std::string& prefix, const std::string& event_type,
                 uint64_t n, int event_bytes) {
  size_t start = out.size();
  out.append(R"({"id":")").append(prefix).append("-").append(std::to_string(n));
  out.append(R"(","event_type":")").append(event_type);
  // Knuth's multiplicative hash spreads consecutive events over the entities.
  out.append(R"(","entity_id":"entity-)").append(std::to_string((n * 2654435761ULL) % 100000));
  out.append(R"(","data":{"pad":")");
  size_t so_far = out.size() - start + 3;  // + closing "}}
  if (static_cast<size_t>(event_bytes) > so_far) out.append(event_bytes - so_far, 'x');
  out.append(R"("}})");
}

std::string ReadToken(Flags& flags) {
  std::string token = flags.GetString("token", "");
  std::string data_dir = flags.GetString("data-dir", "");
  if (token.empty() && !data_dir.empty()) {
    std::ifstream in(data_dir + "/admin.token");
    std::stringstream ss;
    ss << in.rdbuf();
    token = ss.str();
  }
  if (token.empty()) {
    if (const char* env = std::getenv("ERAGON_TOKEN")) token = env;
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return token;
}

std::string RequestHead(std::string_view method, std::string_view path, const Endpoint& e,
                        const std::string& token, size_t content_length) {
  std::string h;
  h.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(e.host);
  h.append(":").append(std::to_string(e.port));
  h.append("\r\nContent-Type: application/json\r\n");
  if (!token.empty()) h.append("Authorization: Bearer ").append(token).append("\r\n");
  h.append("Content-Length: ").append(std::to_string(content_length)).append("\r\n\r\n");
  return h;
}

Status SetupRoute(const Endpoint& e, const std::string& token, const std::string& event_type,
                  const std::string& producer) {
  std::string body = R"({"producer":")" + producer + R"(","channel":"embedded"})";
  std::string req =
      RequestHead("PUT", "/v1/routes/" + event_type + "/producer", e, token, body.size()) + body;
  ERAGON_ASSIGN_OR_RETURN(SimpleResponse r, SendOnce(e, req));
  if (r.status != 200 && r.status != 201) {
    return Status::Unavailable("PUT /v1/routes/" + event_type + "/producer answered " +
                               std::to_string(r.status) + ": " + r.body);
  }
  return Status::Ok();
}

}  // namespace

RequestBuilder MakePublishBuilder(const Endpoint& endpoint, std::string token,
                                  std::string event_type, int batch, int event_bytes) {
  std::string prefix = RunPrefix();
  std::string head = "POST /v1/events HTTP/1.1\r\nHost: " + endpoint.host + ":" +
                     std::to_string(endpoint.port) + "\r\nContent-Type: application/json\r\n";
  if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
  head += "Content-Length: ";
  return [=](uint64_t seq, std::string& out) {
    thread_local std::string body;
    body.clear();
    if (batch == 1) {
      AppendEvent(body, prefix, event_type, seq, event_bytes);
    } else {
      body.append(R"({"events":[)");
      for (int i = 0; i < batch; ++i) {
        if (i > 0) body.push_back(',');
        AppendEvent(body, prefix, event_type, seq * static_cast<uint64_t>(batch) + i, event_bytes);
      }
      body.append("]}");
    }
    out.append(head).append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    return BuiltRequest{batch, body.size()};
  };
}

int PublishMain(Flags& flags) {
  if (flags.GetBool("tls")) return PublishTlsMain(flags);
  CommonSettings settings = ReadCommonSettings(flags);
  std::string url = flags.GetString("url", "http://127.0.0.1:7070");
  std::string token = ReadToken(flags);
  std::string event_type = flags.GetString("event-type", "bench.event");
  std::string producer = flags.GetString("producer", "eragon-bench");
  double rate = flags.GetDouble("rate", 0);
  bool setup = flags.GetBool("setup-route");
  bool skip_trivial = flags.GetBool("skip-trivial");
  if (Status st = flags.CheckAllUsed(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench publish: %s\n", st.message().c_str());
    return 2;
  }
  Result<Endpoint> endpoint = ParseHttpUrl(url);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "eragon-bench publish: %s\n", endpoint.status().message().c_str());
    return 2;
  }
  if (setup) {
    if (Status st = SetupRoute(*endpoint, token, event_type, producer); !st.ok()) {
      std::fprintf(stderr, "eragon-bench publish: --setup-route: %s\n", st.message().c_str());
      return 1;
    }
  }
  settings.load.endpoint = *endpoint;
  settings.load.request_rate = rate > 0 ? rate / settings.batch : 0;
  RequestBuilder builder =
      MakePublishBuilder(*endpoint, token, event_type, settings.batch, settings.event_bytes);

  std::printf(
      "publish to %s: %d connections, %d client threads, batch %d, %d-byte events, "
      "%.0f s (+%.0f s warm-up), rate %s\n",
      url.c_str(), settings.load.connections, settings.load.threads, settings.batch,
      settings.event_bytes, settings.load.duration_s, settings.load.warmup_s,
      rate > 0 ? (std::to_string(static_cast<int64_t>(rate)) + " events/s").c_str() : "unlimited");
  Result<LoadResult> real = LoadGenerator(settings.load, builder).Run();
  if (!real.ok()) {
    std::fprintf(stderr, "eragon-bench publish: %s\n", real.status().ToString().c_str());
    return 1;
  }
  LoadResult trivial;
  if (!skip_trivial) {
    Result<LoadResult> t = RunTrivial(settings, builder);
    if (!t.ok()) {
      std::fprintf(stderr, "eragon-bench publish: trivial run: %s\n",
                   t.status().ToString().c_str());
      return 1;
    }
    trivial = std::move(*t);
  }

  PrintTableHeader();
  PrintTableRow("eragond publish", *real);
  if (!skip_trivial) PrintTableRow("trivial (same stack)", trivial);

  const LatencyHistogram& h = real->latency_ns;
  double trivial_rps = trivial.requests_per_s();
  // Request rate over request rate: the two runs send identical requests.
  double ratio = trivial_rps > 0 ? real->requests_per_s() / trivial_rps : 0;
  std::printf(
      "events_per_s=%.0f requests_per_s=%.0f trivial_rps=%.0f ratio_vs_trivial=%.3f "
      "%s=%.2f p50_ms=%s p99_ms=%s p999_ms=%s max_ms=%s non2xx=%llu errors=%llu "
      "connections=%d batch=%d event_bytes=%d rate=%.0f\n",
      real->events_per_s(), real->requests_per_s(), trivial_rps, ratio,
      settings.batch > 1 ? "batch_mb_per_s" : "mb_per_s", real->mb_per_s(),
      Ms(h.ValueAtPercentile(50)).c_str(), Ms(h.ValueAtPercentile(99)).c_str(),
      Ms(h.ValueAtPercentile(99.9)).c_str(), Ms(h.max()).c_str(),
      static_cast<unsigned long long>(real->requests_failed),
      static_cast<unsigned long long>(real->transport_errors), settings.load.connections,
      settings.batch, settings.event_bytes, rate);
  return real->requests_ok > 0 ? 0 : 1;
}

}  // namespace eragon::bench
