#include "schedule/tick_spec.h"

#include "schedule/every.h"

namespace eragon::schedule {

Result<TickSpec> TickSpec::Parse(std::string_view every, std::string_view cron) {
  if (every.empty() == cron.empty()) {
    return Status::InvalidArgument("every: exactly one of \"every\" and \"cron\" must be given");
  }
  TickSpec spec;
  if (!every.empty()) {
    ERAGON_ASSIGN_OR_RETURN(spec.period_ms_, ParseEvery(every));
  } else {
    ERAGON_ASSIGN_OR_RETURN(CronExpr expr, CronExpr::Parse(cron));
    spec.cron_ = expr;
  }
  return spec;
}

std::optional<int64_t> TickSpec::LatestTick(int64_t now_ms) const {
  if (cron_) return cron_->LatestTick(now_ms);
  return LatestEveryTick(period_ms_, now_ms);
}

std::optional<int64_t> TickSpec::NextTick(int64_t after_ms) const {
  if (cron_) return cron_->NextTick(after_ms);
  return LatestEveryTick(period_ms_, after_ms) + period_ms_;
}

}  // namespace eragon::schedule
