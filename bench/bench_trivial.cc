// trivial_rps: the same load against an endpoint of the same HTTP stack (eragon_http)
// that does no work, so the publish number reads as a ratio that holds on a noisy box.
#include <chrono>
#include <cstdio>
#include <thread>

#include "bench/bench_flags.h"
#include "http/http_server.h"

namespace eragon::bench {

namespace {

void AddTrivialRoute(http::Router& router) {
  router.Post("/v1/events", [](http::HttpRequest&&, http::Responder respond) {
    respond(http::HttpResponse::Json(202, R"({"ids":["x"],"duplicates":[false]})"));
  });
}

// --serve-only: just the trivial server, for external load tools such as wrk.
int ServeOnly(int server_threads, uint16_t port, double seconds) {
  http::Router router;
  AddTrivialRoute(router);
  http::HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.io_threads = server_threads;
  http::HttpServer server(options, &router);
  if (Status st = server.Start(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench trivial: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("trivial endpoint: POST http://127.0.0.1:%u/v1/events for %.0f s\n", server.port(),
              seconds);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  server.Stop(std::chrono::seconds(1));
  return 0;
}

}  // namespace

Result<LoadResult> RunTrivial(const CommonSettings& settings, const RequestBuilder& builder) {
  http::Router router;
  AddTrivialRoute(router);
  http::HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = settings.server_threads;
  http::HttpServer server(options, &router);
  ERAGON_RETURN_IF_ERROR(server.Start());

  LoadOptions load = settings.load;
  load.endpoint = Endpoint{"127.0.0.1", server.port()};
  load.request_rate = 0;
  LoadGenerator generator(load, builder);
  Result<LoadResult> result = generator.Run();
  server.Stop(std::chrono::seconds(2));
  return result;
}

int TrivialMain(Flags& flags) {
  CommonSettings settings = ReadCommonSettings(flags);
  std::string event_type = flags.GetString("event-type", "bench.event");
  bool serve_only = flags.GetBool("serve-only");
  auto port = static_cast<uint16_t>(flags.GetInt("port", 0));
  if (Status st = flags.CheckAllUsed(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench trivial: %s\n", st.message().c_str());
    return 2;
  }
  if (serve_only) return ServeOnly(settings.server_threads, port, settings.load.duration_s);
  RequestBuilder builder = MakePublishBuilder(Endpoint{"127.0.0.1", 0}, "trivial-token", event_type,
                                              settings.batch, settings.event_bytes);
  std::printf(
      "trivial endpoint (eragon_http, %d io threads), %d connections, %d client "
      "threads, batch %d, %d-byte events, %.0f s (+%.0f s warm-up)\n",
      settings.server_threads, settings.load.connections, settings.load.threads, settings.batch,
      settings.event_bytes, settings.load.duration_s, settings.load.warmup_s);
  Result<LoadResult> r = RunTrivial(settings, builder);
  if (!r.ok()) {
    std::fprintf(stderr, "eragon-bench trivial: %s\n", r.status().ToString().c_str());
    return 1;
  }
  PrintTableHeader();
  PrintTableRow("trivial", *r);
  const LatencyHistogram& h = r->latency_ns;
  std::printf(
      "trivial_rps=%.0f connections=%d client_threads=%d server_threads=%d batch=%d "
      "event_bytes=%d p50_ms=%s p99_ms=%s p999_ms=%s max_ms=%s non2xx=%llu errors=%llu\n",
      r->requests_per_s(), settings.load.connections, settings.load.threads,
      settings.server_threads, settings.batch, settings.event_bytes,
      Ms(h.ValueAtPercentile(50)).c_str(), Ms(h.ValueAtPercentile(99)).c_str(),
      Ms(h.ValueAtPercentile(99.9)).c_str(), Ms(h.max()).c_str(),
      static_cast<unsigned long long>(r->requests_failed),
      static_cast<unsigned long long>(r->transport_errors));
  return r->requests_ok > 0 ? 0 : 1;
}

}  // namespace eragon::bench
