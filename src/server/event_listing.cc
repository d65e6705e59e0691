#include "server/event_listing.h"

#include <charconv>
#include <sstream>

#include "core/event_codec.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/names.h"

namespace eragon::server {
namespace {

constexpr size_t kWindow = 256;         // records read per backwards step
constexpr size_t kScanBudget = 20'000;  // records examined per page, at most
constexpr size_t kMaxReadBytes = 8 << 20;
// A page stops growing at this many bytes (a page's events' data, and the answer); `next`
// then leads on. Without it limit=1000 over 1 MiB events built a page of ~1 GB.
constexpr size_t kMaxPageBytes = 4 << 20;
constexpr size_t kFirstWindow = 8;  // records in a partition's first backwards step

struct Candidate {
  int64_t timestamp_ms;
  uint64_t offset;
  Event event;
};

// One (topic, partition) being read backwards from `upper` (exclusive).
struct Source {
  channel::Topic* topic;
  uint32_t partition;
  uint64_t upper;
  uint64_t scanned_to;           // lowest offset examined so far
  std::vector<Candidate> found;  // matches, newest first
  size_t taken = 0;
  size_t found_bytes = 0;        // of the matches' data
  size_t window = kFirstWindow;  // records per backwards step (Fill adapts it)
};

bool Matches(const Event& e, const ListQuery& q) {
  return (!q.event_type || e.event_type == *q.event_type) &&
         (!q.entity_id || e.entity_id == *q.entity_id);
}

// Appends the matches among the records of [lo, s.scanned_to), oldest first, and adds the
// bytes read to `*bytes`. A read returns at most kMaxReadBytes, so large events take
// several reads of the range.
Status ReadWindow(const Source& s, const ListQuery& q, uint64_t lo, std::vector<Candidate>* out,
                  size_t* bytes) {
  uint64_t from = lo;
  while (from < s.scanned_to) {
    ERAGON_ASSIGN_OR_RETURN(
        std::vector<channel::Record> recs,
        s.topic->Read(s.partition, from, static_cast<size_t>(s.scanned_to - from), kMaxReadBytes));
    if (recs.empty()) break;
    for (channel::Record& rec : recs) {
      if (rec.offset >= s.scanned_to) return Status::Ok();
      from = rec.offset + 1;
      if (rec.payload.empty()) continue;  // not an event (channel.h: Record)
      *bytes += rec.payload.size();
      ERAGON_ASSIGN_OR_RETURN(Event e, DecodeEventRecord(rec.payload));
      if (Matches(e, q)) out->push_back({rec.timestamp_ms, rec.offset, std::move(e)});
    }
  }
  return Status::Ok();
}

// Reads backwards until `need` matches (or kMaxPageBytes of their data) are found, the
// partition start is reached or the shared budget runs out. A step starts at kFirstWindow
// records and doubles (up to kWindow) while steps stay small in bytes, halving when they
// are large, so large events are never read many at a time.
Status Fill(Source& s, const ListQuery& q, size_t need, size_t* budget) {
  const uint64_t start = s.topic->StartOffset(s.partition);
  if (s.scanned_to < start) s.scanned_to = start;
  while (s.found.size() < need && s.found_bytes < kMaxPageBytes && s.scanned_to > start &&
         *budget > 0) {
    uint64_t lo = s.scanned_to - std::min<uint64_t>(s.scanned_to - start, s.window);
    size_t count = static_cast<size_t>(s.scanned_to - lo);
    std::vector<Candidate> window;
    size_t bytes = 0;
    ERAGON_RETURN_IF_ERROR(ReadWindow(s, q, lo, &window, &bytes));
    for (auto it = window.rbegin(); it != window.rend(); ++it) {
      s.found_bytes += it->event.data.size();
      s.found.push_back(std::move(*it));
    }
    *budget -= std::min(*budget, count);
    s.scanned_to = lo;
    s.window = bytes < kMaxPageBytes / 8 ? std::min(s.window * 2, kWindow)
                                         : std::max<size_t>(s.window / 2, 1);
  }
  return Status::Ok();
}

std::string EncodeCursor(const std::vector<Source>& sources) {
  std::string raw;
  for (const Source& s : sources) {
    raw += s.topic->name() + "\t" + std::to_string(s.partition) + "\t" + std::to_string(s.upper) +
           "\n";
  }
  return HexEncode(raw);
}

// Topics or partitions of a cursor that no longer exist are skipped.
Status DecodeCursor(const std::string& cursor, channel::Channel* logs, std::vector<Source>* out) {
  ERAGON_ASSIGN_OR_RETURN(std::vector<CursorEntry> entries, ParseCursor(cursor));
  for (const CursorEntry& e : entries) {
    channel::Topic* t = logs->FindTopic(e.topic);
    if (t == nullptr || e.partition >= t->partitions()) continue;
    out->push_back({t, e.partition, std::min(e.upper, t->DurableEnd(e.partition)), 0, {}, 0});
  }
  return Status::Ok();
}

Result<std::vector<Source>> InitialSources(channel::Channel* logs, RouteCache* routes,
                                           const ListQuery& q) {
  std::vector<std::string> topics;
  if (q.event_type) {
    ERAGON_ASSIGN_OR_RETURN(std::optional<config::ProducerRoute> route,
                            routes->Producer(*q.event_type));
    if (route) topics.push_back(route->topic);
  }
  if (topics.empty()) topics = logs->TopicNames();
  std::vector<Source> sources;
  for (const std::string& name : topics) {
    channel::Topic* t = logs->FindTopic(name);
    if (t == nullptr) continue;
    for (uint32_t p = 0; p < t->partitions(); ++p) {
      if (q.entity_id && t->PartitionFor(*q.entity_id) != p) continue;
      sources.push_back({t, p, t->DurableEnd(p), 0, {}, 0});
    }
  }
  return sources;
}

}  // namespace

Result<index::Holder> ResolveEventId(index::IdIndex* ids, const std::string& id,
                                     const std::string& producer, const std::string& own) {
  const std::string& wanted = producer.empty() ? own : producer;
  if (!wanted.empty()) {
    ERAGON_ASSIGN_OR_RETURN(std::optional<index::Location> loc, ids->Find(id, wanted));
    if (loc) {
      return index::Holder{wanted, std::move(*loc)};
    }
    if (!producer.empty()) {
      return Status::NotFound("no event with id '" + id + "' from producer '" + producer + "'");
    }
  }
  ERAGON_ASSIGN_OR_RETURN(std::vector<index::Holder> all, ids->FindAll(id));
  if (all.empty()) return Status::NotFound("no event with id '" + id + "'");
  if (all.size() == 1) return std::move(all[0]);
  std::string names;
  for (const index::Holder& h : all) names += (names.empty() ? "'" : ", '") + h.producer + "'";
  return Status::Conflict("event id '" + id + "' is held by several producers (" + names +
                          "); name one with ?producer=");
}

Result<Event> ReadEventAt(channel::Channel* logs, const index::Holder& holder,
                          const std::string& id) {
  const index::Location& loc = holder.loc;
  channel::Topic* topic = logs->FindTopic(loc.topic);
  if (topic == nullptr) return Status::NotFound("no event with id '" + id + "'");
  ERAGON_ASSIGN_OR_RETURN(std::vector<channel::Record> recs,
                          topic->Read(loc.partition, loc.offset, 1, kMaxReadBytes));
  if (recs.empty() || recs[0].offset != loc.offset) {
    return Status::NotFound("no event with id '" + id + "' (no longer retained)");
  }
  ERAGON_ASSIGN_OR_RETURN(Event e, DecodeEventRecord(recs[0].payload));
  if (e.id != id || e.producer != holder.producer) {
    return Status::Internal("id index points at another event for '" + id + "'");
  }
  return e;
}

Result<ListQuery> ParseListQuery(const http::HttpRequest& req) {
  ListQuery q;
  if (auto t = req.Query("event_type")) {
    if (!IsValidEventType(*t)) return Status::InvalidArgument("event_type: not a valid name");
    q.event_type = std::string(*t);
  }
  if (auto e = req.Query("entity_id")) {
    ERAGON_RETURN_IF_ERROR(ValidateEntityId(*e));
    q.entity_id = std::string(*e);
  }
  if (auto l = req.Query("limit")) {
    size_t n = 0;
    auto r = std::from_chars(l->data(), l->data() + l->size(), n);
    if (r.ec != std::errc() || r.ptr != l->data() + l->size() || n < 1 || n > 1000) {
      return Status::InvalidArgument("limit: must be an integer from 1 to 1000");
    }
    q.limit = n;
  }
  if (auto a = req.Query("after")) {
    if (a->empty()) return Status::InvalidArgument("after: not a cursor returned by this endpoint");
    q.after = std::string(*a);
  }
  return q;
}

Result<std::string> ListEventsJson(channel::Channel* logs, RouteCache* routes, const ListQuery& q) {
  std::vector<Source> sources;
  if (q.after.empty()) {
    ERAGON_ASSIGN_OR_RETURN(sources, InitialSources(logs, routes, q));
  } else {
    ERAGON_RETURN_IF_ERROR(DecodeCursor(q.after, logs, &sources));
  }
  size_t budget = kScanBudget;
  for (Source& s : sources) {
    s.scanned_to = s.upper;
    ERAGON_RETURN_IF_ERROR(Fill(s, q, q.limit, &budget));
  }
  // Merge: newest first by timestamp, then by offset.
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("items").BeginArray();
  size_t emitted = 0;
  // Stops at kMaxPageBytes: a source whose matches stopped at that many bytes is never
  // passed over (emitting them all reaches the cap), so the order holds across pages.
  while (emitted < q.limit && out.size() < kMaxPageBytes) {
    Source* best = nullptr;
    for (Source& s : sources) {
      if (s.taken >= s.found.size()) continue;
      const Candidate& c = s.found[s.taken];
      if (best == nullptr) {
        best = &s;
        continue;
      }
      const Candidate& b = best->found[best->taken];
      if (c.timestamp_ms > b.timestamp_ms ||
          (c.timestamp_ms == b.timestamp_ms && c.offset > b.offset)) {
        best = &s;
      }
    }
    if (best == nullptr) break;
    EventToJson(best->found[best->taken].event, w);
    ++best->taken;
    ++emitted;
  }
  w.EndArray().Key("next");
  bool more = false;
  for (Source& s : sources) {
    if (s.taken == s.found.size()) {
      s.upper = s.scanned_to;  // every match above it was returned
    } else if (s.taken > 0) {
      s.upper = s.found[s.taken - 1].offset;
    }
    if (s.upper > s.topic->StartOffset(s.partition)) more = true;
  }
  if (more) {
    w.String(EncodeCursor(sources));
  } else {
    w.Null();
  }
  w.EndObject();
  return out;
}

}  // namespace eragon::server
