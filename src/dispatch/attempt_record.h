// AttemptRecord: one recorded delivery attempt of an event to a consumer (API.md "Delivery
// attempts"): every push (and circuit probe), and every pull fetch, ack, nack and lease
// timeout. The DeliveryStore keeps the last kAttemptsKept of each (consumer, event), in
// the order they happened, written in the same batches as the delivery states.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eragon::dispatch {

enum class AttemptKind : uint8_t {
  kPush = 0,     // an HTTP push and its answer (status 0: none; error says why)
  kProbe = 1,    // a push sent while the circuit is open (not counted as an attempt)
  kFetch = 2,    // handed to a pull fetch (leased)
  kAck = 3,      // acked (duration: since the fetch)
  kNack = 4,     // nacked
  kTimeout = 5,  // not acked within the ack timeout
};
// push | probe | fetch | ack | nack | timeout
std::string_view AttemptKindName(AttemptKind k);

inline constexpr size_t kAttemptsKept = 50;

struct AttemptRecord {
  AttemptKind kind = AttemptKind::kPush;
  uint32_t attempt = 0;     // the delivery's attempt number (Eragon-Attempt, pull "attempt")
  int64_t at = 0;           // wall ms when the attempt started (push sent, fetch, ack...)
  int64_t duration_ms = 0;  // push: send to answer; ack/nack/timeout: since the fetch
  int32_t status = 0;       // push: the HTTP status (0: no answer); ack: 200; else 0
  std::string error;        // push: why it failed ("" on 2xx); nack/timeout: what happened
  std::string node;         // the eragond that made it
};

// A record to append, by view: the hot path copies no strings.
struct AttemptFields {
  AttemptKind kind = AttemptKind::kPush;
  uint32_t attempt = 0;
  int64_t at = 0;
  int64_t duration_ms = 0;
  int32_t status = 0;
  std::string_view error;
  std::string_view node;
};
AttemptFields FieldsOf(const AttemptRecord& r);

// A record's bytes: a 4-byte length, then kind (1), attempt (4), at (8), duration_ms (8),
// status (4), the error (4-byte length + bytes) and the node (the rest); little-endian.
// Records are concatenated into a run, oldest first.
void AppendAttemptRecord(const AttemptFields& r, std::string* out);
// The records of a run, oldest first; stops at the first malformed one.
std::vector<AttemptRecord> DecodeAttemptRecords(std::string_view run);

// Attempt blocks: the histories of kAttemptBlock consecutive offsets of a partition are
// kept under one key, so the attempts of many events written together are one merge
// operand (one memtable entry) instead of one each. A block is a run of entries, oldest
// first: the offset's slot in the block (1 byte: offset % kAttemptBlock) then a record
// (AppendAttemptRecord's bytes, whose length is never 0), or a *cut*: a slot then a
// 4-byte zero length, which drops every earlier entry of a lower slot (retention).
inline constexpr uint64_t kAttemptBlock = 256;
void AppendAttemptEntry(uint64_t offset, std::string_view record, std::string* out);
void AppendAttemptCut(uint64_t offset, std::string* out);
// Applies the block's cuts and keeps the last kAttemptsKept records of each slot, in
// order. `keep_cuts`: the run may be followed by older data (a partial merge), so its cuts
// stay. Stops at the first malformed entry.
void TrimAttemptBlock(std::string_view run, bool keep_cuts, std::string* out);
// The history of `offset` in its block's run, oldest first.
std::vector<AttemptRecord> AttemptsInBlock(std::string_view run, uint64_t offset);

}  // namespace eragon::dispatch
