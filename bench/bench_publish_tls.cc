// eragon-bench publish --tls: the same publish load against two eragond children of this
// run, one serving plain HTTP and one HTTPS (a throw-away self-signed P-256 certificate
// made with the openssl command), and the ratio of the two.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "bench/bench_deliver_env.h"
#include "bench/bench_flags.h"
#include "http/http_client.h"

namespace eragon::bench {
namespace {

constexpr const char* kType = "bench.event";

std::string EragondNextToMe() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "build/bin/eragond" : (self.parent_path() / "eragond").string();
}

// cert.pem (its own CA) and key.pem for 127.0.0.1 under `dir`.
Status MakeCertificate(const std::string& dir) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return Status::Unavailable("openssl req failed: " + cmd);
  return Status::Ok();
}

// Spawns eragond (HTTPS when `ca` is set), routes the benchmark type and runs the load.
Result<LoadResult> RunAgainst(const std::string& binary, const std::string& fsync,
                              const std::string& ca, const std::string& key,
                              CommonSettings settings) {
  std::vector<std::string> args;
  if (!ca.empty()) args = {"--tls-cert", ca, "--tls-key", key};
  ERAGON_ASSIGN_OR_RETURN(auto server, EragondProcess::Spawn(binary, fsync, args, false));
  HttpClientOptions co;
  co.tls.ca_file = ca;
  HttpClient client(server->url(), co);
  ERAGON_ASSIGN_OR_RETURN(HttpReply r,
                          client.Request("PUT", std::string("/v1/routes/") + kType + "/producer",
                                         R"({"producer":"eragon-bench"})",
                                         {{"Authorization", "Bearer " + server->token()}}));
  if (r.status != 201) return Status::Unavailable("route set-up answered " + r.body);
  Endpoint endpoint{
      "127.0.0.1",
      static_cast<uint16_t>(std::stoi(server->url().substr(server->url().rfind(':') + 1)))};
  settings.load.endpoint = endpoint;
  settings.load.tls_ca_file = ca;
  RequestBuilder builder =
      MakePublishBuilder(endpoint, server->token(), kType, settings.batch, settings.event_bytes);
  Result<LoadResult> result = LoadGenerator(settings.load, builder).Run();
  ERAGON_RETURN_IF_ERROR(server->Stop());
  return result;
}

}  // namespace

int PublishTlsMain(Flags& flags) {
  CommonSettings settings = ReadCommonSettings(flags);
  std::string fsync = flags.GetString("fsync", "always");
  std::string binary = flags.GetString("eragond", EragondNextToMe());
  if (Status st = flags.CheckAllUsed(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench publish --tls: %s\n", st.message().c_str());
    return 2;
  }
  std::string dir =
      (std::filesystem::temp_directory_path() / ("eragon-bench-tls-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  Status st = MakeCertificate(dir);
  Result<LoadResult> plain = st.ok() ? RunAgainst(binary, fsync, "", "", settings) : st;
  Result<LoadResult> tls =
      plain.ok() ? RunAgainst(binary, fsync, dir + "/cert.pem", dir + "/key.pem", settings)
                 : plain.status();
  std::filesystem::remove_all(dir);
  if (!tls.ok()) {
    std::fprintf(stderr, "eragon-bench publish --tls: %s\n", tls.status().ToString().c_str());
    return 1;
  }
  PrintTableHeader();
  PrintTableRow("eragond publish, http", *plain);
  PrintTableRow("eragond publish, https", *tls);
  double ratio = plain->events_per_s() > 0 ? tls->events_per_s() / plain->events_per_s() : 0;
  std::printf(
      "http_events_per_s=%.0f https_events_per_s=%.0f https_vs_http=%.3f http_p99_ms=%s "
      "https_p99_ms=%s errors=%llu connections=%d batch=%d event_bytes=%d fsync=%s\n",
      plain->events_per_s(), tls->events_per_s(), ratio,
      Ms(plain->latency_ns.ValueAtPercentile(99)).c_str(),
      Ms(tls->latency_ns.ValueAtPercentile(99)).c_str(),
      static_cast<unsigned long long>(plain->transport_errors + tls->transport_errors),
      settings.load.connections, settings.batch, settings.event_bytes, fsync.c_str());
  return plain->requests_ok > 0 && tls->requests_ok > 0 ? 0 : 1;
}

}  // namespace eragon::bench
