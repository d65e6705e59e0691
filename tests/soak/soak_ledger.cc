#include "soak_ledger.h"

#include <algorithm>

namespace eragon::soak {
namespace {

// "<entity>.<seq>" -> entity, seq.
std::pair<std::string, uint64_t> Split(const std::string& id) {
  const size_t dot = id.rfind('.');
  if (dot == std::string::npos) return {id, 0};
  return {id.substr(0, dot), std::stoull(id.substr(dot + 1))};
}

void Example(std::vector<std::string>* examples, std::string what) {
  if (examples->size() < 5) examples->push_back(std::move(what));
}

}  // namespace

std::string Ledger::IdOf(const std::string& entity, uint64_t seq) {
  return entity + "." + std::to_string(seq);
}

void Ledger::AddConsumer(const std::string& name, Expect expect) {
  std::lock_guard lock(mu_);
  consumers_[name].expect = expect;
}

void Ledger::Published(const std::string& id, const std::string& type) {
  std::lock_guard lock(mu_);
  published_[id] = type;
}

void Ledger::Received(const std::string& consumer, const std::string& id, const std::string& type) {
  const auto [entity, seq] = Split(id);
  std::lock_guard lock(mu_);
  auto it = consumers_.find(consumer);
  if (it == consumers_.end()) return;
  Seen& s = it->second;
  ++s.deliveries;
  if (s.count[id]++ > 0) return;  // a repeat (at-least-once): not an order question
  s.by_key[entity + "/" + type].insert(id);
  uint64_t& last = s.last_first[entity];
  if (seq < last) {
    ++s.order_violations;
    Example(&s.examples, "order: " + id + " after seq " + std::to_string(last));
  }
  last = std::max(last, seq);
}

uint64_t Ledger::published() const {
  std::lock_guard lock(mu_);
  return published_.size();
}

std::map<std::string, std::string> Ledger::FirstPerKeyLocked() const {
  std::map<std::string, std::pair<uint64_t, std::string>> best;
  for (const auto& [id, type] : published_) {
    const auto [entity, seq] = Split(id);
    auto& b = best[entity + "/" + type];
    if (b.second.empty() || seq < b.first) b = {seq, id};
  }
  std::map<std::string, std::string> out;
  for (auto& [key, b] : best) out[key] = b.second;
  return out;
}

uint64_t Ledger::MissingLocked(const Seen& s,
                               const std::map<std::string, std::string>& first) const {
  uint64_t missing = 0;
  if (s.expect == Expect::kEverything) {
    for (const auto& [id, type] : published_) missing += s.count.count(id) == 0;
  } else {
    for (const auto& [key, id] : first) missing += s.count.count(id) == 0;
  }
  return missing;
}

uint64_t Ledger::Missing(const std::string& consumer) const {
  std::lock_guard lock(mu_);
  auto it = consumers_.find(consumer);
  if (it == consumers_.end()) return 0;
  std::map<std::string, std::string> first;
  if (it->second.expect == Expect::kFirstPerEntityType) first = FirstPerKeyLocked();
  return MissingLocked(it->second, first);
}

std::vector<ConsumerReport> Ledger::Check() const {
  std::lock_guard lock(mu_);
  const std::map<std::string, std::string> first = FirstPerKeyLocked();
  std::vector<ConsumerReport> out;
  for (const auto& [name, s] : consumers_) {
    ConsumerReport r;
    r.name = name;
    r.deliveries = s.deliveries;
    r.distinct = s.count.size();
    r.missing = MissingLocked(s, first);
    r.order_violations = s.order_violations;
    r.examples = s.examples;
    if (s.expect == Expect::kFirstPerEntityType) {
      for (const auto& [key, ids] : s.by_key) {
        auto f = first.find(key);
        if (ids.size() == 1 && f != first.end() && *ids.begin() == f->second) continue;
        ++r.dedup_violations;
        Example(&r.examples, "dedup: " + key + " got " + std::to_string(ids.size()) + " ids");
      }
    }
    if (r.missing > 0 && s.expect == Expect::kEverything) {
      for (const auto& [id, type] : published_) {
        if (s.count.count(id) == 0) Example(&r.examples, "missing: " + id);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace eragon::soak
