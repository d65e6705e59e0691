// `every` schedules (API.md "Schedules"): a period such as "5m" or "1h30m", with ticks
// anchored to the Unix epoch, so every node computes the same tick times.
#pragma once

#include <cstdint>
#include <string_view>

#include "eragon/status.h"

namespace eragon::schedule {

// The longest period accepted: 366 days.
inline constexpr int64_t kMaxEveryMs = 366LL * 24 * 3'600'000;

// Parses one or more <positive integer><unit> parts, units d, h, m, s, each at most once
// and in that order ("1d", "90s", "1h30m"). Returns the period in ms, at least 1 s and at
// most kMaxEveryMs. InvalidArgument ("every: ...") otherwise, e.g. for "500ms" (the
// smallest unit is the second), "", "5", "1m1h", "0s".
Result<int64_t> ParseEvery(std::string_view text);

// The latest tick at or before `now_ms`: floor(now_ms / period_ms) * period_ms.
// REQUIRES: period_ms > 0.
int64_t LatestEveryTick(int64_t period_ms, int64_t now_ms);

}  // namespace eragon::schedule
