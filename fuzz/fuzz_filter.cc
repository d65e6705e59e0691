// Filter patterns (src/filter): the input's first line is a pattern, the rest an event
// (a publish body, validated as at publish). A pattern that compiles is evaluated
// against that event and a few fixed ones; compiling its own source again gives the
// same verdicts.
#include <cstddef>
#include <cstdint>

#include "core/event_codec.h"
#include "filter/filter.h"
#include "fuzz/fuzz_util.h"

using eragon::fuzz::AsView;
using eragon::fuzz::Check;

namespace {

std::vector<eragon::Event> FixedEvents() {
  std::vector<eragon::Event> out;
  const char* datas[] = {
      "null", "{}", R"({"total":12.5,"customer":{"city":"Oslo"}})",
      R"({"items":[{"sku":"a-1","qty":2},{"sku":"b","qty":null}],"x":[1,[2,3]]})",
      R"([1,"two",{"three":3}])"};
  for (const char* d : datas) {
    eragon::Event e;
    e.event_type = "order.created";
    e.entity_id = "o-1";
    e.data = d;
    out.push_back(e);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  size_t nl = in.find('\n');
  std::string_view pattern = in.substr(0, nl);
  std::string_view event_text = nl == std::string_view::npos ? "" : in.substr(nl + 1);
  auto filter = eragon::filter::Filter::Compile(pattern);
  if (!filter.ok()) return 0;
  auto again = eragon::filter::Filter::Compile(filter->source());
  Check(again.ok(), "a compiled pattern's source compiles");
  static const std::vector<eragon::Event> fixed = FixedEvents();
  std::vector<eragon::Event> events = fixed;
  auto parsed = eragon::ParsePublishBody(event_text);
  if (parsed.ok()) {
    for (auto& e : parsed->events) events.push_back(std::move(e));
  }
  for (const eragon::Event& e : events) {
    Check(filter->Matches(e) == again->Matches(e), "same pattern, same verdict");
  }
  return 0;
}
