// eragon-bench filter: the cost of a consumer route's content filter per event (issue 15).
// Builds --events events shaped like the compare workloads' (1 KiB, entity ids spread
// over 100,000 entities, data {sent_ns, seq, pad}), compiles each 3-field pattern below
// and times Filter::Matches over all events (best of --rounds). Prints ns per event and
// the fraction matched. The end-to-end figure of issue 15 (pull consume rate with such a
// filter vs without) is not measured here.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_flags.h"
#include "eragon/event.h"
#include "filter/filter.h"

namespace eragon::bench {
namespace {

// Two 3-field patterns: one whose entity_id field rejects most events before `data` is
// looked at, and one that must read `data` for every event (10 % match with --events
// 100000: seq < 10000).
constexpr const char* kPatterns[] = {
    R"({"entity_id":[{"prefix":"entity-1"}],"data.seq":[{"exists":true}],)"
    R"("data.sent_ns":[{"numeric":[">",0]}]})",
    R"({"data.sent_ns":[{"numeric":[">",0]}],"data.seq":[{"numeric":["<",10000]}],)"
    R"("data.pad":[{"prefix":"x"}]})",
};

std::vector<Event> MakeEvents(size_t n, int event_bytes) {
  std::vector<Event> events(n);
  for (size_t i = 0; i < n; ++i) {
    Event& e = events[i];
    e.id = "ev-" + std::to_string(i);
    e.event_type = "bench.filter";
    e.entity_id = "entity-" + std::to_string((i * 2654435761ULL) % 100000);
    e.data = R"({"sent_ns":)" + std::to_string(1'000'000 + i) + R"(,"seq":)" + std::to_string(i) +
             R"(,"pad":")";
    if (static_cast<size_t>(event_bytes) > e.data.size() + 2) {
      e.data.append(event_bytes - e.data.size() - 2, 'x');
    }
    e.data.append(R"("})");
  }
  return events;
}

double NowNs() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

}  // namespace

int FilterMain(Flags& flags) {
  const auto n = static_cast<size_t>(flags.GetInt("events", 100'000));
  const int64_t rounds = flags.GetInt("rounds", 5);
  const auto event_bytes = static_cast<int>(flags.GetInt("event-bytes", 1024));
  if (Status st = flags.CheckAllUsed(); !st.ok()) {
    std::fprintf(stderr, "eragon-bench filter: %s\n", st.message().c_str());
    return 2;
  }
  std::vector<Event> events = MakeEvents(n, event_bytes);
  std::printf("events=%zu event_bytes=%d rounds=%lld\n", n, event_bytes,
              static_cast<long long>(rounds));
  for (const char* pattern : kPatterns) {
    Result<filter::Filter> f = filter::Filter::Compile(pattern);
    if (!f.ok()) {
      std::fprintf(stderr, "eragon-bench filter: %s\n", f.status().message().c_str());
      return 1;
    }
    double best_ns = 1e300;
    size_t matched = 0;
    for (int64_t r = 0; r < rounds; ++r) {
      matched = 0;
      const double start = NowNs();
      for (const Event& e : events) matched += f->Matches(e) ? 1 : 0;
      best_ns = std::min(best_ns, (NowNs() - start) / static_cast<double>(n));
    }
    std::printf("filter %s\nfilter_ns_per_event=%.1f matched_fraction=%.3f\n", pattern, best_ns,
                static_cast<double>(matched) / static_cast<double>(n));
  }
  return 0;
}

}  // namespace eragon::bench
