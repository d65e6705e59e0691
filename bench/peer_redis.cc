// Redis Streams in `eragon-bench compare`, through hiredis. Publishes go through the same
// Asio LoadGenerator as Eragon's: the request bytes are hiredis's formatted XADD commands
// (a pipeline of `batch` XADDs for workload 3) and the answers are framed by hiredis's
// reply reader (RedisFramer). Consumers are blocking hiredis connections, one per
// consumer thread: XREADGROUP ... COUNT n BLOCK ms, then one XACK for the ids read.
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <optional>
#include <thread>
#include <vector>

#include "bench/bench_compare.h"

namespace eragon::bench {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

// The answers of one request (one command, or a pipeline of request.replies commands)
// through hiredis's reader. Any error reply fails the request.
class RedisFramer : public ResponseFramer {
 public:
  RedisFramer() : reader_(redisReaderCreate()) {}
  ~RedisFramer() override { redisReaderFree(reader_); }

  int Frame(std::string_view data, const BuiltRequest& request, size_t* consumed, int* status,
            std::string* error) override {
    if (!data.empty() && redisReaderFeed(reader_, data.data(), data.size()) != REDIS_OK) return -1;
    *consumed = data.size();
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return -1;
      if (raw == nullptr) return 0;
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR && error_.empty()) error_.assign(reply->str, reply->len);
      if (++seen_ < request.replies) continue;
      *status = error_.empty() ? 200 : 500;
      *error = std::move(error_);
      Reset();
      return 1;
    }
  }

  void Reset() override {
    seen_ = 0;
    error_.clear();
    redisReaderFree(reader_);
    reader_ = redisReaderCreate();
  }

 private:
  redisReader* reader_;
  int seen_ = 0;
  std::string error_;
};

Result<ContextPtr> Connect(const Endpoint& e) {
  timeval tv{10, 0};
  ContextPtr c(redisConnectWithTimeout(e.host.c_str(), e.port, tv));
  if (!c || c->err != 0) {
    return Status::Unavailable("redis " + e.host + ":" + std::to_string(e.port) + ": " +
                               (c ? c->errstr : "out of memory"));
  }
  redisSetTimeout(c.get(), tv);
  return c;
}

// Runs one command; error replies and I/O errors become a Status.
Result<ReplyPtr> Command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  ReplyPtr r(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (!r) return Status::Unavailable("redis " + args[0] + ": " + c->errstr);
  if (r->type == REDIS_REPLY_ERROR) {
    return Status::Unavailable("redis " + args[0] + ": " + std::string(r->str, r->len));
  }
  return r;
}

// The value of an entry's fields [field, value, ...] (the benchmark stores one field,
// "event"), or an empty view.
std::string_view FieldValue(const redisReply* fields) {
  if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY || fields->elements < 2) return {};
  const redisReply* v = fields->element[1];
  return v->type == REDIS_REPLY_STRING ? std::string_view(v->str, v->len) : std::string_view();
}

class RedisSystem : public TestedSystem {
 public:
  RedisSystem(Endpoint endpoint, ContextPtr admin)
      : endpoint_(std::move(endpoint)), admin_(std::move(admin)) {}

  Result<CellResult> Run(Workload w, const std::string& tag, const CompareSettings& s) override {
    std::string key = "cmp-" + tag;
    Result<CellResult> r = RunOn(w, key, s);
    // The stream lives in memory: free it (in the background) before the next cell.
    Result<ReplyPtr> del = Command(admin_.get(), {"UNLINK", key});
    if (!del.ok() && r.ok()) return del.status();
    return r;
  }

 private:
  Result<CellResult> RunOn(Workload w, const std::string& key, const CompareSettings& s) {
    switch (w) {
      case Workload::kPublish:
      case Workload::kRelaxed:
        return Publish(key, 1, s.clients, s);
      case Workload::kBatch:
        return Publish(key, s.batch, s.batch_clients, s);
      case Workload::kConsume:
        return Consume(key, s);
      case Workload::kLatency:
        return Latency(key, s);
    }
    return Status::InvalidArgument("unknown workload");
  }

  // XADD key * event <json>, `batch` of them pipelined per request.
  static RequestBuilder Builder(const std::string& key, int batch, int event_bytes) {
    return [=](uint64_t seq, std::string& out) {
      thread_local std::string event;
      int64_t now = SteadyNowNs();
      size_t payload = 0;
      for (int i = 0; i < batch; ++i) {
        event.clear();
        AppendCompareEvent(event, key, seq * static_cast<uint64_t>(batch) + i, now, event_bytes);
        const char* argv[] = {"XADD", key.c_str(), "*", "event", event.data()};
        size_t lens[] = {4, key.size(), 1, 5, event.size()};
        char* cmd = nullptr;
        int len = redisFormatCommandArgv(&cmd, 5, argv, lens);
        if (len < 0) std::abort();  // out of memory
        out.append(cmd, static_cast<size_t>(len));
        redisFreeCommand(cmd);
        payload += event.size();
      }
      return BuiltRequest{batch, payload, batch};
    };
  }

  LoadOptions Load(int clients, const CompareSettings& s) const {
    LoadOptions load;
    load.endpoint = endpoint_;
    load.connections = clients;
    load.threads = s.client_threads;
    load.duration_s = s.duration_s;
    load.warmup_s = s.warmup_s;
    load.framer = [] { return std::make_unique<RedisFramer>(); };
    return load;
  }

  Result<CellResult> Publish(const std::string& key, int batch, int clients,
                             const CompareSettings& s) {
    ERAGON_ASSIGN_OR_RETURN(
        LoadResult r, LoadGenerator(Load(clients, s), Builder(key, batch, s.event_bytes)).Run());
    CellResult out;
    out.events_per_s = r.events_per_s();
    out.events = r.events_ok;
    out.latency = r.latency_ns;
    out.errors = r.requests_failed + r.transport_errors;
    return out;
  }

  // `count` events, pipelines of 500 XADDs on one connection.
  Status Preload(const std::string& key, int64_t count, int event_bytes) {
    ERAGON_ASSIGN_OR_RETURN(ContextPtr c, Connect(endpoint_));
    std::string event;
    for (int64_t first = 0; first < count; first += 500) {
      int64_t last = std::min<int64_t>(count, first + 500);
      for (int64_t i = first; i < last; ++i) {
        event.clear();
        AppendCompareEvent(event, key, static_cast<uint64_t>(i), SteadyNowNs(), event_bytes);
        const char* argv[] = {"XADD", key.c_str(), "*", "event", event.data()};
        size_t lens[] = {4, key.size(), 1, 5, event.size()};
        redisAppendCommandArgv(c.get(), 5, argv, lens);
      }
      for (int64_t i = first; i < last; ++i) {
        void* raw = nullptr;
        if (redisGetReply(c.get(), &raw) != REDIS_OK) {
          return Status::Unavailable(std::string("redis preload: ") + c->errstr);
        }
        ReplyPtr r(static_cast<redisReply*>(raw));
        if (r->type == REDIS_REPLY_ERROR)
          return Status::Unavailable("redis preload: " + std::string(r->str));
      }
    }
    return Status::Ok();
  }

  // XREADGROUP GROUP g <consumer> COUNT n BLOCK block_ms STREAMS key >, records every
  // entry in `sink`, XACKs them in one command. Returns how many entries were read.
  static Result<size_t> ReadAndAck(redisContext* c, const std::string& key,
                                   const std::string& consumer, int count, int block_ms,
                                   PushSink& sink) {
    ERAGON_ASSIGN_OR_RETURN(
        ReplyPtr r,
        Command(c, {"XREADGROUP", "GROUP", "g", consumer, "COUNT", std::to_string(count), "BLOCK",
                    std::to_string(block_ms), "STREAMS", key, ">"}));
    int64_t now = SteadyNowNs();
    if (r->type == REDIS_REPLY_NIL) return size_t{0};
    // [[key, [[id, [field, value]], ...]]]
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->elements != 2) {
      return Status::Unavailable("redis XREADGROUP: unexpected reply");
    }
    const redisReply* entries = r->element[0]->element[1];
    std::vector<std::string> ack = {"XACK", key, "g"};
    for (size_t i = 0; i < entries->elements; ++i) {
      const redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) {
        return Status::Unavailable("redis XREADGROUP: unexpected entry");
      }
      sink.Record(FieldValue(e->element[1]), now);
      ack.emplace_back(e->element[0]->str, e->element[0]->len);
    }
    if (entries->elements > 0) ERAGON_RETURN_IF_ERROR(Command(c, ack).status());
    return entries->elements;
  }

  Result<CellResult> Consume(const std::string& key, const CompareSettings& s) {
    ERAGON_RETURN_IF_ERROR(Preload(key, s.backlog, s.event_bytes));
    ERAGON_RETURN_IF_ERROR(Command(admin_.get(), {"XGROUP", "CREATE", key, "g", "0"}).status());
    auto expected = static_cast<uint64_t>(s.backlog);
    ConsumeTally tally;
    int64_t deadline = SteadyNowNs() + static_cast<int64_t>(s.phase_timeout_s * 1e9);
    std::vector<std::thread> threads;
    for (int i = 0; i < s.consumers; ++i) {
      threads.emplace_back([&, i] {
        Result<ContextPtr> c = Connect(endpoint_);
        if (!c.ok()) return tally.Fail(c.status());
        std::string name = "c" + std::to_string(i);
        while (!tally.stop && SteadyNowNs() < deadline) {
          int64_t sent = SteadyNowNs();
          Result<size_t> n = ReadAndAck(c->get(), key, name, s.batch, 500, tally.sink);
          if (!n.ok()) return tally.Fail(n.status());
          if (*n == 0) continue;
          tally.FetchStarted(sent);
          tally.Acked(SteadyNowNs(), expected);
        }
      });
    }
    for (auto& t : threads) t.join();
    if (!tally.failure.ok()) return tally.failure;
    return tally.Outcome(expected);
  }

  // One consumer blocked in XREADGROUP while the publishers run at the fixed rate.
  Result<CellResult> Latency(const std::string& key, const CompareSettings& s) {
    ERAGON_RETURN_IF_ERROR(
        Command(admin_.get(), {"XGROUP", "CREATE", key, "g", "$", "MKSTREAM"}).status());
    ERAGON_ASSIGN_OR_RETURN(ContextPtr consumer, Connect(endpoint_));
    PushSink sink;
    ConsumeTally reader;
    std::thread t([&] {
      while (!reader.stop) {
        Result<size_t> n = ReadAndAck(consumer.get(), key, "c0", s.batch, 200, sink);
        if (!n.ok()) return reader.Fail(n.status());
      }
    });
    LatencyWindow window(s, sink);
    RequestBuilder builder = window.Counting(Builder(key, 1, s.event_bytes));
    LoadOptions load = Load(s.clients, s);
    load.duration_s = s.latency_duration_s;
    load.request_rate = s.latency_rate;
    Result<LoadResult> publish = LoadGenerator(load, builder).Run();
    std::optional<CellResult> result;
    if (publish.ok()) {
      result = window.Finish(*publish, publish->requests_failed + publish->transport_errors);
    }
    reader.stop = true;
    t.join();
    if (!publish.ok()) return publish.status();
    if (!reader.failure.ok()) return reader.failure;
    return *result;
  }

  Endpoint endpoint_;
  ContextPtr admin_;
};

}  // namespace

Result<std::unique_ptr<TestedSystem>> MakeRedisSystem(const std::string& address) {
  ERAGON_ASSIGN_OR_RETURN(Endpoint endpoint, ParseHttpUrl("http://" + address));
  ERAGON_ASSIGN_OR_RETURN(ContextPtr admin, Connect(endpoint));
  ERAGON_RETURN_IF_ERROR(Command(admin.get(), {"PING"}).status());
  std::unique_ptr<TestedSystem> system =
      std::make_unique<RedisSystem>(std::move(endpoint), std::move(admin));
  return system;
}

}  // namespace eragon::bench
