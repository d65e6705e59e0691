// eragon-bench: load generators for eragond. Each subcommand drives the shared
// LoadGenerator with its own RequestBuilder; `eragon-bench --help` lists them.
#include <cstdio>
#include <string_view>

#include "bench/bench_compare.h"
#include "bench/bench_flags.h"
#include "bench/bench_sdk.h"

namespace {

constexpr const char* kUsage = R"(usage: eragon-bench <subcommand> [--flag value ...]

  publish   POST /v1/events against a running eragond, then the same load against a
            trivial endpoint of the same HTTP stack (trivial_rps) and their ratio.
              --url http://127.0.0.1:7070   --token T | --data-dir D (reads D/admin.token)
              --event-type bench.event      --setup-route (PUT the producer route first)
              --producer eragon-bench       --rate 0 (events/s, open loop; 0 = unlimited)
              --skip-trivial
            --tls: instead, the same load against two eragond children of this run,
              plain HTTP and HTTPS (a throw-away self-signed certificate), and
              https_vs_http.   --eragond PATH (default: next to this binary) --fsync always
  trivial   only the trivial endpoint (in-process eragon_http server)
              --serve-only [--port P]: serve it for --duration seconds, for wrk & co.

  deliver   end to end: spawns build/bin/eragond (or --url/--data-dir), runs consumer
            endpoints and pullers in-process; measures publish->receive latency at a fixed
            rate, push deliveries/s to 1 and to --consumers consumers, pull fetch+ack/s.
              --rate 10000  --duration 10  --connections 32  --event-bytes 1024
              --backlog 200000 (push, pull)  --fanout-backlog 30000  --consumers 10
              --pull-threads 2  --fetch-max 500  --max-in-flight 256  --endpoint-threads 2
              --preload-batch 500  --preload-threads 4  --phase-timeout 30
              --fanout-shared-endpoint (10 paths of one server, not 10 servers)
              --skip-latency --skip-push --skip-pull --skip-fanout
              --eragond PATH  --fsync always  --server-args "..."  --keep-data
              --channel embedded|kafka (kafka: --server-args "--kafka-brokers B")
              --compare-server-args "..." (A/B in one run: everything again against an
              eragond with these flags added, e.g. "--record-attempts=false")

  sdk       the C++ SDK's producer: enqueue rate of each queue kind (1 and 8 threads, a
            discarding drainer); the file queue (group fsync) against raw sequential disk
            bandwidth; SDK -> eragond events/s against raw batched HTTP publishing, both
            against one eragond it spawns (--fsync always).
              --queue-seconds 2  --event-bytes 1024  --file-threads 64  --file-batch 100
              --dir BUILD_DIR
              --duration 5  --warmup 1  --connections 64  --batch 100 (raw HTTP)
              --sdk-threads 1  --sdk-lanes 8  --sdk-batch 500  --eragond PATH  --fsync always
              --skip-server  --skip-queues

  filter    a consumer route filter's cost per event (3 fields, ~11 % match) on 1 KiB events
              --events 100000  --rounds 5  --event-bytes 1024

  saga      a three-step saga with replying consumers on loopback (one in-process server):
            the plain publish->push latency at --rate, then saga triggers at --rate (each
            step's time: reply published -> next event pushed, and what it adds over
            publish->push), then --instances triggers at once (instances completed/s).
              --rate 50  --duration 10  --instances 2000  --reply-threads 2
              --endpoint-threads 2  --max-in-flight 64  --phase-timeout 60
              --eragond PATH  --fsync always  --server-args "..."  --keep-data

  cluster   a running cluster (bench/cluster starts one with scripts/cluster; see
            bench/README.md): --phase load: single-event publishes spread over the nodes,
            one push consumer route to an in-process endpoint; events/s published and
            pushed, CPU per event of the eragond pids (their idle CPU measured first), of
            --kafka-pids and of --postgres-pids (with their children), and of itself.
            --phase takeover: kill -9 of --victim while the other nodes publish at --rate;
            time until its partitions are delivered again, --runs times (--restart-cmd
            restarts it and prints pid=).
              --urls U1,U2,..  --pids P1,P2,..  --token T  --kafka-pids P,..
              --postgres-pids P  --connections 48  --duration 10  --warmup 2  --idle 2
              --load-rate 0 (events/s over all nodes, open loop; 0 = closed loop)
              --max-in-flight 256
              --runs 5  --victim N (1-based, default the last)  --rate 400  --settle 3
              --restart-cmd CMD  --endpoint-threads 2  --event-bytes 1024

  compare   Eragon vs Redis Streams vs NATS JetStream, same workloads, alternating rounds
            (bench/compare starts the servers; see bench/README.md).
              --eragon URL --eragon-token T  --eragon-relaxed URL --eragon-relaxed-token T
              --redis HOST:PORT  --redis-relaxed HOST:PORT  --nats nats://HOST:PORT
              --rounds 3  --workloads publish,relaxed,batch,consume,latency
              --clients 64  --batch-clients 16  --batch 100  --threads 2  --nats-connections 8
              --duration 5  --warmup 1  --backlog 100000  --consumers 4
              --rate 10000  --latency-duration 8  --eragon-latency push|pull
              --eragon-channel embedded|kafka (the Eragon routes' channel)
              --out FILE.md  --note TEXT  --command TEXT

  common:   --connections 64  --threads 1 (client io threads)  --duration 10  --warmup 1
            --batch 1  --event-bytes 1024  --server-threads 2 (trivial server io threads)

The last line of output is key=value pairs for scripts.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string_view sub = argv[1];
  auto flags = eragon::bench::Flags::Parse(argc, argv, 2);
  if (!flags.ok()) {
    std::fprintf(stderr, "eragon-bench: %s\n%s", flags.status().message().c_str(), kUsage);
    return 2;
  }
  if (sub == "publish") return eragon::bench::PublishMain(*flags);
  if (sub == "trivial") return eragon::bench::TrivialMain(*flags);
  if (sub == "deliver") return eragon::bench::DeliverMain(*flags);
  if (sub == "compare") return eragon::bench::CompareMain(*flags);
  if (sub == "sdk") return eragon::bench::SdkMain(*flags);
  if (sub == "filter") return eragon::bench::FilterMain(*flags);
  if (sub == "saga") return eragon::bench::SagaMain(*flags);
  if (sub == "cluster") return eragon::bench::ClusterMain(*flags);
  std::fprintf(stderr, "eragon-bench: unknown subcommand '%.*s'\n%s", static_cast<int>(sub.size()),
               sub.data(), kUsage);
  return 2;
}
