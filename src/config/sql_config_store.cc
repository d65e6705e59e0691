#include "config/sql_config_store.h"

#include <mutex>
#include <sstream>

#include "config/route_codec.h"
#include "config/sql_saga_store.h"
#include "core/json.h"

namespace eragon::config {
namespace {}  // namespace

// Ordered schema migrations; never edit a shipped one, append a new one instead.
const std::vector<std::vector<std::string>>& ConfigMigrations() {
  static const auto* migrations = new std::vector<std::vector<std::string>>{
      {
          "CREATE TABLE config_version (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)",
          "INSERT INTO config_version (id, version) VALUES (1, 0)",
          "CREATE TABLE producer_routes ("
          " event_type TEXT PRIMARY KEY, producer TEXT NOT NULL, channel TEXT NOT NULL,"
          " topic TEXT NOT NULL, ordered INTEGER NOT NULL, partitions INTEGER NOT NULL,"
          " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
          "CREATE TABLE consumer_routes ("
          " event_type TEXT NOT NULL, consumer TEXT NOT NULL, type TEXT NOT NULL,"
          " url TEXT NOT NULL, timeout_ms BIGINT NOT NULL, headers TEXT NOT NULL,"
          " max_in_flight INTEGER NOT NULL, rate_limit_per_s INTEGER NOT NULL,"
          " max_attempts INTEGER NOT NULL, initial_backoff_ms BIGINT NOT NULL,"
          " max_backoff_ms BIGINT NOT NULL, dedup TEXT NOT NULL, dedup_ttl_hours BIGINT NOT NULL,"
          " format TEXT NOT NULL, secret TEXT NOT NULL, start_position TEXT NOT NULL,"
          " enabled INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
          " PRIMARY KEY (event_type, consumer))",
          "CREATE INDEX consumer_routes_by_consumer ON consumer_routes (consumer)",
          "CREATE TABLE services ("
          " name TEXT PRIMARY KEY, roles TEXT NOT NULL, token_hash TEXT NOT NULL,"
          " created_at BIGINT NOT NULL)",
          "CREATE UNIQUE INDEX services_by_token_hash ON services (token_hash)",
      },
      {
          "CREATE TABLE schedules ("
          " name TEXT PRIMARY KEY, event_type TEXT NOT NULL, entity_id TEXT NOT NULL,"
          " data TEXT NOT NULL, every_spec TEXT NOT NULL, cron_spec TEXT NOT NULL,"
          " last_tick_ms BIGINT NOT NULL, created_at BIGINT NOT NULL,"
          " updated_at BIGINT NOT NULL)",
          "CREATE INDEX schedules_by_event_type ON schedules (event_type)",
      },
      {
          // Consumer route settings added later, as one JSON object (SettingsToJson).
          "ALTER TABLE consumer_routes ADD COLUMN settings TEXT NOT NULL DEFAULT '{}'",
      },
      SagaMigration(),
      {
          // The nodes of a cluster (src/cluster): each heartbeats its row. Unused on SQLite.
          "CREATE TABLE cluster_nodes ("
          " id TEXT PRIMARY KEY, address TEXT NOT NULL, started_at BIGINT NOT NULL,"
          " last_seen BIGINT NOT NULL, partitions BIGINT NOT NULL)",
      },
      {
          // A cluster's install secret (postgres/pg_install_secret.h): hex, one row. Unused
          // on SQLite, where the single node keeps its own in the data dir.
          "CREATE TABLE install_secret (id INTEGER PRIMARY KEY, secret TEXT NOT NULL)",
      },
  };
  return *migrations;
}

namespace {

constexpr char kProducerColumns[] =
    "event_type, producer, channel, topic, ordered, partitions, created_at, updated_at";
constexpr char kConsumerColumns[] =
    "event_type, consumer, type, url, timeout_ms, headers, max_in_flight, rate_limit_per_s,"
    " max_attempts, initial_backoff_ms, max_backoff_ms, dedup, dedup_ttl_hours, format, secret,"
    " start_position, enabled, created_at, updated_at, settings";
constexpr char kServiceColumns[] = "name, roles, token_hash, created_at";
constexpr char kScheduleColumns[] =
    "name, event_type, entity_id, data, every_spec, cron_spec, last_tick_ms, created_at,"
    " updated_at";

// A route setting stored by its API name (RouteEnumName); another name is corruption.
template <typename E>
Status ReadEnum(const Query& q, int column, E* out) {
  const std::string name = q.Text(column);
  if (ParseRouteEnum(name, out)) return Status::Ok();
  return Status::Corruption("config store: unknown route setting \"" + name + "\"");
}

Result<ProducerRoute> ReadProducer(const Query& q) {
  ProducerRoute r;
  r.event_type = q.Text(0);
  r.producer = q.Text(1);
  ERAGON_RETURN_IF_ERROR(ReadEnum(q, 2, &r.channel));
  r.topic = q.Text(3);
  r.ordered = q.Int(4) != 0;
  r.partitions = static_cast<uint32_t>(q.Int(5));
  r.created_at = q.Int(6);
  r.updated_at = q.Int(7);
  return r;
}

std::string HeadersToJson(const std::map<std::string, std::string>& headers) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  for (const auto& [name, value] : headers) w.Key(name).String(value);
  w.EndObject();
  return out;
}

Result<std::map<std::string, std::string>> HeadersFromJson(const std::string& json,
                                                           simdjson::dom::parser& parser) {
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::element root, ParseJson(json, parser));
  simdjson::dom::object object;
  if (root.get_object().get(object))
    return Status::Corruption("config store: headers not an object");
  std::map<std::string, std::string> headers;
  for (simdjson::dom::key_value_pair kv : object) {
    std::string_view value;
    if (kv.value.get_string().get(value)) {
      return Status::Corruption("config store: header value not a string");
    }
    headers.emplace(kv.key, value);
  }
  return headers;
}

// The settings column: {"filter": {...}, "retry_schedule_ms": [...], "secret_overlap_ms",
// "previous_secret", "previous_secret_until", "disable_after_ms", "disabled_reason",
// "disabled_at"} (filter, schedule, previous secret and the disable fields only when set).
std::string SettingsToJson(const ConsumerRoute& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  if (!r.filter.empty()) w.Key("filter").Raw(r.filter);
  if (!r.retry.schedule_ms.empty()) {
    w.Key("retry_schedule_ms").BeginArray();
    for (int64_t ms : r.retry.schedule_ms) w.Int(ms);
    w.EndArray();
  }
  w.Key("secret_overlap_ms").Int(r.secret_overlap_ms);
  if (!r.previous_secret.empty()) {
    w.Key("previous_secret").String(r.previous_secret);
    w.Key("previous_secret_until").Int(r.previous_secret_until);
  }
  if (r.disable_after_ms > 0) w.Key("disable_after_ms").Int(r.disable_after_ms);
  if (!r.disabled_reason.empty()) {
    w.Key("disabled_reason").String(r.disabled_reason);
    w.Key("disabled_at").Int(r.disabled_at);
  }
  w.EndObject();
  return out;
}

Status SettingsFromJson(const std::string& json, simdjson::dom::parser& parser, ConsumerRoute* r) {
  ERAGON_ASSIGN_OR_RETURN(simdjson::dom::element root, ParseJson(json, parser));
  simdjson::dom::object object;
  if (root.get_object().get(object))
    return Status::Corruption("config store: settings not an object");
  simdjson::dom::element e;
  if (!object.at_key("filter").get(e)) r->filter = simdjson::minify(e);
  simdjson::dom::array schedule;
  if (!object.at_key("retry_schedule_ms").get_array().get(schedule)) {
    for (simdjson::dom::element ms : schedule) {
      int64_t v = 0;
      if (ms.get_int64().get(v)) return Status::Corruption("config store: bad retry_schedule_ms");
      r->retry.schedule_ms.push_back(v);
    }
  }
  int64_t overlap = 0;  // absent (a route stored before rotation existed): the default
  if (!object.at_key("secret_overlap_ms").get_int64().get(overlap)) r->secret_overlap_ms = overlap;
  std::string_view previous;
  if (!object.at_key("previous_secret").get_string().get(previous)) r->previous_secret = previous;
  int64_t until = 0;
  if (!object.at_key("previous_secret_until").get_int64().get(until))
    r->previous_secret_until = until;
  int64_t v = 0;
  if (!object.at_key("disable_after_ms").get_int64().get(v)) r->disable_after_ms = v;
  std::string_view reason;
  if (!object.at_key("disabled_reason").get_string().get(reason)) r->disabled_reason = reason;
  if (!object.at_key("disabled_at").get_int64().get(v)) r->disabled_at = v;
  return Status::Ok();
}

Result<ConsumerRoute> ReadConsumer(const Query& q, simdjson::dom::parser& parser) {
  ConsumerRoute r;
  r.event_type = q.Text(0);
  r.consumer = q.Text(1);
  ERAGON_RETURN_IF_ERROR(ReadEnum(q, 2, &r.type));
  r.url = q.Text(3);
  r.timeout_ms = q.Int(4);
  ERAGON_ASSIGN_OR_RETURN(r.headers, HeadersFromJson(q.Text(5), parser));
  r.max_in_flight = static_cast<uint32_t>(q.Int(6));
  r.rate_limit_per_s = static_cast<uint32_t>(q.Int(7));
  r.retry.max_attempts = static_cast<uint32_t>(q.Int(8));
  r.retry.initial_backoff_ms = q.Int(9);
  r.retry.max_backoff_ms = q.Int(10);
  ERAGON_RETURN_IF_ERROR(ReadEnum(q, 11, &r.dedup));
  r.dedup_ttl_hours = q.Int(12);
  ERAGON_RETURN_IF_ERROR(ReadEnum(q, 13, &r.format));
  r.secret = q.Text(14);
  ERAGON_RETURN_IF_ERROR(ReadEnum(q, 15, &r.start));
  r.enabled = q.Int(16) != 0;
  r.created_at = q.Int(17);
  r.updated_at = q.Int(18);
  ERAGON_RETURN_IF_ERROR(SettingsFromJson(q.Text(19), parser, &r));
  return r;
}

std::string JoinRoles(const std::vector<std::string>& roles) {
  std::string out;
  for (const std::string& r : roles) out += (out.empty() ? "" : ",") + r;
  return out;
}

std::vector<std::string> SplitRoles(const std::string& text) {
  std::vector<std::string> roles;
  std::stringstream in(text);
  for (std::string r; std::getline(in, r, ',');) {
    if (!r.empty()) roles.push_back(r);
  }
  return roles;
}

Service ReadService(const Query& q) {
  Service s;
  s.name = q.Text(0);
  s.roles = SplitRoles(q.Text(1));
  s.token_hash = q.Text(2);
  s.created_at = q.Int(3);
  return s;
}

Schedule ReadSchedule(const Query& q) {
  Schedule s;
  s.name = q.Text(0);
  s.event_type = q.Text(1);
  s.entity_id = q.Text(2);
  s.data = q.Text(3);
  s.every = q.Text(4);
  s.cron = q.Text(5);
  s.last_tick_ms = q.Int(6);
  s.created_at = q.Int(7);
  s.updated_at = q.Int(8);
  return s;
}

class SqlConfigStore final : public ConfigStore {
 public:
  explicit SqlConfigStore(std::unique_ptr<SqlDb> db)
      : db_(std::move(db)), sagas_(NewSqlSagaStore(db_.get(), &mu_)) {}

  SagaStore* sagas() override { return sagas_.get(); }

  Result<std::optional<ProducerRoute>> GetProducer(const std::string& event_type) override {
    return Row<ProducerRoute>(
        Select(kProducerColumns, "producer_routes WHERE event_type = ?"),
        [&](Query& q) { q.Bind(event_type); }, ReadProducer);
  }

  Result<std::vector<ProducerRoute>> ListProducers() override {
    return Rows<ProducerRoute>(Select(kProducerColumns, "producer_routes ORDER BY event_type"),
                               NoBinds, ReadProducer);
  }

  Result<PutOutcome> PutProducer(const ProducerRoute& r) override {
    return Put("producer_routes", "event_type = ?", {r.event_type}, [&](bool exists) {
      auto q = db_->Prepare(
          exists ? "UPDATE producer_routes SET producer = ?, channel = ?, topic = ?, ordered = ?,"
                   " partitions = ?, created_at = ?, updated_at = ? WHERE event_type = ?"
                 : "INSERT INTO producer_routes (producer, channel, topic, ordered, partitions,"
                   " created_at, updated_at, event_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      if (!q.ok()) return q.status();
      (*q)->Bind(r.producer).Bind(RouteEnumName(r.channel)).Bind(r.topic).Bind(int64_t{r.ordered});
      (*q)->Bind(int64_t{r.partitions}).Bind(r.created_at).Bind(r.updated_at).Bind(r.event_type);
      return (*q)->Run();
    });
  }

  Status DeleteProducer(const std::string& event_type) override {
    return Delete("producer_routes", "event_type = ?", {event_type},
                  "no producer route for event type '" + event_type + "'");
  }

  Result<std::optional<ConsumerRoute>> GetConsumer(const std::string& event_type,
                                                   const std::string& consumer) override {
    return Row<ConsumerRoute>(
        Select(kConsumerColumns, "consumer_routes WHERE event_type = ? AND consumer = ?"),
        [&](Query& q) { q.Bind(event_type).Bind(consumer); },
        [this](const Query& q) { return ReadConsumer(q, parser_); });
  }

  Result<std::vector<ConsumerRoute>> ListConsumers(
      const std::optional<std::string>& event_type,
      const std::optional<std::string>& consumer) override {
    // "? = 0 OR column = ?" keeps one portable statement for all four filters.
    return Rows<ConsumerRoute>(
        Select(kConsumerColumns,
               "consumer_routes WHERE (? = 0 OR event_type = ?)"
               " AND (? = 0 OR consumer = ?) ORDER BY event_type, consumer"),
        [&](Query& q) {
          q.Bind(int64_t{event_type.has_value()}).Bind(event_type.value_or(""));
          q.Bind(int64_t{consumer.has_value()}).Bind(consumer.value_or(""));
        },
        [this](const Query& q) { return ReadConsumer(q, parser_); });
  }

  Result<PutOutcome> PutConsumer(const ConsumerRoute& r) override {
    return Put(
        "consumer_routes", "event_type = ? AND consumer = ?", {r.event_type, r.consumer},
        [&](bool exists) {
          auto q = db_->Prepare(
              exists ? "UPDATE consumer_routes SET type = ?, url = ?, timeout_ms = ?,"
                       " headers = ?, max_in_flight = ?, rate_limit_per_s = ?,"
                       " max_attempts = ?, initial_backoff_ms = ?, max_backoff_ms = ?,"
                       " dedup = ?, dedup_ttl_hours = ?, format = ?, secret = ?,"
                       " start_position = ?, enabled = ?, created_at = ?, updated_at = ?,"
                       " settings = ? WHERE event_type = ? AND consumer = ?"
                     : "INSERT INTO consumer_routes (type, url, timeout_ms, headers,"
                       " max_in_flight, rate_limit_per_s, max_attempts, initial_backoff_ms,"
                       " max_backoff_ms, dedup, dedup_ttl_hours, format, secret,"
                       " start_position, enabled, created_at, updated_at, settings,"
                       " event_type, consumer) VALUES"
                       " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
          if (!q.ok()) return q.status();
          Query& b = **q;
          b.Bind(RouteEnumName(r.type))
              .Bind(r.url)
              .Bind(r.timeout_ms)
              .Bind(HeadersToJson(r.headers));
          b.Bind(int64_t{r.max_in_flight}).Bind(int64_t{r.rate_limit_per_s});
          b.Bind(int64_t{r.retry.max_attempts}).Bind(r.retry.initial_backoff_ms);
          b.Bind(r.retry.max_backoff_ms).Bind(RouteEnumName(r.dedup)).Bind(r.dedup_ttl_hours);
          b.Bind(RouteEnumName(r.format))
              .Bind(r.secret)
              .Bind(RouteEnumName(r.start))
              .Bind(int64_t{r.enabled});
          b.Bind(r.created_at).Bind(r.updated_at).Bind(SettingsToJson(r));
          b.Bind(r.event_type).Bind(r.consumer);
          return b.Run();
        });
  }

  Status DeleteConsumer(const std::string& event_type, const std::string& consumer) override {
    return Delete("consumer_routes", "event_type = ? AND consumer = ?", {event_type, consumer},
                  "no consumer route '" + consumer + "' for event type '" + event_type + "'");
  }

  Result<std::optional<Service>> GetService(const std::string& name) override {
    return FindService("name = ?", name);
  }

  Result<std::optional<Service>> FindServiceByTokenHash(const std::string& hash) override {
    return FindService("token_hash = ?", hash);
  }

  Result<std::vector<Service>> ListServices() override {
    return Rows<Service>(Select(kServiceColumns, "services ORDER BY name"), NoBinds, ReadService);
  }

  Result<PutOutcome> PutService(const Service& s) override {
    return Put("services", "name = ?", {s.name}, [&](bool exists) {
      auto q = db_->Prepare(exists ? "UPDATE services SET roles = ?, token_hash = ?,"
                                     " created_at = ? WHERE name = ?"
                                   : "INSERT INTO services (roles, token_hash, created_at, name)"
                                     " VALUES (?, ?, ?, ?)");
      if (!q.ok()) return q.status();
      (*q)->Bind(JoinRoles(s.roles)).Bind(s.token_hash).Bind(s.created_at).Bind(s.name);
      return (*q)->Run();
    });
  }

  Status DeleteService(const std::string& name) override {
    return Delete("services", "name = ?", {name}, "no service '" + name + "'");
  }

  Result<std::optional<Schedule>> GetSchedule(const std::string& name) override {
    return Row<Schedule>(
        Select(kScheduleColumns, "schedules WHERE name = ?"), [&](Query& q) { q.Bind(name); },
        ReadSchedule);
  }

  Result<std::vector<Schedule>> ListSchedules() override {
    return Rows<Schedule>(Select(kScheduleColumns, "schedules ORDER BY name"), NoBinds,
                          ReadSchedule);
  }

  Result<PutOutcome> PutSchedule(const Schedule& s) override {
    return Put("schedules", "name = ?", {s.name}, [&](bool exists) {
      // A replacement never lowers last_tick_ms: in a cluster the node taking the PUT may
      // not have seen the tick another node fired last.
      auto q = db_->Prepare(exists ? "UPDATE schedules SET event_type = ?, entity_id = ?,"
                                     " data = ?, every_spec = ?, cron_spec = ?, last_tick_ms ="
                                     " CASE WHEN last_tick_ms > ? THEN last_tick_ms ELSE ? END,"
                                     " created_at = ?, updated_at = ? WHERE name = ?"
                                   : "INSERT INTO schedules (event_type, entity_id, data,"
                                     " every_spec, cron_spec, last_tick_ms, created_at,"
                                     " updated_at, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      if (!q.ok()) return q.status();
      (*q)->Bind(s.event_type).Bind(s.entity_id).Bind(s.data).Bind(s.every).Bind(s.cron);
      (*q)->Bind(s.last_tick_ms);
      if (exists) (*q)->Bind(s.last_tick_ms);
      (*q)->Bind(s.created_at).Bind(s.updated_at).Bind(s.name);
      return (*q)->Run();
    });
  }

  Status DeleteSchedule(const std::string& name) override {
    return Delete("schedules", "name = ?", {name}, "no schedule '" + name + "'");
  }

  Status SetScheduleLastTick(const std::string& name, int64_t tick_ms) override {
    std::lock_guard<std::mutex> lock(mu_);
    ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE schedules SET last_tick_ms = ?"
                                                 " WHERE name = ? AND last_tick_ms < ?"));
    q->Bind(tick_ms).Bind(name).Bind(tick_ms);
    return q->Run();
  }

  Result<int64_t> Version() override {
    std::lock_guard<std::mutex> lock(mu_);
    ERAGON_ASSIGN_OR_RETURN(auto q,
                            db_->Prepare("SELECT version FROM config_version WHERE id = 1"));
    ERAGON_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return Status::Corruption("config store: the config_version row is missing");
    return q->Int(0);
  }

 private:
  // Runs `change` and bumps the change counter in one transaction; rolls back on error.
  template <typename Fn>
  Status InTransaction(Fn change) {
    ERAGON_RETURN_IF_ERROR(db_->Begin());
    Status st = change();
    if (st.ok()) {
      Result<std::unique_ptr<Query>> bump =
          db_->Prepare("UPDATE config_version SET version = version + 1 WHERE id = 1");
      st = bump.ok() ? (*bump)->Run() : bump.status();
    }
    if (st.ok()) st = db_->Commit();
    if (!st.ok()) db_->Rollback();
    return st;
  }

  // Insert-or-replace written as SELECT then INSERT or UPDATE, which every SQL database
  // runs the same way inside a transaction.
  template <typename Write>
  Result<PutOutcome> Put(const std::string& table, const std::string& where,
                         std::vector<std::string> keys, Write write) {
    std::lock_guard<std::mutex> lock(mu_);
    bool exists = false;
    ERAGON_RETURN_IF_ERROR(InTransaction([&]() -> Status {
      {
        ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT 1 FROM " + table + " WHERE " + where));
        for (const std::string& k : keys) q->Bind(k);
        ERAGON_ASSIGN_OR_RETURN(exists, q->Step());
      }
      return write(exists);
    }));
    return exists ? PutOutcome::kReplaced : PutOutcome::kCreated;
  }

  Status Delete(const std::string& table, const std::string& where, std::vector<std::string> keys,
                const std::string& not_found) {
    std::lock_guard<std::mutex> lock(mu_);
    return InTransaction([&]() -> Status {
      ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM " + table + " WHERE " + where));
      for (const std::string& k : keys) q->Bind(k);
      ERAGON_RETURN_IF_ERROR(q->Run());
      if (db_->Changes() == 0) return Status::NotFound(not_found);
      return Status::Ok();
    });
  }

  Result<std::optional<Service>> FindService(const std::string& where, const std::string& key) {
    return Row<Service>(
        Select(kServiceColumns, "services WHERE " + where), [&](Query& q) { q.Bind(key); },
        ReadService);
  }

  static std::string Select(const char* columns, const std::string& rest) {
    return std::string("SELECT ") + columns + " FROM " + rest;
  }
  static void NoBinds(Query&) {}

  // The rows of `sql` (its placeholders bound by `bind`), each made by `read` (which
  // returns a T or a Result<T>), at most `max` of them.
  template <typename T, typename Bind, typename Read>
  Result<std::vector<T>> Rows(const std::string& sql, Bind bind, Read read, size_t max = SIZE_MAX) {
    std::lock_guard<std::mutex> lock(mu_);
    ERAGON_ASSIGN_OR_RETURN(auto q, db_->Prepare(sql));
    bind(*q);
    std::vector<T> out;
    while (out.size() < max) {
      ERAGON_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ERAGON_ASSIGN_OR_RETURN(T value, Result<T>(read(*q)));
      out.push_back(std::move(value));
    }
    return out;
  }

  // The first row of `sql`, if any.
  template <typename T, typename Bind, typename Read>
  Result<std::optional<T>> Row(const std::string& sql, Bind bind, Read read) {
    ERAGON_ASSIGN_OR_RETURN(std::vector<T> rows, Rows<T>(sql, bind, read, 1));
    if (rows.empty()) return std::optional<T>();
    return std::optional<T>(std::move(rows[0]));
  }

  std::mutex mu_;
  std::unique_ptr<SqlDb> db_;         // guarded by mu_
  simdjson::dom::parser parser_;      // for stored header JSON; guarded by mu_
  std::unique_ptr<SagaStore> sagas_;  // shares db_ and mu_
};

}  // namespace

std::unique_ptr<ConfigStore> NewSqlConfigStore(std::unique_ptr<SqlDb> db) {
  return std::make_unique<SqlConfigStore>(std::move(db));
}

}  // namespace eragon::config
