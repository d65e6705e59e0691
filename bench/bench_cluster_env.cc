#include "bench/bench_cluster_env.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "bench/bench_compare.h"  // AppendCompareEvent: the same event bytes as compare
#include "bench/bench_deliver_env.h"
#include "core/murmur2.h"
#include "http/http_server.h"
#include "http/router.h"

namespace eragon::bench {

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

namespace {

// The fields of /proc/PID/stat after the command name: state is [0], ppid [1], utime
// [11], stime [12]. Empty when the process is gone.
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double TicksToSeconds(const std::string& utime, const std::string& stime) {
  static const double kTicks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(utime) + std::stod(stime)) / kTicks;
}

// Live pids whose parent is in `parents`.
std::vector<pid_t> ChildrenOf(const std::vector<pid_t>& parents) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = ::readdir(dir)) {
    pid_t pid = 0;
    std::string_view name = e->d_name;
    auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || ptr != name.data() + name.size()) continue;
    std::vector<std::string> f = StatFields(pid);
    if (f.size() < 13) continue;
    if (std::find(parents.begin(), parents.end(), std::stoi(f[1])) != parents.end()) {
      out.push_back(pid);
    }
  }
  ::closedir(dir);
  return out;
}

}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  std::vector<std::string> f = StatFields(pid);
  return f.size() < 13 ? 0 : TicksToSeconds(f[11], f[12]);
}

double CpuSeconds(const std::vector<pid_t>& pids, bool children) {
  double total = 0;
  for (pid_t p : pids) total += ProcessCpuSeconds(p);
  if (children) {
    for (pid_t c : ChildrenOf(pids)) total += ProcessCpuSeconds(c);
  }
  return total;
}

double SelfCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

int DeliveringPartitions(const ClusterNode& node, const std::string& token) {
  ApiClient api(node.endpoint, token);
  Result<SimpleResponse> r = api.Call("GET", "/metrics", "");
  if (!r.ok()) return -1;
  const std::string key = "\neragon_delivering_partitions ";
  size_t at = r->body.find(key);
  if (at == std::string::npos) return -1;
  return static_cast<int>(FindJsonNumber(std::string_view(r->body).substr(at), key));
}

// ---- routes and publishing ----

std::string RunTag() {
  std::random_device rd;
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%06x", rd() & 0xffffff);
  return buf;
}

Result<std::string> SetUpRoutes(const ClusterSettings& s, const std::string& type,
                                const ClusterSink& sink) {
  ApiClient api(s.nodes[0].endpoint, s.token);
  ERAGON_RETURN_IF_ERROR(api.Call("PUT", "/v1/routes/" + type + "/producer",
                                  R"({"producer":"bench","channel":"kafka","topic":")" + type +
                                      R"(","ordered":false,"partitions":8})")
                             .status());
  std::string consumer = type + "-sink";
  ERAGON_RETURN_IF_ERROR(api.Call("PUT", "/v1/routes/" + type + "/consumers/" + consumer,
                                  R"({"type":"http","url":")" + sink.url() +
                                      R"(","max_in_flight":)" + std::to_string(s.max_in_flight) +
                                      R"(,"start":"earliest"})")
                             .status());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // every node sees the routes
  return consumer;
}

void RemoveClusterConsumer(const ClusterSettings& s, const std::string& type,
                           const std::string& name) {
  ApiClient api(s.nodes[0].endpoint, s.token);
  Status st = api.Call("DELETE", "/v1/routes/" + type + "/consumers/" + name, "").status();
  if (!st.ok()) std::fprintf(stderr, "  (cleanup: %s)\n", st.message().c_str());
}

// Waits (up to `timeout_s`) until the nodes deliver the 8 partitions between them, each
// some. Answers the per-node counts seen last.
std::vector<int> WaitShared(const ClusterSettings& s, double timeout_s, bool* shared) {
  auto deadline = SteadyNowNs() + static_cast<int64_t>(timeout_s * 1e9);
  std::vector<int> counts;
  for (;;) {
    counts.clear();
    int sum = 0, min = INT32_MAX;
    for (const ClusterNode& n : s.nodes) {
      counts.push_back(DeliveringPartitions(n, s.token));
      sum += counts.back();
      min = std::min(min, counts.back());
    }
    *shared = sum == static_cast<int>(kClusterPartitions) && min > 0;
    if (*shared || SteadyNowNs() > deadline) return counts;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string JoinCounts(const std::vector<int>& v) {
  std::string out;
  for (int x : v) out += (out.empty() ? "" : "+") + std::to_string(x);
  return out;
}

// A publish request of one event; `seq` comes from the run-wide counter so that seqs stay
// unique over every generator and phase.
RequestBuilder EventBuilder(const Endpoint& e, const std::string& token, const std::string& type,
                            int event_bytes, std::atomic<uint64_t>& next_seq) {
  std::string head = "POST /v1/events HTTP/1.1\r\nHost: " + e.host + ":" + std::to_string(e.port) +
                     "\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token +
                     "\r\nContent-Length: ";
  return [head, type, event_bytes, &next_seq](uint64_t, std::string& out) {
    thread_local std::string body;
    body.clear();
    uint64_t seq = next_seq.fetch_add(1, std::memory_order_relaxed);
    AppendCompareEvent(body, type, seq, SteadyNowNs(), event_bytes);
    out.append(head).append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    return BuiltRequest{1, body.size()};
  };
}

// ---- ClusterSink ----

ClusterSink::ClusterSink(int io_threads, uint32_t partitions)
    : partitions_(partitions), arrivals_(partitions), router_(std::make_unique<http::Router>()) {
  router_->Post("/sink", [this](http::HttpRequest&& req, http::Responder respond) {
    Record(req.body, SteadyNowNs());
    respond(http::HttpResponse::Empty(200));
  });
  http::HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = io_threads;
  server_ = std::make_unique<http::HttpServer>(options, router_.get());
}

ClusterSink::~ClusterSink() { server_->Stop(std::chrono::seconds(1)); }

Status ClusterSink::Start() { return server_->Start(); }

std::string ClusterSink::url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port()) + "/sink";
}

void ClusterSink::Record(std::string_view body, int64_t now_ns) {
  int64_t seq = FindJsonNumber(body, R"("seq":)");
  constexpr std::string_view kEntity = R"("entity_id":")";
  size_t at = body.find(kEntity);
  if (seq < 0 || at == std::string_view::npos) return;
  size_t begin = at + kEntity.size();
  std::string_view entity = body.substr(begin, body.find('"', begin) - begin);
  uint32_t partition = Murmur2Partition(entity, partitions_);
  std::lock_guard lock(mu_);
  deliveries_.fetch_add(1, std::memory_order_relaxed);
  std::vector<int64_t>& times = arrivals_[partition];
  if (times.size() >= 8192) times.erase(times.begin(), times.begin() + 4096);
  times.push_back(now_ns);
  auto s = static_cast<size_t>(seq);
  if (s >= seen_.size()) seen_.resize(std::max(s + 1, seen_.size() * 2));
  if (seen_[s]) return;
  seen_[s] = true;
  last_new_ns_ = now_ns;
  distinct_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<int64_t> ClusterSink::FirstArrivalsSince(int64_t from_ns) const {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out(partitions_, 0);
  for (uint32_t p = 0; p < partitions_; ++p) {
    const std::vector<int64_t>& times = arrivals_[p];
    auto it = std::lower_bound(times.begin(), times.end(), from_ns);
    if (it != times.end()) out[p] = *it;
  }
  return out;
}

std::vector<int64_t> ClusterSink::LastArrivals() const {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out(partitions_, 0);
  for (uint32_t p = 0; p < partitions_; ++p) {
    if (!arrivals_[p].empty()) out[p] = arrivals_[p].back();
  }
  return out;
}

}  // namespace eragon::bench
