#include "schedule/every.h"

#include <string>

namespace eragon::schedule {
namespace {

Status Invalid(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("every: '" + std::string(text) + "' " + std::string(why));
}

}  // namespace

Result<int64_t> ParseEvery(std::string_view text) {
  constexpr std::string_view kUnits = "dhms";
  constexpr int64_t kUnitMs[] = {24 * 3'600'000LL, 3'600'000LL, 60'000LL, 1'000LL};
  constexpr std::string_view kForm =
      "must be like 30s, 5m, 2h, 1d or 1h30m (units d, h, m, s, largest first)";
  if (text.empty()) return Invalid(text, kForm);
  int64_t total = 0;
  size_t next_unit = 0;  // units must come in kUnits order, each once
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (n > kMaxEveryMs) return Invalid(text, "is longer than 366d");
      n = n * 10 + (text[i] - '0');
    }
    if (digits == 0 || i == text.size()) return Invalid(text, kForm);
    if (text.substr(i, 2) == "ms") return Invalid(text, "is too fine: the smallest unit is 1s");
    size_t unit = kUnits.find(text[i]);
    if (unit == std::string_view::npos || unit < next_unit) return Invalid(text, kForm);
    ++i;
    next_unit = unit + 1;
    if (n > kMaxEveryMs / kUnitMs[unit]) return Invalid(text, "is longer than 366d");
    total += n * kUnitMs[unit];
  }
  if (total < 1000) return Invalid(text, "must be at least 1s");
  if (total > kMaxEveryMs) return Invalid(text, "is longer than 366d");
  return total;
}

int64_t LatestEveryTick(int64_t period_ms, int64_t now_ms) {
  int64_t q = now_ms / period_ms;
  if (now_ms % period_ms != 0 && now_ms < 0) --q;
  return q * period_ms;
}

}  // namespace eragon::schedule
