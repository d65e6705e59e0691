#include "server/event_cursor.h"

#include <charconv>
#include <optional>

#include "core/hash.h"
#include "core/names.h"

namespace eragon::server {

Result<std::vector<CursorEntry>> ParseCursor(std::string_view cursor) {
  const Status bad = Status::InvalidArgument("after: not a cursor returned by this endpoint");
  std::optional<std::string> raw = HexDecode(cursor);
  if (!raw || raw->empty() || raw->back() != '\n') return bad;
  std::vector<CursorEntry> entries;
  std::string_view rest(*raw);
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    const size_t t1 = line.find('\t');
    const size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) return bad;
    std::string_view topic = line.substr(0, t1);
    std::string_view partition = line.substr(t1 + 1, t2 - t1 - 1);
    std::string_view upper = line.substr(t2 + 1);
    CursorEntry e{std::string(topic), 0, 0};
    auto r1 = std::from_chars(partition.data(), partition.data() + partition.size(), e.partition);
    auto r2 = std::from_chars(upper.data(), upper.data() + upper.size(), e.upper);
    if (!IsValidTopic(topic) || r1.ec != std::errc() || r1.ptr != partition.end() ||
        r2.ec != std::errc() || r2.ptr != upper.end()) {
      return bad;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace eragon::server
