// The saga definition codec (saga/saga_def.h), the PUT /v1/sagas/{name} body and the
// definition snapshot every stored instance carries. The first byte picks the name: the
// fixed "order", or the input's first line. A body that parses keeps every promise of
// the validation (steps, names, timeouts, no cycle) and round trips through its
// canonical JSON; a body that does not is invalid_json or invalid_field.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz/fuzz_util.h"
#include "saga/saga_def.h"

using eragon::fuzz::AsView;
using eragon::fuzz::Check;
namespace saga = eragon::saga;

namespace {

void CheckPromises(const saga::SagaDef& d, const std::string& name) {
  Check(d.name == name && saga::IsValidSagaName(name), "the name is the path's, and valid");
  Check(!d.steps.empty() && d.steps.size() <= saga::kMaxSteps, "1 to 64 steps");
  std::set<std::string> names;
  for (const saga::SagaStep& s : d.steps) {
    Check(names.insert(s.name).second, "step names are unique");
    Check(!s.success.empty(), "every step has a success type");
    Check(s.timeout_ms >= 1 && s.timeout_ms <= saga::kMaxStepTimeoutMs, "timeouts in range");
  }
  std::set<std::string> consumed = d.ReplyTypes();
  consumed.insert(d.trigger);
  for (const std::string& t : d.PublishedTypes()) {
    Check(consumed.count(t) == 0, "no type is both published and consumed (no cycle)");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest = AsView(data + 1, size - 1);
  std::string name = "order";
  if (data[0] % 2 == 1) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return 0;
    name = std::string(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  eragon::Result<saga::SagaDef> d = saga::ParseSagaDef(rest, name);
  if (!d.ok()) {
    Check(d.status().code() == eragon::Code::kInvalidArgument ||
              d.status().code() == eragon::Code::kInvalidJson,
          "a rejected definition is invalid_field or invalid_json");
    return 0;
  }
  CheckPromises(*d, name);
  const std::string json = saga::SagaDefToJson(*d);
  eragon::Result<saga::SagaDef> again = saga::ParseSagaDef(json, name);
  Check(again.ok(), "the canonical JSON parses");
  Check(*again == *d, "the canonical JSON gives the same definition");
  Check(saga::SagaDefToJson(*again) == json, "the canonical JSON is stable");
  return 0;
}
