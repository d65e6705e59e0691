// TickSpec: when a schedule fires, from its `every` or `cron` text (exactly one given).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "eragon/status.h"
#include "schedule/cron.h"

namespace eragon::schedule {

class TickSpec {
 public:
  // InvalidArgument ("every: ..." / "cron: ...") when the text is invalid or when not
  // exactly one of the two is non-empty.
  static Result<TickSpec> Parse(std::string_view every, std::string_view cron);

  // The latest tick at or before `now_ms`; nullopt when there is none (a cron expression
  // that matched nothing in the past 30 years).
  std::optional<int64_t> LatestTick(int64_t now_ms) const;
  // The first tick strictly after `after_ms`.
  std::optional<int64_t> NextTick(int64_t after_ms) const;

 private:
  int64_t period_ms_ = 0;  // > 0 for `every`
  std::optional<CronExpr> cron_;
};

}  // namespace eragon::schedule
