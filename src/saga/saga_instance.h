// One saga instance's state and its transitions (API.md "Sagas"), without I/O.
//
// The engine (saga_engine.h) loads an instance from the store, applies one transition,
// stores it (durable) and only then publishes the events the transition queued in
// `pending`, each with a deterministic id (SagaEventId), and finally clears `pending`.
// A crash between the store and the publish leaves `pending` set: the restart publishes
// it again and the publish dedup answers "duplicate" for what was already stored. So a
// step is never skipped (its command is durable in `pending` before anything else) and
// never doubled (its id is fixed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config_store.h"
#include "eragon/event.h"
#include "eragon/status.h"
#include "saga/saga_def.h"

namespace eragon::saga {

inline constexpr char kSagaFailedType[] = "eragon.saga_failed";

struct HistoryEntry {
  std::string step;        // "" for the trigger
  std::string event_type;  // "" for a timeout
  std::string event_id;
  int64_t at = 0;
  std::string note;  // "" | "timeout" | "late" (after the instance ended) | "duplicate"
};

struct PendingEvent {
  std::string id;
  std::string event_type;
  std::string data;
  bool platform = false;  // published by producer `eragon` (eragon.saga_failed)
};

// What a reply did to an instance.
enum class ReplyOutcome {
  kApplied,    // moved the instance on
  kRecorded,   // a late or out-of-step reply: added to the history, otherwise ignored
  kSeen,       // this event id is already in the history (a redelivery): nothing changed
  kUnrelated,  // not a reply type of this instance
};

struct Instance {
  std::string saga;
  std::string id;                 // the trigger's entity id
  int64_t version = 0;            // of the definition it started with
  SagaDef def;                    // that definition (the snapshot)
  std::string state = "running";  // running | completed | failed
  size_t step = 0;                // the step running (or where it ended)
  int64_t deadline_ms = 0;
  int64_t started_at = 0;
  int64_t updated_at = 0;
  std::string trigger_data;
  std::vector<std::pair<std::string, std::string>> replies;  // step name → reply data
  std::vector<HistoryEntry> history;
  std::vector<PendingEvent> pending;

  bool running() const { return state == "running"; }

  // A new instance for `trigger` of `def` (version `version`): step 0's command pending.
  static Instance Start(const SagaDef& def, int64_t version, const Event& trigger, int64_t now_ms,
                        const std::string& secret);
  // Applies a reply (matched by entity id already).
  ReplyOutcome OnReply(const Event& reply, int64_t now_ms, const std::string& secret);
  // Fails the instance when its step's deadline passed; true when it did.
  bool OnTimeout(int64_t now_ms, const std::string& secret);

  config::SagaInstanceRow ToRow() const;
  static Result<Instance> FromRow(const config::SagaInstanceRow& row);
  // The instance as GET .../instances/{id} answers it.
  void ToJson(JsonWriter& w) const;

 private:
  void StartStep(int64_t now_ms, const std::string& secret);
  void Fail(const std::string& reason, int64_t now_ms, const std::string& secret);
  // The data of every event the instance publishes: trigger data plus "replies".
  std::string OutgoingData() const;
  void Queue(const std::string& what, const std::string& type, const std::string& step,
             int64_t now_ms, const std::string& secret);
  bool Seen(const std::string& event_id) const;
};

}  // namespace eragon::saga
