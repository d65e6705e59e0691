#include "dispatch/pull_leases.h"

#include <charconv>

namespace eragon::dispatch {

void PullLeases::AppendAckId(const SlotKey& key, uint64_t tag, const std::string& topic,
                             std::string* out) {
  char buf[64];
  char* p = std::to_chars(buf, buf + 20, key.partition).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 20, key.offset).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 20, tag).ptr;
  *p++ = '.';
  out->reserve(out->size() + (p - buf) + topic.size());
  out->append(buf, p).append(topic);
}

}  // namespace eragon::dispatch
