// NATS JetStream in `eragon-bench compare`, through libnats (the C client). libnats owns
// its sockets and threads, so publishers run under RunThreadLoad: one blocking thread per
// client, each with its own JetStream context, over `nats_connections` shared connections
// (a NATS connection multiplexes concurrent requests; one per process is the usual
// deployment). Streams use file storage with the server's defaults; nats-server 2.9
// acknowledges a publish before its data is fsynced.
#include <nats/nats.h>

#include <thread>
#include <vector>

#include "bench/bench_compare.h"

namespace eragon::bench {
namespace {

Status NatsError(const std::string& what, natsStatus s,
                 jsErrCode code = static_cast<jsErrCode>(0)) {
  std::string text = what + ": " + natsStatus_GetText(s);
  if (code != 0) text += " (JetStream error " + std::to_string(static_cast<int>(code)) + ")";
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') text += " - " + std::string(last);
  return Status::Unavailable(text);
}

struct JsDeleter {
  void operator()(jsCtx* js) const { jsCtx_Destroy(js); }
};
using JsPtr = std::unique_ptr<jsCtx, JsDeleter>;
struct ConnDeleter {
  void operator()(natsConnection* nc) const { natsConnection_Destroy(nc); }
};
using ConnPtr = std::unique_ptr<natsConnection, ConnDeleter>;
struct SubDeleter {
  void operator()(natsSubscription* s) const {
    natsSubscription_Unsubscribe(s);
    natsSubscription_Destroy(s);
  }
};
using SubPtr = std::unique_ptr<natsSubscription, SubDeleter>;

Result<ConnPtr> Connect(const std::string& url) {
  natsConnection* nc = nullptr;
  natsStatus s = natsConnection_ConnectTo(&nc, url.c_str());
  if (s != NATS_OK) return NatsError("connect " + url, s);
  return ConnPtr(nc);
}

// A JetStream context; async publish failures are counted in *async_errors.
Result<JsPtr> Context(natsConnection* nc, std::atomic<uint64_t>* async_errors = nullptr) {
  jsOptions o;
  jsOptions_Init(&o);
  if (async_errors != nullptr) {
    o.PublishAsync.ErrHandler = [](jsCtx*, jsPubAckErr*, void* closure) {
      static_cast<std::atomic<uint64_t>*>(closure)->fetch_add(1);
    };
    o.PublishAsync.ErrHandlerClosure = async_errors;
  }
  jsCtx* js = nullptr;
  natsStatus s = natsConnection_JetStream(&js, nc, &o);
  if (s != NATS_OK) return NatsError("JetStream context", s);
  return JsPtr(js);
}

// Publishes `events` asynchronously and waits for all their acks.
Status PublishWindow(jsCtx* js, const std::string& subject, const std::vector<std::string>& events,
                     std::atomic<uint64_t>& async_errors) {
  uint64_t errors_before = async_errors.load();
  for (const std::string& e : events) {
    natsStatus s =
        js_PublishAsync(js, subject.c_str(), e.data(), static_cast<int>(e.size()), nullptr);
    if (s != NATS_OK) return NatsError("js_PublishAsync", s);
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 30'000;
  natsStatus s = js_PublishAsyncComplete(js, &po);
  if (s != NATS_OK) return NatsError("js_PublishAsyncComplete", s);
  if (async_errors.load() != errors_before) return Status::Unavailable("async publish failed");
  return Status::Ok();
}

class NatsSystem : public TestedSystem {
 public:
  NatsSystem(std::string url, ConnPtr admin, JsPtr js)
      : url_(std::move(url)), admin_(std::move(admin)), js_(std::move(js)) {}

  Result<CellResult> Run(Workload w, const std::string& tag, const CompareSettings& s) override {
    std::string stream = "CMP-" + tag;
    std::string subject = "cmp." + tag;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream.c_str();
    const char* subjects[] = {subject.c_str()};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus st = js_AddStream(nullptr, js_.get(), &cfg, nullptr, &code);
    if (st != NATS_OK) return NatsError("js_AddStream " + stream, st, code);
    Result<CellResult> r = RunOn(w, stream, subject, s);
    st = js_DeleteStream(js_.get(), stream.c_str(), nullptr, &code);
    if (st != NATS_OK && r.ok()) return NatsError("js_DeleteStream " + stream, st, code);
    return r;
  }

 private:
  Result<CellResult> RunOn(Workload w, const std::string& stream, const std::string& subject,
                           const CompareSettings& s) {
    switch (w) {
      case Workload::kPublish:
      case Workload::kRelaxed:
        return Publish(subject, 1, s.clients, 0, nullptr, s);
      case Workload::kBatch:
        return Publish(subject, s.batch, s.batch_clients, 0, nullptr, s);
      case Workload::kConsume:
        return Consume(stream, subject, s);
      case Workload::kLatency:
        return Latency(subject, s);
    }
    return Status::InvalidArgument("unknown workload");
  }

  // Publisher threads over `connections` connections. batch == 1: js_Publish (waits for
  // its ack); batch > 1: `batch` js_PublishAsync, then wait for all their acks.
  Result<LoadResult> PublishLoad(const std::string& subject, int batch, int clients, double rate,
                                 double duration_s, const CompareSettings& s,
                                 std::function<void(int64_t)> on_build) {
    std::vector<ConnPtr> conns;
    for (int i = 0; i < std::max(1, s.nats_connections); ++i) {
      ERAGON_ASSIGN_OR_RETURN(ConnPtr c, Connect(url_));
      conns.push_back(std::move(c));
    }
    std::vector<std::unique_ptr<std::atomic<uint64_t>>> async_errors;
    auto make = [&](int client) -> Result<ClientOp> {
      async_errors.push_back(std::make_unique<std::atomic<uint64_t>>(0));
      std::atomic<uint64_t>* errors = async_errors.back().get();
      ERAGON_ASSIGN_OR_RETURN(
          JsPtr js_owned, Context(conns[static_cast<size_t>(client) % conns.size()].get(), errors));
      std::shared_ptr<jsCtx> js(js_owned.release(), JsDeleter());
      auto events = std::make_shared<std::vector<std::string>>(static_cast<size_t>(batch));
      return ClientOp([=, &s](uint64_t seq, int* n) -> Status {
        int64_t now = SteadyNowNs();
        if (on_build) on_build(now);
        for (int i = 0; i < batch; ++i) {
          std::string& e = (*events)[static_cast<size_t>(i)];
          e.clear();
          AppendCompareEvent(e, subject, seq * static_cast<uint64_t>(batch) + i, now,
                             s.event_bytes);
        }
        *n = batch;
        if (batch > 1) return PublishWindow(js.get(), subject, *events, *errors);
        jsErrCode code = static_cast<jsErrCode>(0);
        const std::string& e = events->front();
        natsStatus st = js_Publish(nullptr, js.get(), subject.c_str(), e.data(),
                                   static_cast<int>(e.size()), nullptr, &code);
        return st == NATS_OK ? Status::Ok() : NatsError("js_Publish", st, code);
      });
    };
    LoadOptions load;
    load.connections = clients;
    load.duration_s = duration_s;
    load.warmup_s = s.warmup_s;
    load.request_rate = rate;
    return RunThreadLoad(load, make);
  }

  Result<CellResult> Publish(const std::string& subject, int batch, int clients, double rate,
                             std::function<void(int64_t)> on_build, const CompareSettings& s) {
    ERAGON_ASSIGN_OR_RETURN(LoadResult r,
                            PublishLoad(subject, batch, clients, rate, s.duration_s, s, on_build));
    CellResult out;
    out.events_per_s = r.events_per_s();
    out.events = r.events_ok;
    out.latency = r.latency_ns;
    out.errors = r.requests_failed;
    return out;
  }

  Status Preload(const std::string& subject, int64_t count, int event_bytes) {
    std::atomic<uint64_t> errors{0};
    ERAGON_ASSIGN_OR_RETURN(JsPtr js, Context(admin_.get(), &errors));
    std::vector<std::string> window;
    for (int64_t first = 0; first < count; first += 500) {
      window.clear();
      for (int64_t i = first; i < std::min<int64_t>(count, first + 500); ++i) {
        window.emplace_back();
        AppendCompareEvent(window.back(), subject, static_cast<uint64_t>(i), SteadyNowNs(),
                           event_bytes);
      }
      ERAGON_RETURN_IF_ERROR(PublishWindow(js.get(), subject, window, errors));
    }
    return Status::Ok();
  }

  Result<CellResult> Consume(const std::string& stream, const std::string& subject,
                             const CompareSettings& s) {
    ERAGON_RETURN_IF_ERROR(Preload(subject, s.backlog, s.event_bytes));
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = "c";
    cc.AckPolicy = js_AckExplicit;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus st = js_AddConsumer(nullptr, js_.get(), stream.c_str(), &cc, nullptr, &code);
    if (st != NATS_OK) return NatsError("js_AddConsumer", st, code);

    auto expected = static_cast<uint64_t>(s.backlog);
    ConsumeTally tally;
    int64_t deadline = SteadyNowNs() + static_cast<int64_t>(s.phase_timeout_s * 1e9);
    std::vector<std::thread> threads;
    for (int i = 0; i < s.consumers; ++i) {
      threads.emplace_back([&] {
        Result<ConnPtr> nc = Connect(url_);
        if (!nc.ok()) return tally.Fail(nc.status());
        Result<JsPtr> js = Context(nc->get());
        if (!js.ok()) return tally.Fail(js.status());
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream.c_str();
        so.Consumer = "c";
        natsSubscription* raw = nullptr;
        jsErrCode c = static_cast<jsErrCode>(0);
        natsStatus ps = js_PullSubscribe(&raw, js->get(), subject.c_str(), "c", nullptr, &so, &c);
        if (ps != NATS_OK) return tally.Fail(NatsError("js_PullSubscribe", ps, c));
        SubPtr sub(raw);
        while (!tally.stop && SteadyNowNs() < deadline) {
          int64_t sent = SteadyNowNs();
          natsMsgList list{};
          natsStatus fs = natsSubscription_Fetch(&list, sub.get(), s.batch, 500, &c);
          if (fs == NATS_TIMEOUT) continue;
          if (fs != NATS_OK) return tally.Fail(NatsError("natsSubscription_Fetch", fs, c));
          int64_t now = SteadyNowNs();
          for (int m = 0; m < list.Count; ++m) {
            natsMsg* msg = list.Msgs[m];
            tally.sink.Record(std::string_view(natsMsg_GetData(msg),
                                               static_cast<size_t>(natsMsg_GetDataLength(msg))),
                              now);
            natsMsg_Ack(msg, nullptr);
          }
          natsMsgList_Destroy(&list);
          // The acks are fire-and-forget publishes: make sure they have left the client.
          natsConnection_Flush(nc->get());
          tally.FetchStarted(sent);
          tally.Acked(SteadyNowNs(), expected);
        }
      });
    }
    for (auto& t : threads) t.join();
    if (!tally.failure.ok()) return tally.failure;
    return tally.Outcome(expected);
  }

  // A push consumer (callback on the subscription's thread, explicit acks) while the
  // publishers run at the fixed rate.
  Result<CellResult> Latency(const std::string& subject, const CompareSettings& s) {
    PushSink sink;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.ManualAck = true;
    natsSubscription* raw = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus st = js_Subscribe(
        &raw, js_.get(), subject.c_str(),
        [](natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
          int64_t now = SteadyNowNs();
          static_cast<PushSink*>(closure)->Record(
              std::string_view(natsMsg_GetData(msg),
                               static_cast<size_t>(natsMsg_GetDataLength(msg))),
              now);
          natsMsg_Ack(msg, nullptr);
          natsMsg_Destroy(msg);
        },
        &sink, nullptr, &so, &code);
    if (st != NATS_OK) return NatsError("js_Subscribe", st, code);
    SubPtr sub(raw);

    LatencyWindow window(s, sink);
    auto on_build = [&](int64_t now) { window.Count(now); };
    ERAGON_ASSIGN_OR_RETURN(LoadResult publish, PublishLoad(subject, 1, s.clients, s.latency_rate,
                                                            s.latency_duration_s, s, on_build));
    return window.Finish(publish, publish.requests_failed);
  }

  std::string url_;
  ConnPtr admin_;
  JsPtr js_;
};

}  // namespace

Result<std::unique_ptr<TestedSystem>> MakeNatsSystem(const std::string& url) {
  ERAGON_ASSIGN_OR_RETURN(ConnPtr admin, Connect(url));
  ERAGON_ASSIGN_OR_RETURN(JsPtr js, Context(admin.get()));
  std::unique_ptr<TestedSystem> system =
      std::make_unique<NatsSystem>(url, std::move(admin), std::move(js));
  return system;
}

}  // namespace eragon::bench
