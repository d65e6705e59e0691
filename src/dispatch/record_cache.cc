#include "dispatch/record_cache.h"

#include <algorithm>

#include "core/event_codec.h"

namespace eragon::dispatch {

RecordCache::RecordCache(channel::Topic* topic, size_t capacity)
    : topic_(topic),
      capacity_(capacity > 0 ? capacity : std::max<size_t>(1024, 16384 / topic->partitions())),
      runs_(topic->partitions()) {}

Status RecordCache::Read(uint32_t partition, uint64_t from, size_t max, size_t max_bytes,
                         std::vector<CachedRecord>* out) {
  std::lock_guard lock(mu_);
  if (partition >= runs_.size()) return Status::InvalidArgument("no such partition");
  Run& run = runs_[partition];
  const uint64_t end = run.base + run.recs.size();
  if (from >= run.base && from < end) {
    for (uint64_t i = from - run.base; i < run.recs.size() && max > 0; ++i, --max) {
      out->push_back(run.recs[i]);
    }
    return Status::Ok();
  }
  ERAGON_ASSIGN_OR_RETURN(std::vector<channel::Record> recs,
                          topic_->Read(partition, from, max, max_bytes));
  const bool keep = from >= end || run.recs.empty();  // not behind the run
  if (keep && !recs.empty() && recs.front().offset != end) {
    run.recs.clear();
    run.base = recs.front().offset;
  }
  for (channel::Record& rec : recs) {
    CachedRecord c;
    c.offset = rec.offset;
    c.timestamp_ms = rec.timestamp_ms;
    if (rec.event) {
      c.event = std::move(rec.event);
    } else {
      Result<Event> e = DecodeEventRecord(rec.payload);
      if (e.ok()) c.event = std::make_shared<const Event>(std::move(*e));
    }
    if (keep && c.offset == run.base + run.recs.size()) run.recs.push_back(c);
    out->push_back(std::move(c));
  }
  while (run.recs.size() > capacity_) {
    run.recs.pop_front();
    ++run.base;
  }
  return Status::Ok();
}

}  // namespace eragon::dispatch
