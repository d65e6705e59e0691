#include "bench/bench_flags.h"

#include <cstdio>
#include <cstdlib>

namespace eragon::bench {

Result<Flags> Flags::Parse(int argc, char** argv, int first) {
  Flags f;
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--" || arg.size() == 2) {
      return Status::InvalidArgument("expected a --flag, got '" + std::string(arg) + "'");
    }
    arg.remove_prefix(2);
    size_t eq = arg.find('=');
    if (eq != std::string_view::npos) {
      f.values_[std::string(arg.substr(0, eq))] = std::string(arg.substr(eq + 1));
    } else if (i + 1 < argc && std::string_view(argv[i + 1]).substr(0, 2) != "--") {
      f.values_[std::string(arg)] = argv[++i];
    } else {
      f.values_[std::string(arg)] = "true";
    }
  }
  return f;
}

std::string Flags::GetString(const std::string& name, const std::string& fallback) {
  used_.insert(name);
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

double Flags::GetDouble(const std::string& name, double fallback) {
  used_.insert(name);
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0') {
    if (parse_error_.ok()) parse_error_ = Status::InvalidArgument("--" + name + " wants a number");
    return fallback;
  }
  return v;
}

int64_t Flags::GetInt(const std::string& name, int64_t fallback) {
  return static_cast<int64_t>(GetDouble(name, static_cast<double>(fallback)));
}

bool Flags::GetBool(const std::string& name) {
  std::string v = GetString(name, "false");
  return v == "true" || v == "1" || v == "yes";
}

Status Flags::CheckAllUsed() const {
  if (!parse_error_.ok()) return parse_error_;
  for (const auto& [name, value] : values_) {
    if (used_.count(name) == 0) return Status::InvalidArgument("unknown flag --" + name);
  }
  return Status::Ok();
}

CommonSettings ReadCommonSettings(Flags& flags) {
  CommonSettings s;
  s.load.connections = static_cast<int>(flags.GetInt("connections", 64));
  s.load.threads = static_cast<int>(flags.GetInt("threads", 1));
  s.load.duration_s = flags.GetDouble("duration", 10);
  s.load.warmup_s = flags.GetDouble("warmup", 1);
  s.batch = static_cast<int>(std::max<int64_t>(1, flags.GetInt("batch", 1)));
  s.event_bytes = static_cast<int>(std::max<int64_t>(0, flags.GetInt("event-bytes", 1024)));
  s.server_threads = static_cast<int>(flags.GetInt("server-threads", 2));
  return s;
}

std::string Ms(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ns) / 1e6);
  return buf;
}

void PrintTableHeader() {
  std::printf("%-22s %10s %12s %12s %9s %9s %9s %9s %9s %8s %8s\n", "target", "requests",
              "requests/s", "events/s", "MB/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "non-2xx",
              "errors");
}

void PrintTableRow(std::string_view name, const LoadResult& r) {
  const LatencyHistogram& h = r.latency_ns;
  std::printf("%-22.*s %10llu %12.0f %12.0f %9.2f %9s %9s %9s %9s %8llu %8llu\n",
              static_cast<int>(name.size()), name.data(),
              static_cast<unsigned long long>(r.requests_ok), r.requests_per_s(), r.events_per_s(),
              r.mb_per_s(), Ms(h.ValueAtPercentile(50)).c_str(),
              Ms(h.ValueAtPercentile(99)).c_str(), Ms(h.ValueAtPercentile(99.9)).c_str(),
              Ms(h.max()).c_str(), static_cast<unsigned long long>(r.requests_failed),
              static_cast<unsigned long long>(r.transport_errors));
  if (!r.first_failure.empty()) std::printf("  first non-2xx: %s\n", r.first_failure.c_str());
}

}  // namespace eragon::bench
