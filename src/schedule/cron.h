// Five-field cron expressions in UTC (API.md "Schedules"): minute hour day-of-month
// month day-of-week, with Vixie cron's rules.
//
// Each field is a comma-separated list of items; an item is `*`, a value `N`, a range
// `N-M`, each optionally followed by a step `/S` (`*/5`, `1-10/2`); `N/S` means `N-max/S`.
// Months take JAN..DEC and days of week SUN..SAT (any case) wherever a number goes;
// day of week 0 and 7 are both Sunday. Day-of-month/day-of-week rule (Vixie): when both
// fields are restricted (neither starts with `*`), a day matches when EITHER matches;
// otherwise both must match (so `*/2` counts as unrestricted, exactly as in Vixie cron).
// An expression no date can ever match (`0 0 30 2 *`) is refused at parse time.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "eragon/status.h"

namespace eragon::schedule {

class CronExpr {
 public:
  // InvalidArgument "cron: ..." naming the field and the offending text.
  static Result<CronExpr> Parse(std::string_view text);

  // The first tick strictly after `after_ms` (ms since the epoch, UTC); ticks are whole
  // minutes. nullopt when none falls within the next 30 years.
  std::optional<int64_t> NextTick(int64_t after_ms) const;
  // The latest tick at or before `at_ms`; nullopt when none within the previous 30 years.
  std::optional<int64_t> LatestTick(int64_t at_ms) const;

  // Whether the minute starting at `minute_ms` is a tick. REQUIRES: a whole minute.
  bool Matches(int64_t minute_ms) const;

 private:
  struct Civil;
  bool DayMatches(const Civil& c) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_star_ = false;
  bool weekdays_star_ = false;
};

}  // namespace eragon::schedule
