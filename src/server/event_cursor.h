// The `next` cursor of GET /v1/events (event_listing.h writes it): hex of one or more
// "topic\tpartition\tupper\n" lines, one per partition still to read, `upper` the
// offset to read below. A file of its own so the fuzz target (fuzz/fuzz_cursor.cc) needs
// nothing else of the server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "eragon/status.h"

namespace eragon::server {

struct CursorEntry {
  std::string topic;
  uint32_t partition = 0;
  uint64_t upper = 0;  // read below this offset
};

// Anything that is not such a cursor (not hex, empty, a torn line, an invalid topic, a
// number with trailing text) is kInvalidArgument "after: ..." (a 400).
Result<std::vector<CursorEntry>> ParseCursor(std::string_view cursor);

}  // namespace eragon::server
