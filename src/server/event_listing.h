// Reading events back: by id through the id index, and recent events newest first by
// scanning the log backwards from a cursor (GET /v1/events).
#pragma once

#include <optional>
#include <string>

#include "channel/channel.h"
#include "eragon/event.h"
#include "eragon/status.h"
#include "http/http_message.h"
#include "index/id_index.h"
#include "server/event_cursor.h"
#include "server/route_cache.h"

namespace eragon::server {

// Ids are scoped per producer. Which producer's event `id` names: `producer` when not
// empty; else `own` (the caller's service; empty for an admin) when it holds the id; else
// the only holder. NotFound when there is none; Conflict naming them when several hold it.
Result<index::Holder> ResolveEventId(index::IdIndex* ids, const std::string& id,
                                     const std::string& producer, const std::string& own);

// The event `holder` stored under `id`; NotFound when no longer retained.
Result<Event> ReadEventAt(channel::Channel* logs, const index::Holder& holder,
                          const std::string& id);

struct ListQuery {
  std::optional<std::string> event_type;
  std::optional<std::string> entity_id;
  size_t limit = 100;  // 1..1000
  std::string after;   // opaque cursor from a previous page's "next"
};
Result<ListQuery> ParseListQuery(const http::HttpRequest& req);

// {"items": [event...], "next": cursor|null}: events newest first (by log timestamp,
// then log order). Scans at most a bounded number of records per call; a page may hold
// fewer than `limit` items and still have a `next` when the scan budget ran out.
Result<std::string> ListEventsJson(channel::Channel* logs, RouteCache* routes,
                                   const ListQuery& query);

}  // namespace eragon::server
