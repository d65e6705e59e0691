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

std::optional<PullLeases::AckId> PullLeases::ParseAckId(std::string_view s) {
  AckId a;
  auto num = [&](auto* v) {
    size_t dot = s.find('.');
    if (dot == std::string_view::npos) return false;
    auto r = std::from_chars(s.data(), s.data() + dot, *v);
    if (r.ec != std::errc() || r.ptr != s.data() + dot) return false;
    s.remove_prefix(dot + 1);
    return true;
  };
  if (!num(&a.partition) || !num(&a.offset) || !num(&a.tag) || s.empty()) return std::nullopt;
  a.topic.assign(s);
  return a;
}

}  // namespace eragon::dispatch
