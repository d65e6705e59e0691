// Pull ack ids (dispatch/pull_leases.h): any text parses or is refused without harm; an
// id that parses is written back by AppendAckId as an id that parses to the same parts;
// and any parts AppendAckId writes parse back exactly.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dispatch/pull_leases.h"
#include "fuzz/fuzz_util.h"

using eragon::dispatch::PullLeases;
using eragon::fuzz::AsView;
using eragon::fuzz::Check;

namespace {

bool Same(const PullLeases::AckId& a, const PullLeases::AckId& b) {
  return a.partition == b.partition && a.offset == b.offset && a.tag == b.tag && a.topic == b.topic;
}

void CheckRoundTrip(const PullLeases::AckId& a) {
  std::string id;
  PullLeases::AppendAckId({a.partition, a.offset}, a.tag, a.topic, &id);
  auto back = PullLeases::ParseAckId(id);
  Check(back.has_value() && Same(*back, a), "AppendAckId then ParseAckId is the identity");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = PullLeases::ParseAckId(AsView(data, size));
  if (parsed) CheckRoundTrip(*parsed);
  if (size > 20) {  // parts from raw bytes: 4 + 8 + 8 bytes, the rest is the topic
    PullLeases::AckId a;
    std::memcpy(&a.partition, data, 4);
    std::memcpy(&a.offset, data + 4, 8);
    std::memcpy(&a.tag, data + 12, 8);
    a.topic.assign(AsView(data + 20, size - 20));
    CheckRoundTrip(a);
  }
  return 0;
}
