// eragon-bench compare: the rounds (systems alternating A B C within every workload of
// every round), the medians, spreads and ratios, the table and its results file.
#include "bench/bench_compare.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

namespace eragon::bench {
namespace {

constexpr const char* kSystems[] = {"eragon", "redis", "nats"};

struct CompareConfig {
  CompareSettings settings;
  std::string eragon, eragon_token, eragon_relaxed, eragon_relaxed_token;
  std::string redis, redis_relaxed, nats;
  int rounds = 3;
  std::vector<Workload> workloads;
  std::string out, note, command;
};

Result<std::vector<Workload>> ParseWorkloads(const std::string& list) {
  std::vector<Workload> out;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) {
    bool found = false;
    for (Workload w : {Workload::kPublish, Workload::kRelaxed, Workload::kBatch, Workload::kConsume,
                       Workload::kLatency}) {
      if (name == WorkloadName(w)) {
        out.push_back(w);
        found = true;
      }
    }
    if (!found) return Status::InvalidArgument("unknown workload '" + name + "'");
  }
  return out;
}

Result<CompareConfig> ReadConfig(Flags& f) {
  CompareConfig c;
  CompareSettings& s = c.settings;
  c.eragon = f.GetString("eragon", "");
  c.eragon_token = f.GetString("eragon-token", "");
  c.eragon_relaxed = f.GetString("eragon-relaxed", "");
  c.eragon_relaxed_token = f.GetString("eragon-relaxed-token", "");
  c.redis = f.GetString("redis", "");
  c.redis_relaxed = f.GetString("redis-relaxed", "");
  c.nats = f.GetString("nats", "");
  c.rounds = static_cast<int>(std::max<int64_t>(1, f.GetInt("rounds", 3)));
  c.out = f.GetString("out", "");
  c.note = f.GetString("note", "");
  c.command = f.GetString("command", "");
  s.clients = static_cast<int>(std::max<int64_t>(1, f.GetInt("clients", s.clients)));
  s.batch_clients =
      static_cast<int>(std::max<int64_t>(1, f.GetInt("batch-clients", s.batch_clients)));
  s.batch = static_cast<int>(std::clamp<int64_t>(f.GetInt("batch", s.batch), 1, 1000));
  s.event_bytes =
      static_cast<int>(std::clamp<int64_t>(f.GetInt("event-bytes", s.event_bytes), 100, 1 << 20));
  s.client_threads = static_cast<int>(std::max<int64_t>(1, f.GetInt("threads", s.client_threads)));
  s.nats_connections =
      static_cast<int>(std::max<int64_t>(1, f.GetInt("nats-connections", s.nats_connections)));
  s.duration_s = f.GetDouble("duration", s.duration_s);
  s.warmup_s = f.GetDouble("warmup", s.warmup_s);
  s.backlog = std::max<int64_t>(1, f.GetInt("backlog", s.backlog));
  s.consumers = static_cast<int>(std::max<int64_t>(1, f.GetInt("consumers", s.consumers)));
  s.latency_rate = f.GetDouble("rate", s.latency_rate);
  s.latency_duration_s = f.GetDouble("latency-duration", s.latency_duration_s);
  s.phase_timeout_s = f.GetDouble("phase-timeout", s.phase_timeout_s);
  s.eragon_latency_mode = f.GetString("eragon-latency", s.eragon_latency_mode);
  s.eragon_channel = f.GetString("eragon-channel", s.eragon_channel);
  std::string workloads = f.GetString("workloads", "publish,relaxed,batch,consume,latency");
  ERAGON_RETURN_IF_ERROR(f.CheckAllUsed());
  if (s.eragon_latency_mode != "push" && s.eragon_latency_mode != "pull") {
    return Status::InvalidArgument("--eragon-latency is push or pull");
  }
  ERAGON_ASSIGN_OR_RETURN(c.workloads, ParseWorkloads(workloads));
  if (c.eragon.empty() && c.redis.empty() && c.nats.empty() && c.eragon_relaxed.empty() &&
      c.redis_relaxed.empty()) {
    return Status::InvalidArgument(
        "give at least one of --eragon, --redis, --nats, --eragon-relaxed, --redis-relaxed");
  }
  return c;
}

std::string RunTag() {
  std::random_device rd;
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06x", rd() & 0xffffff);
  return buf;
}

// The systems of one tier: [eragon, redis, nats], null where not given.
using Tier = std::vector<std::unique_ptr<TestedSystem>>;

Result<Tier> MakeTier(const std::string& eragon, const std::string& token, const std::string& redis,
                      const std::string& nats) {
  Tier t(3);
  if (!eragon.empty()) {
    ERAGON_ASSIGN_OR_RETURN(t[0], MakeEragonSystem(eragon, token));
  }
  if (!redis.empty()) {
    ERAGON_ASSIGN_OR_RETURN(t[1], MakeRedisSystem(redis));
  }
  if (!nats.empty()) {
    ERAGON_ASSIGN_OR_RETURN(t[2], MakeNatsSystem(nats));
  }
  return t;
}

// ---- figures ----

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// What a row shows of one cell: events/s, or a latency percentile in ms.
double Figure(const CellResult& r, double percentile) {
  if (percentile == 0) return r.events_per_s;
  return static_cast<double>(r.latency.ValueAtPercentile(percentile)) / 1e6;
}

std::string Thousands(double v) {
  auto n = static_cast<long long>(v + 0.5);
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Format(double v, double percentile) {
  if (percentile == 0) return Thousands(v);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

using Results = std::map<std::pair<Workload, int>, std::vector<CellResult>>;

struct Summary {
  bool present = false;
  double median = 0, min = 0, max = 0;
  bool flawed = false;  // some cell incomplete or with errors
};

Summary Summarize(const Results& results, Workload w, int system, double percentile) {
  Summary s;
  auto it = results.find({w, system});
  if (it == results.end() || it->second.empty()) return s;
  std::vector<double> v;
  for (const CellResult& r : it->second) {
    v.push_back(Figure(r, percentile));
    s.flawed = s.flawed || !r.complete || r.errors > 0;
  }
  s.present = true;
  s.median = Median(v);
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

struct RowSpec {
  Workload workload;
  double percentile;  // 0: events/s
  std::string title;
  const char* key;  // ratio keys: ratio_<key>_redis, ratio_<key>_nats; null: no ratio
  double target_redis, target_nats;
};

std::vector<RowSpec> RowSpecs(const CompareSettings& s) {
  std::string c = std::to_string(s.clients), b = std::to_string(s.batch);
  std::string rate = Thousands(s.latency_rate);
  return {
      {Workload::kPublish, 0, "1 durable publish, " + c + " clients (events/s)", "publish", 1.0,
       3.0},
      {Workload::kRelaxed, 0, "2 relaxed publish, " + c + " clients (events/s)", "relaxed", 0, 0},
      {Workload::kBatch, 0,
       "3 batched publish, " + std::to_string(s.batch_clients) + " clients x " + b + " (events/s)",
       "batch", 1.0, 1.5},
      {Workload::kConsume, 0,
       "4 consume + ack, " + std::to_string(s.consumers) + " consumers x " + b + " (events/s)",
       "consume", 1.0, 1.5},
      {Workload::kLatency, 50, "5 publish->receive p50 @" + rate + "/s (ms)", nullptr, 0, 0},
      {Workload::kLatency, 99, "5 publish->receive p99 @" + rate + "/s (ms)", "latency_p99", 1.0,
       1.0},
      {Workload::kLatency, 99.9, "5 publish->receive p99.9 @" + rate + "/s (ms)", nullptr, 0, 0},
  };
}

std::string Cell(const Summary& s, double percentile) {
  if (!s.present) return "-";
  return Format(s.median, percentile) + " (" + Format(s.min, percentile) + "–" +
         Format(s.max, percentile) + ")" + (s.flawed ? " *" : "");
}

// "1.23x ok" / "0.80x MISSED (>= 1.0x)"; ratio 0 when either side is missing.
std::string RatioCell(double ratio, double target, bool lower_is_better) {
  if (ratio <= 0) return "-";
  char buf[64];
  // Two decimals, or three significant digits below 0.1 (a latency far under the peer's).
  const char* fmt = ratio < 0.1 ? "%.3gx" : "%.2fx";
  int n = std::snprintf(buf, sizeof(buf), fmt, ratio);
  if (target > 0 && n > 0) {
    bool met = lower_is_better ? ratio <= target : ratio >= target;
    std::snprintf(buf + n, sizeof(buf) - static_cast<size_t>(n), " %s (%s %.1fx)",
                  met ? "met" : "MISSED", lower_is_better ? "<=" : ">=", target);
  }
  return buf;
}

struct Report {
  std::string table;  // markdown
  std::string kv;     // the last line
};

Report BuildReport(const Results& results, const CompareSettings& s) {
  Report rep;
  rep.table =
      "| workload | Eragon | Redis Streams | NATS JetStream | Eragon/Redis | Eragon/JetStream |\n"
      "|---|---|---|---|---|---|\n";
  for (const RowSpec& row : RowSpecs(s)) {
    bool any = false;
    Summary sum[3];
    for (int i = 0; i < 3; ++i) {
      sum[i] = Summarize(results, row.workload, i, row.percentile);
      any = any || sum[i].present;
    }
    if (!any) continue;
    bool lower = row.percentile != 0;
    double ratio[3] = {0, 0, 0};
    for (int i = 1; i < 3; ++i) {
      if (sum[0].present && sum[i].present && sum[i].median > 0) {
        ratio[i] = sum[0].median / sum[i].median;
      }
    }
    rep.table += "| " + row.title + " | " + Cell(sum[0], row.percentile) + " | " +
                 Cell(sum[1], row.percentile) + " | " + Cell(sum[2], row.percentile) + " | " +
                 RatioCell(ratio[1], row.target_redis, lower) + " | " +
                 RatioCell(ratio[2], row.target_nats, lower) + " |\n";
    if (row.key == nullptr) continue;
    char buf[128];
    for (int i = 1; i < 3; ++i) {
      if (ratio[i] <= 0) continue;
      std::snprintf(buf, sizeof(buf), "ratio_%s_%s=%.3f ", row.key, kSystems[i], ratio[i]);
      rep.kv += buf;
    }
  }
  return rep;
}

std::string CellLine(int round, Workload w, int system, const CellResult& r) {
  char buf[320];
  const LatencyHistogram& h = r.latency;
  std::snprintf(buf, sizeof(buf),
                "round %d %-8s %-7s %10.0f events/s  p50 %s p99 %s p99.9 %s ms  events %llu%s "
                "errors %llu%s",
                round, WorkloadName(w), kSystems[system], r.events_per_s,
                Ms(h.ValueAtPercentile(50)).c_str(), Ms(h.ValueAtPercentile(99)).c_str(),
                Ms(h.ValueAtPercentile(99.9)).c_str(), static_cast<unsigned long long>(r.events),
                r.expected > 0 ? ("/" + std::to_string(r.expected)).c_str() : "",
                static_cast<unsigned long long>(r.errors), r.complete ? "" : " INCOMPLETE");
  std::string line = buf;
  if (r.publish_latency.count() > 0) {
    line += "  (publish answer p50 " + Ms(r.publish_latency.ValueAtPercentile(50)) + " p99 " +
            Ms(r.publish_latency.ValueAtPercentile(99)) + " ms)";
  }
  return line;
}

}  // namespace

int CompareMain(Flags& flags) {
  Result<CompareConfig> config = ReadConfig(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "eragon-bench compare: %s\n", config.status().message().c_str());
    return 2;
  }
  const CompareSettings& s = config->settings;
  Result<Tier> durable =
      MakeTier(config->eragon, config->eragon_token, config->redis, config->nats);
  if (!durable.ok()) {
    std::fprintf(stderr, "eragon-bench compare: %s\n", durable.status().message().c_str());
    return 1;
  }
  // The relaxed tier: NATS JetStream has one tier only, so its durable system serves both.
  Result<Tier> relaxed =
      MakeTier(config->eragon_relaxed, config->eragon_relaxed_token, config->redis_relaxed, "");
  if (!relaxed.ok()) {
    std::fprintf(stderr, "eragon-bench compare: %s\n", relaxed.status().message().c_str());
    return 1;
  }
  double load_start = LoadAverage1m();
  std::string tag = RunTag();
  std::printf("compare: %d rounds, %d-byte events, load average %.2f; run tag %s\n", config->rounds,
              s.event_bytes, load_start, tag.c_str());
  std::fflush(stdout);

  Results results;
  std::string raw;  // every cell, for the results file
  int failures = 0;
  for (int round = 1; round <= config->rounds; ++round) {
    for (Workload w : config->workloads) {
      for (int i = 0; i < 3; ++i) {
        TestedSystem* system =
            w == Workload::kRelaxed && i < 2 ? (*relaxed)[i].get() : (*durable)[i].get();
        if (system == nullptr) continue;
        std::string cell_tag =
            tag + "-r" + std::to_string(round) + "-" + WorkloadName(w) + "-" + kSystems[i];
        Result<CellResult> r = system->Run(w, cell_tag, s);
        std::string line;
        if (r.ok()) {
          results[{w, i}].push_back(*r);
          line = CellLine(round, w, i, *r);
        } else {
          ++failures;
          line = "round " + std::to_string(round) + " " + WorkloadName(w) + " " + kSystems[i] +
                 " FAILED: " + r.status().message();
        }
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
        raw += "    " + line + "\n";
      }
    }
  }
  double load_end = LoadAverage1m();
  Report rep = BuildReport(results, s);

  char settings[512];
  std::snprintf(settings, sizeof(settings),
                "%d rounds; %d-byte JSON events; publish: %d clients, %d s (+%.0f s warm-up); "
                "batches of %d from %d clients; consume: backlog %lld, %d consumers x %d; "
                "latency: %.0f events/s for %.0f s from %d clients, Eragon %s consumer; "
                "load average %.2f -> %.2f",
                config->rounds, s.event_bytes, s.clients, static_cast<int>(s.duration_s),
                s.warmup_s, s.batch, s.batch_clients, static_cast<long long>(s.backlog),
                s.consumers, s.batch, s.latency_rate, s.latency_duration_s, s.clients,
                s.eragon_latency_mode.c_str(), load_start, load_end);
  std::string legend =
      "Medians over the rounds, (min–max) across rounds; * = a round had errors or was "
      "incomplete. Ratios are Eragon's median over the peer's (for latency, lower is better).\n"
      "Tiers: durable = Eragon --fsync always, Redis appendfsync always; relaxed = Eragon "
      "--fsync interval:1000, Redis appendfsync everysec. NATS JetStream (file storage) has one "
      "tier: nats-server 2.9 acknowledges a publish before fsync (no per-write sync option; "
      "`sync_interval` arrived in 2.10), so its figures are in both tiers.\n";
  std::printf("\n%s\n%s\n%s", settings, legend.c_str(), rep.table.c_str());

  char tail[160];
  std::snprintf(tail, sizeof(tail), "rounds=%d failures=%d load1_start=%.2f load1_end=%.2f",
                config->rounds, failures, load_start, load_end);
  std::string kv = rep.kv + tail;
  if (!config->out.empty()) {
    std::ofstream out(config->out);
    out << "# Eragon vs Redis Streams vs NATS JetStream\n\n";
    if (!config->command.empty()) out << "Command: `" << config->command << "`\n\n";
    if (!config->note.empty()) out << config->note << "\n\n";
    out << settings << ".\n\n"
        << legend << "\n"
        << rep.table << "\nEvery cell, in run order:\n\n"
        << raw << "\n```\n"
        << kv << "\n```\n";
    if (!out) {
      std::fprintf(stderr, "eragon-bench compare: cannot write %s\n", config->out.c_str());
      return 1;
    }
    std::printf("\nwritten to %s\n", config->out.c_str());
  }
  std::printf("%s\n", kv.c_str());
  return failures == 0 ? 0 : 1;
}

}  // namespace eragon::bench
