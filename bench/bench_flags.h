// Command-line flags of eragon-bench ("--name value" or "--name=value"; a flag without a
// value is "true") and the subcommands built on them.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "bench/bench_load_generator.h"
#include "eragon/status.h"

namespace eragon::bench {

class Flags {
 public:
  // Parses argv[first..]. Unknown flags are detected later by CheckAllUsed().
  static Result<Flags> Parse(int argc, char** argv, int first);

  std::string GetString(const std::string& name, const std::string& fallback);
  double GetDouble(const std::string& name, double fallback);
  int64_t GetInt(const std::string& name, int64_t fallback);
  bool GetBool(const std::string& name);
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // An error naming the first flag that no Get* asked about (a typo, most likely).
  Status CheckAllUsed() const;
  // A numeric flag that failed to parse, recorded by GetDouble/GetInt.
  const Status& parse_error() const { return parse_error_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
  Status parse_error_;
};

// Load settings shared by every subcommand: --connections, --threads, --duration,
// --warmup, --batch, --event-bytes.
struct CommonSettings {
  LoadOptions load;
  int batch = 1;
  int event_bytes = 1024;
  int server_threads = 2;  // io threads of the in-process trivial server
};
CommonSettings ReadCommonSettings(Flags& flags);

// Publish-request bytes for a load run: POST /v1/events with one event, or
// {"events":[...]} when batch > 1. Ids are unique per run (a random run prefix), entity
// ids spread over 100,000 entities.
RequestBuilder MakePublishBuilder(const Endpoint& endpoint, std::string token,
                                  std::string event_type, int batch, int event_bytes);

// Runs the same load against an in-process eragon_http server whose only route,
// POST /v1/events, answers 202 {"ids":["x"],"duplicates":[false]} and does nothing else.
// Always closed loop (it measures capacity), whatever request_rate says.
Result<LoadResult> RunTrivial(const CommonSettings& settings, const RequestBuilder& builder);

// Human-readable result row and the machine-readable key=value fields.
void PrintTableHeader();
void PrintTableRow(std::string_view name, const LoadResult& r);
std::string Ms(uint64_t ns);  // "0.123"

int PublishMain(Flags& flags);  // eragon-bench publish
// eragon-bench publish --tls: plain HTTP against HTTPS, two eragond children (bench_publish_tls.cc)
int PublishTlsMain(Flags& flags);
int TrivialMain(Flags& flags);  // eragon-bench trivial
int DeliverMain(Flags& flags);  // eragon-bench deliver (bench_deliver.cc)
int FilterMain(Flags& flags);   // eragon-bench filter (bench_filter.cc)
int SagaMain(Flags& flags);     // eragon-bench saga (bench_saga.cc)
int ClusterMain(Flags& flags);  // eragon-bench cluster (bench_cluster.cc)

}  // namespace eragon::bench
