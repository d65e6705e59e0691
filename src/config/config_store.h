// ConfigStore: the routing table, services with token hashes, and schedules.
// SQLite for a single node (sqlite_config_store.h), PostgreSQL shared by several nodes
// (postgres/pg_config_store.h); both run the same SQL (sql_config_store.h) and pass the
// same contract tests (config_store_contract_test.cc). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eragon/status.h"

namespace eragon::config {

// Route settings with a fixed set of values. Parsed from and written back to their API
// names ("embedded", "http", ...) only by the route codec (route_codec.h: RouteEnumName,
// ParseRouteEnum); everything else compares the enums.
enum class ChannelKind : uint8_t { kEmbedded, kKafka };            // where a topic lives
enum class DeliveryType : uint8_t { kHttp, kPull, kKafka };        // how a consumer gets events
enum class DedupMode : uint8_t { kNone, kEntityEvent, kEventId };  // which key is claimed
enum class PushFormat : uint8_t { kEragon, kCloudEvents };         // the push body
enum class StartAt : uint8_t { kLatest, kEarliest };               // a new consumer's position

// Exactly one per event type (API.md "PUT /v1/routes/{event_type}/producer").
struct ProducerRoute {
  std::string event_type;
  std::string producer;  // service name
  ChannelKind channel = ChannelKind::kEmbedded;
  std::string topic;  // defaults to event_type
  bool ordered = false;
  uint32_t partitions = 8;
  int64_t created_at = 0;  // ms
  int64_t updated_at = 0;
  bool operator==(const ProducerRoute&) const = default;
};

struct RetryPolicy {
  RetryPolicy() = default;
  // Positional, as the tests write it ({3, 100, 1000}); not an aggregate, so a brace list
  // without the schedule is no "missing initializer".
  RetryPolicy(uint32_t attempts, int64_t initial_ms, int64_t max_ms,
              std::vector<int64_t> schedule = {})
      : max_attempts(attempts),
        initial_backoff_ms(initial_ms),
        max_backoff_ms(max_ms),
        schedule_ms(std::move(schedule)) {}

  uint32_t max_attempts = 12;  // counts the first attempt; >= 1
  int64_t initial_backoff_ms = 500;
  int64_t max_backoff_ms = 3'600'000;
  // Explicit delays between attempts (ms), overriding the exponential backoff; then
  // max_attempts = its size + 1. Empty = exponential backoff.
  std::vector<int64_t> schedule_ms;
  bool operator==(const RetryPolicy&) const = default;
};

// Any number per event type (API.md "PUT /v1/routes/{event_type}/consumers/{consumer}").
struct ConsumerRoute {
  std::string event_type;
  std::string consumer;
  DeliveryType type = DeliveryType::kHttp;
  std::string url;  // http only
  int64_t timeout_ms = 5000;
  std::map<std::string, std::string> headers;
  uint32_t max_in_flight = 64;
  uint32_t rate_limit_per_s = 0;  // 0 = unlimited
  RetryPolicy retry;
  DedupMode dedup = DedupMode::kNone;
  int64_t dedup_ttl_hours = 0;  // 0 = never expire
  PushFormat format = PushFormat::kEragon;
  std::string secret;  // "" = unsigned; "whsec_<base64>"
  // Secret rotation: a PUT with a new secret keeps signing with the previous one too
  // until previous_secret_until (wall ms) = the PUT's time + secret_overlap_ms. Set by
  // the server (RouteAdmin), never by the body.
  int64_t secret_overlap_ms = 86'400'000;
  std::string previous_secret;
  int64_t previous_secret_until = 0;
  StartAt start = StartAt::kLatest;
  bool enabled = true;
  // Auto-disable (API.md "Consumer routes: more settings"): when every attempt has failed
  // for this long (ms, from the first failure of the current failing streak), the server
  // sets enabled = false with disabled_reason and disabled_at (wall ms). 0 = never.
  // disabled_reason/disabled_at are set by the server, never by the body; a PUT with
  // enabled = true clears them.
  int64_t disable_after_ms = 0;
  std::string disabled_reason;
  int64_t disabled_at = 0;
  // Content filter (src/filter): the pattern as minified JSON, validated when parsed;
  // "" = every event. Compiled by the dispatcher when it changes.
  std::string filter;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  bool operator==(const ConsumerRoute&) const = default;
};

struct Service {
  std::string name;
  std::vector<std::string> roles;  // subset of producer, consumer, admin; sorted
  std::string token_hash;          // hex SHA-256 of the token; the token is never stored
  int64_t created_at = 0;
  bool operator==(const Service&) const = default;
};

// API.md "Schedules": publishes {event_type, entity_id, data} at every tick of `every`
// or `cron` (exactly one is non-empty; validated by src/schedule before it is stored).
struct Schedule {
  std::string name;
  std::string event_type;
  std::string entity_id;
  std::string data;          // the `data` JSON value, byte-for-byte as given
  std::string every;         // e.g. "5m"; "" when cron is set
  std::string cron;          // five fields, UTC; "" when every is set
  int64_t last_tick_ms = 0;  // the latest tick fired (or skipped at creation); ms
  int64_t created_at = 0;    // ms
  int64_t updated_at = 0;
  bool operator==(const Schedule&) const = default;
};

// Outcome of a Put: whether the object was created (201) or replaced (200).
enum class PutOutcome { kCreated, kReplaced };

// API.md "Sagas": a saga definition, validated by src/saga before it is stored.
struct SagaDefinition {
  std::string name;
  std::string definition;  // the validated definition as canonical JSON (saga::SagaDefToJson)
  int64_t version = 0;     // 1 on create, +1 on every replace; instances record theirs
  int64_t created_at = 0;  // ms
  int64_t updated_at = 0;
  bool operator==(const SagaDefinition&) const = default;
};

// One saga instance (runtime state, not configuration: writes do not bump Version()).
// Its id is the trigger's entity id; `definition` is the snapshot it started with, `doc`
// the state src/saga keeps as JSON (trigger data, replies, history, events to publish).
struct SagaInstanceRow {
  std::string saga;
  std::string id;
  std::string state;  // "running", "completed" or "failed"
  int64_t step = 0;
  int64_t deadline_ms = 0;   // wall ms the current step times out; 0 = none
  bool has_pending = false;  // events recorded but maybe not yet published
  int64_t started_at = 0;
  int64_t updated_at = 0;
  std::string definition;
  std::string doc;
  bool operator==(const SagaInstanceRow&) const = default;
};

// Saga definitions and instances. Thread-safe; every write is durable on return.
class SagaStore {
 public:
  virtual ~SagaStore() = default;
  virtual Result<std::optional<SagaDefinition>> GetSaga(const std::string& name) = 0;
  virtual Result<std::vector<SagaDefinition>> ListSagas() = 0;  // ordered by name
  // Stores it as given (the caller sets version and times). Bumps Version().
  virtual Result<PutOutcome> PutSaga(const SagaDefinition& saga) = 0;
  virtual Status DeleteSaga(const std::string& name) = 0;  // NotFound when absent

  virtual Result<std::optional<SagaInstanceRow>> GetInstance(const std::string& saga,
                                                             const std::string& id) = 0;
  // The saga's instances ordered by id, after `after` (exclusive), in `state` ("" = any),
  // at most `limit`.
  virtual Result<std::vector<SagaInstanceRow>> ListInstances(const std::string& saga,
                                                             const std::string& state,
                                                             const std::string& after,
                                                             size_t limit) = 0;
  // Every saga's instance with this id (a reply's entity id).
  virtual Result<std::vector<SagaInstanceRow>> FindInstances(const std::string& id) = 0;
  // Instances that are running or have events to publish (what a restart must resume).
  virtual Result<std::vector<SagaInstanceRow>> ListActiveInstances() = 0;
  // Inserts or replaces by (saga, id).
  virtual Status PutInstance(const SagaInstanceRow& row) = 0;
};

class ConfigStore {
 public:
  virtual ~ConfigStore() = default;

  virtual Result<std::optional<ProducerRoute>> GetProducer(const std::string& event_type) = 0;
  virtual Result<std::vector<ProducerRoute>> ListProducers() = 0;
  virtual Result<PutOutcome> PutProducer(const ProducerRoute& route) = 0;
  // NotFound when absent.
  virtual Status DeleteProducer(const std::string& event_type) = 0;

  virtual Result<std::optional<ConsumerRoute>> GetConsumer(const std::string& event_type,
                                                           const std::string& consumer) = 0;
  // All consumer routes, or those of one event type / one consumer when given.
  virtual Result<std::vector<ConsumerRoute>> ListConsumers(
      const std::optional<std::string>& event_type = std::nullopt,
      const std::optional<std::string>& consumer = std::nullopt) = 0;
  virtual Result<PutOutcome> PutConsumer(const ConsumerRoute& route) = 0;
  virtual Status DeleteConsumer(const std::string& event_type, const std::string& consumer) = 0;

  virtual Result<std::optional<Service>> GetService(const std::string& name) = 0;
  virtual Result<std::optional<Service>> FindServiceByTokenHash(const std::string& hash) = 0;
  virtual Result<std::vector<Service>> ListServices() = 0;
  virtual Result<PutOutcome> PutService(const Service& service) = 0;
  virtual Status DeleteService(const std::string& name) = 0;

  virtual Result<std::optional<Schedule>> GetSchedule(const std::string& name) = 0;
  // All schedules, ordered by name.
  virtual Result<std::vector<Schedule>> ListSchedules() = 0;
  // Stores every field as given, last_tick_ms included.
  virtual Result<PutOutcome> PutSchedule(const Schedule& schedule) = 0;
  virtual Status DeleteSchedule(const std::string& name) = 0;
  // Raises the schedule's last_tick_ms to `tick_ms`; never lowers it, and a missing
  // schedule is not an error (it was deleted meanwhile). Durable on return. Runtime
  // state, not configuration: does not bump Version().
  virtual Status SetScheduleLastTick(const std::string& name, int64_t tick_ms) = 0;

  // Saga definitions and instances, in the same store. Lives as long as the store.
  virtual SagaStore* sagas() = 0;

  // A counter that increases with every change (any table); cheap to read. Caches use it
  // to notice changes made by another process sharing the store (PostgreSQL: another
  // node's change shows here within a second, one made through this store at once).
  virtual Result<int64_t> Version() = 0;
  // Brings what this store answers up to date with changes other processes made (a cache
  // reloads when Version() moved); a store that always reads through has nothing to do.
  // Called before a change is validated, so it sees every change made before it anywhere.
  virtual Status Sync() { return Status::Ok(); }
};

}  // namespace eragon::config
