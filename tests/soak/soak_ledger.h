// The soak's ledger: every event a publisher got 202 for, every delivery a consumer
// accepted, and the checks run on them (API.md "Delivery guarantees"): nothing 202'd is
// lost, each entity's events are first delivered in publish order, and a consumer with
// `dedup: entity_event` gets one event per (entity, type), the entity's first of that type.
//
// Event ids are "<entity>.<seq>": the checks read the entity and its sequence number from
// the id, so a delivery may arrive before its publisher saw the 202. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace eragon::soak {

// What a checked consumer must have received.
enum class Expect { kEverything, kFirstPerEntityType };

struct ConsumerReport {
  std::string name;
  uint64_t deliveries = 0;            // accepted deliveries, repeats included
  uint64_t distinct = 0;              // distinct ids accepted
  uint64_t missing = 0;               // 202'd (and expected) ids never accepted
  uint64_t order_violations = 0;      // a first delivery older than one before it
  uint64_t dedup_violations = 0;      // a second id for one (entity, type), or not the first
  std::vector<std::string> examples;  // a few ids or entities behind the failures
};

class Ledger {
 public:
  static std::string IdOf(const std::string& entity, uint64_t seq);

  void AddConsumer(const std::string& name, Expect expect);
  // A 202 (duplicates included) for `id` of `type`.
  void Published(const std::string& id, const std::string& type);
  // `consumer` accepted (2xx / ack) the event `id` of `type`.
  void Received(const std::string& consumer, const std::string& id, const std::string& type);

  uint64_t published() const;
  // Missing ids of `consumer` now (cheap enough to poll every second).
  uint64_t Missing(const std::string& consumer) const;
  std::vector<ConsumerReport> Check() const;

 private:
  struct Seen {
    Expect expect = Expect::kEverything;
    std::unordered_map<std::string, uint32_t> count;       // id -> deliveries
    std::unordered_map<std::string, uint64_t> last_first;  // entity -> seq of last new id
    std::map<std::string, std::set<std::string>> by_key;   // entity/type -> ids
    uint64_t deliveries = 0, order_violations = 0;
    std::vector<std::string> examples;
  };
  // The id expected by `Expect::kFirstPerEntityType` consumers for each (entity, type).
  std::map<std::string, std::string> FirstPerKeyLocked() const;
  uint64_t MissingLocked(const Seen& s, const std::map<std::string, std::string>& first) const;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> published_;  // id -> type
  std::map<std::string, Seen> consumers_;
};

}  // namespace eragon::soak
