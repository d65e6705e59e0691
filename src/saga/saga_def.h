// A saga definition (API.md "Sagas"): its PUT body, validation and canonical JSON.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "eragon/status.h"

namespace eragon::saga {

inline constexpr int64_t kDefaultStepTimeoutMs = 30'000;
inline constexpr int64_t kMaxStepTimeoutMs = 7LL * 24 * 3600 * 1000;  // a week
inline constexpr size_t kMaxSteps = 64;

struct SagaStep {
  std::string name;
  std::string command;               // published when the step starts
  std::vector<std::string> success;  // replies that complete the step (at least one)
  std::vector<std::string> failure;  // replies that fail the saga
  std::string compensation;          // published when a later step fails; "" = none
  int64_t timeout_ms = kDefaultStepTimeoutMs;
  bool operator==(const SagaStep&) const = default;
};

struct SagaDef {
  std::string name;
  std::string trigger;
  std::vector<SagaStep> steps;
  std::string completed;
  std::string failed;
  bool operator==(const SagaDef&) const = default;

  // The service that publishes the saga's events: "saga-<name>".
  std::string service() const { return "saga-" + name; }
  // Types the saga publishes (commands, compensations, completed, failed).
  std::set<std::string> PublishedTypes() const;
  // Types the saga consumes besides its trigger (every step's success and failure).
  std::set<std::string> ReplyTypes() const;
};

// Saga names: ^[a-z0-9][a-z0-9-]{0,58}$, so that "saga-<name>" is a service name.
bool IsValidSagaName(std::string_view name);

// Parses and validates a PUT body for saga `name`. kInvalidJson for bad JSON,
// kInvalidArgument naming the field for everything else: a bad name, a missing or bad
// type, no steps, a step without `success`, duplicate step names, a bad timeout, or a
// cycle (a type the saga publishes that it also consumes, so its own events would drive
// it). Whether the types have producer routes is the caller's check.
Result<SagaDef> ParseSagaDef(std::string_view body, std::string name);

// The canonical JSON of the definition (what ParseSagaDef accepts back).
void SagaDefToJson(const SagaDef& def, JsonWriter& w);
std::string SagaDefToJson(const SagaDef& def);

}  // namespace eragon::saga
