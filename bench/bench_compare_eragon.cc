// Eragon in `eragon-bench compare`: publishes through the Asio LoadGenerator (POST
// /v1/events, one event or {"events":[...]}), consumes with a pull consumer (fetch + ack,
// acks durable before the answer), and measures publish -> receive through a push
// consumer on an in-process HTTP endpoint or through long-poll fetches.
#include <thread>
#include <vector>

#include "bench/bench_compare.h"
#include "core/json.h"

namespace eragon::bench {
namespace {

class EragonSystem : public TestedSystem {
 public:
  EragonSystem(Endpoint endpoint, std::string token)
      : endpoint_(std::move(endpoint)), token_(std::move(token)) {}

  Result<CellResult> Run(Workload w, const std::string& tag, const CompareSettings& s) override {
    // A fresh admin connection per cell: the server closes keep-alive connections left
    // idle (as this one is while the other systems run).
    api_ = std::make_unique<ApiClient>(endpoint_, token_);
    std::string type = "cmp-" + tag;
    std::string body = R"({"producer":"bench","channel":")" + s.eragon_channel + R"(","topic":")" +
                       type + R"(","ordered":false,"partitions":8})";
    ERAGON_RETURN_IF_ERROR(api_->Call("PUT", "/v1/routes/" + type + "/producer", body).status());
    switch (w) {
      case Workload::kPublish:
      case Workload::kRelaxed:
        WaitForRoutes();
        return Publish(type, 1, s.clients, s);
      case Workload::kBatch:
        WaitForRoutes();
        return Publish(type, s.batch, s.batch_clients, s);
      case Workload::kConsume:
        return Consume(type, "c-" + tag, s);
      case Workload::kLatency:
        return s.eragon_latency_mode == "pull" ? LatencyPull(type, "l-" + tag, s)
                                               : LatencyPush(type, "l-" + tag, s);
    }
    return Status::InvalidArgument("unknown workload");
  }

 private:
  // Route changes reach every node within 1 s (API.md); publishing sooner may see 404.
  static void WaitForRoutes() { std::this_thread::sleep_for(std::chrono::milliseconds(1100)); }

  std::string PublishHead() const {
    return "POST /v1/events HTTP/1.1\r\nHost: " + endpoint_.host + ":" +
           std::to_string(endpoint_.port) +
           "\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token_ +
           "\r\nContent-Length: ";
  }

  // Events seq*batch .. seq*batch+batch-1, sent_ns = now.
  RequestBuilder Builder(const std::string& type, int batch, int event_bytes) const {
    std::string head = PublishHead();
    return [=](uint64_t seq, std::string& out) {
      thread_local std::string body;
      body.clear();
      int64_t now = SteadyNowNs();
      if (batch == 1) {
        AppendCompareEvent(body, type, seq, now, event_bytes);
      } else {
        body.append(R"({"events":[)");
        for (int i = 0; i < batch; ++i) {
          if (i > 0) body.push_back(',');
          AppendCompareEvent(body, type, seq * static_cast<uint64_t>(batch) + i, now, event_bytes);
        }
        body.append("]}");
      }
      out.append(head).append(std::to_string(body.size())).append("\r\n\r\n").append(body);
      return BuiltRequest{batch, body.size()};
    };
  }

  Result<CellResult> Publish(const std::string& type, int batch, int clients,
                             const CompareSettings& s) {
    LoadOptions load;
    load.endpoint = endpoint_;
    load.connections = clients;
    load.threads = s.client_threads;
    load.duration_s = s.duration_s;
    load.warmup_s = s.warmup_s;
    ERAGON_ASSIGN_OR_RETURN(LoadResult r,
                            LoadGenerator(load, Builder(type, batch, s.event_bytes)).Run());
    CellResult out;
    out.events_per_s = r.events_per_s();
    out.events = r.events_ok;
    out.latency = r.latency_ns;
    out.errors = r.requests_failed + r.transport_errors;
    return out;
  }

  // `count` events in batches of `batch` from `threads` connections.
  Status Preload(const std::string& type, int64_t count, int batch, int threads, int event_bytes) {
    std::atomic<int64_t> next{0};
    ConsumeTally errors;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        ApiClient api(endpoint_, token_);
        std::string body;
        for (;;) {
          int64_t first = next.fetch_add(batch);
          if (first >= count || errors.stop) return;
          int64_t last = std::min<int64_t>(count, first + batch);
          body.assign(R"({"events":[)");
          for (int64_t i = first; i < last; ++i) {
            if (i > first) body.push_back(',');
            AppendCompareEvent(body, type, static_cast<uint64_t>(i), SteadyNowNs(), event_bytes);
          }
          body.append("]}");
          Status st = api.Call("POST", "/v1/events", body).status();
          if (!st.ok()) return errors.Fail(st);
        }
      });
    }
    for (auto& t : pool) t.join();
    return errors.failure;
  }

  Status AddConsumer(const std::string& type, const std::string& name,
                     const std::string& push_url) {
    std::string body = push_url.empty() ? std::string(R"({"type":"pull","start":"earliest"})")
                                        : R"({"type":"http","url":")" + push_url +
                                              R"(","max_in_flight":256,"start":"earliest"})";
    return api_->Call("PUT", "/v1/routes/" + type + "/consumers/" + name, body).status();
  }

  void RemoveConsumer(const std::string& type, const std::string& name) {
    Status st = api_->Call("DELETE", "/v1/routes/" + type + "/consumers/" + name, "").status();
    if (!st.ok()) std::fprintf(stderr, "  (eragon cleanup: %s)\n", st.message().c_str());
  }

  // Fetches up to `max` (long poll `wait_ms`), records every event, acks them all in one
  // request. Returns the number of messages; 0 when the fetch came back empty.
  static Result<size_t> FetchAndAck(ApiClient& api, simdjson::dom::parser& parser,
                                    const std::string& consumer, int max, int wait_ms,
                                    PushSink& sink) {
    std::string fetch_body = R"({"max":)" + std::to_string(max) + R"(,"wait_ms":)" +
                             std::to_string(wait_ms) + R"(,"ack_timeout_ms":60000})";
    ERAGON_ASSIGN_OR_RETURN(SimpleResponse r,
                            api.Call("POST", "/v1/consumers/" + consumer + "/fetch", fetch_body));
    int64_t now = SteadyNowNs();
    simdjson::dom::element root;
    simdjson::dom::array messages;
    if (parser.parse(r.body).get(root) != simdjson::SUCCESS ||
        root["messages"].get_array().get(messages) != simdjson::SUCCESS) {
      return Status::Unavailable("fetch: unexpected answer " + r.body.substr(0, 200));
    }
    if (messages.size() == 0) return size_t{0};
    std::string ack_body = R"({"ack_ids":[)";
    size_t n = 0;
    for (simdjson::dom::element m : messages) {
      std::string_view ack_id;
      simdjson::dom::element data;
      int64_t sent = 0;
      uint64_t seq = 0;
      if (m["ack_id"].get_string().get(ack_id) != simdjson::SUCCESS ||
          m["event"]["data"].get(data) != simdjson::SUCCESS ||
          data["sent_ns"].get_int64().get(sent) != simdjson::SUCCESS ||
          data["seq"].get_uint64().get(seq) != simdjson::SUCCESS) {
        return Status::Unavailable("fetch: message without ack_id or data.sent_ns/seq");
      }
      sink.Record(R"("sent_ns":)" + std::to_string(sent) + R"(,"seq":)" + std::to_string(seq), now);
      if (n++ > 0) ack_body.push_back(',');
      AppendJsonString(&ack_body, ack_id);
    }
    ack_body.append("]}");
    ERAGON_RETURN_IF_ERROR(
        api.Call("POST", "/v1/consumers/" + consumer + "/ack", ack_body).status());
    return n;
  }

  Result<CellResult> Consume(const std::string& type, const std::string& consumer,
                             const CompareSettings& s) {
    WaitForRoutes();
    ERAGON_RETURN_IF_ERROR(Preload(type, s.backlog, 500, 4, s.event_bytes));
    ERAGON_RETURN_IF_ERROR(AddConsumer(type, consumer, ""));
    auto expected = static_cast<uint64_t>(s.backlog);
    ConsumeTally tally;
    int64_t deadline = SteadyNowNs() + static_cast<int64_t>(s.phase_timeout_s * 1e9);
    std::vector<std::thread> threads;
    for (int i = 0; i < s.consumers; ++i) {
      threads.emplace_back([&] {
        ApiClient api(endpoint_, token_);
        simdjson::dom::parser parser;
        while (!tally.stop && SteadyNowNs() < deadline) {
          int64_t sent = SteadyNowNs();
          Result<size_t> n = FetchAndAck(api, parser, consumer, s.batch, 500, tally.sink);
          if (!n.ok()) return tally.Fail(n.status());
          if (*n == 0) continue;
          tally.FetchStarted(sent);
          tally.Acked(SteadyNowNs(), expected);
        }
      });
    }
    for (auto& t : threads) t.join();
    RemoveConsumer(type, consumer);
    if (!tally.failure.ok()) return tally.failure;
    return tally.Outcome(expected);
  }

  // The paced publish of workload 5 while `sink` records arrivals.
  Result<CellResult> PacedPublish(const std::string& type, PushSink& sink,
                                  const CompareSettings& s) {
    LatencyWindow window(s, sink);
    RequestBuilder builder = window.Counting(Builder(type, 1, s.event_bytes));
    LoadOptions load;
    load.endpoint = endpoint_;
    load.connections = s.clients;
    load.threads = s.client_threads;
    load.duration_s = s.latency_duration_s;
    load.warmup_s = s.warmup_s;
    load.request_rate = s.latency_rate;
    ERAGON_ASSIGN_OR_RETURN(LoadResult publish, LoadGenerator(load, builder).Run());
    return window.Finish(publish, publish.requests_failed + publish.transport_errors);
  }

  Result<CellResult> LatencyPush(const std::string& type, const std::string& consumer,
                                 const CompareSettings& s) {
    if (!sinks_) {
      sinks_ = std::make_unique<SinkServer>(1, 2);
      ERAGON_RETURN_IF_ERROR(sinks_->Start());
    }
    ERAGON_RETURN_IF_ERROR(AddConsumer(type, consumer, sinks_->url(0)));
    WaitForRoutes();
    Result<CellResult> r = PacedPublish(type, sinks_->sink(0), s);
    RemoveConsumer(type, consumer);
    return r;
  }

  // One puller in a loop of long-poll fetches (max `batch`) and acks.
  Result<CellResult> LatencyPull(const std::string& type, const std::string& consumer,
                                 const CompareSettings& s) {
    ERAGON_RETURN_IF_ERROR(AddConsumer(type, consumer, ""));
    WaitForRoutes();
    PushSink sink;
    ConsumeTally puller;
    std::thread t([&] {
      ApiClient api(endpoint_, token_);
      simdjson::dom::parser parser;
      while (!puller.stop) {
        Result<size_t> n = FetchAndAck(api, parser, consumer, s.batch, 200, sink);
        if (!n.ok()) return puller.Fail(n.status());
      }
    });
    Result<CellResult> r = PacedPublish(type, sink, s);
    puller.stop = true;
    t.join();
    RemoveConsumer(type, consumer);
    if (!puller.failure.ok()) return puller.failure;
    return r;
  }

  Endpoint endpoint_;
  std::string token_;
  std::unique_ptr<ApiClient> api_;
  std::unique_ptr<SinkServer> sinks_;
};

}  // namespace

Result<std::unique_ptr<TestedSystem>> MakeEragonSystem(const std::string& url,
                                                       const std::string& token) {
  ERAGON_ASSIGN_OR_RETURN(Endpoint endpoint, ParseHttpUrl(url));
  std::unique_ptr<TestedSystem> system = std::make_unique<EragonSystem>(endpoint, token);
  return system;
}

}  // namespace eragon::bench
