// Schedule parsing (src/schedule): the first byte picks a cron expression, an `every`
// period or a whole schedule body. Cron ticks must be whole minutes that Matches agrees
// with, strictly after / at or before the time asked; every periods stay in range.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_util.h"
#include "schedule/cron.h"
#include "schedule/every.h"
#include "schedule/schedule_codec.h"

using eragon::fuzz::AsView;
using eragon::fuzz::Check;
namespace schedule = eragon::schedule;

namespace {

void CheckCron(std::string_view text) {
  auto cron = schedule::CronExpr::Parse(text);
  if (!cron.ok()) return;
  for (int64_t at : {int64_t{0}, int64_t{1'764'700'000'123}, int64_t{4'102'444'800'000}}) {
    auto next = cron->NextTick(at);
    if (next) {
      Check(*next > at && *next % 60'000 == 0, "NextTick is a later whole minute");
      Check(cron->Matches(*next), "NextTick matches");
    }
    auto latest = cron->LatestTick(at);
    if (latest) {
      Check(*latest <= at && *latest % 60'000 == 0, "LatestTick is an earlier whole minute");
      Check(cron->Matches(*latest), "LatestTick matches");
    }
  }
}

void CheckEvery(std::string_view text) {
  auto period = schedule::ParseEvery(text);
  if (!period.ok()) return;
  Check(*period >= 1000 && *period <= schedule::kMaxEveryMs, "every period in range");
  int64_t tick = schedule::LatestEveryTick(*period, 1'764'700'000'123);
  Check(tick <= 1'764'700'000'123 && tick % *period == 0, "every tick on the grid");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text = AsView(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckCron(text);
      break;
    case 1:
      CheckEvery(text);
      break;
    default:
      (void)schedule::ParseSchedule(text, "nightly");
      break;
  }
  return 0;
}
