#include "sdk/queue_window.h"

#include <algorithm>

namespace eragon::sdk {

std::optional<uint64_t> QueueWindow::Remove(uint64_t seq) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const Entry& e, uint64_t s) { return e.seq < s; });
  if (it == entries_.end() || it->seq != seq || it->done) return std::nullopt;
  it->done = true;
  const uint64_t bytes = it->bytes;
  while (!entries_.empty() && entries_.front().done) entries_.pop_front();
  return bytes;
}

}  // namespace eragon::sdk
