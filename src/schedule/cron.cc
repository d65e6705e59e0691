#include "schedule/cron.h"

#include <array>
#include <cctype>
#include <vector>

namespace eragon::schedule {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kSearchMinutes = 30LL * 366 * 24 * 60;  // 30 years

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Days since 1970-01-01 <-> proleptic Gregorian dates (H. Hinnant's algorithms).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::string_view* names = nullptr;  // names[i] stands for min + i
  int name_count = 0;
};

Status FieldError(const FieldSpec& f, std::string_view item, std::string_view why) {
  return Status::InvalidArgument("cron: " + std::string(f.name) + " field '" + std::string(item) +
                                 "': " + std::string(why));
}

// A number or (for months and weekdays) a name.
Result<int> ParseValue(const FieldSpec& f, std::string_view item, std::string_view text) {
  if (text.empty()) return FieldError(f, item, "missing a value");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) {
        return FieldError(f, item, "'" + std::string(text) + "' is not a number");
      }
      v = v * 10 + (c - '0');
    }
    if (v < f.min || v > f.max) {
      return FieldError(f, item,
                        std::to_string(v) + " is out of range " + std::to_string(f.min) + ".." +
                            std::to_string(f.max));
    }
    return v;
  }
  if (text.size() == 3) {
    std::string upper(text);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (int i = 0; i < f.name_count; ++i) {
      if (f.names[i] == upper) return f.min + i;
    }
  }
  return FieldError(f, item,
                    "'" + std::string(text) + "' is not a number" +
                        (f.name_count > 0 ? std::string(" or a name") : std::string("")));
}

// Parses one field into `bits` (indexes min..max); sets *star when it starts with '*'.
template <size_t N>
Status ParseField(const FieldSpec& f, std::string_view text, std::bitset<N>* bits, bool* star) {
  *star = !text.empty() && text[0] == '*';
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    if (item.empty()) return FieldError(f, text, "empty list item");
    std::string_view range = item;
    int step = 1;
    bool has_step = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      if (step_text.empty() || step_text.size() > 4) return FieldError(f, item, "bad step");
      step = 0;
      for (char c : step_text) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return FieldError(f, item, "bad step");
        step = step * 10 + (c - '0');
      }
      if (step == 0) return FieldError(f, item, "step must be at least 1");
      has_step = true;
    }
    int lo = f.min;
    int hi = f.max;
    if (range != "*") {
      size_t dash = range.find('-');
      ERAGON_ASSIGN_OR_RETURN(lo, ParseValue(f, item, range.substr(0, dash)));
      if (dash != std::string_view::npos) {
        ERAGON_ASSIGN_OR_RETURN(hi, ParseValue(f, item, range.substr(dash + 1)));
        if (hi < lo) return FieldError(f, item, "range goes backwards");
      } else if (!has_step) {
        hi = lo;
      }
    }
    for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(v));
    start = comma + 1;
  }
  return Status::Ok();
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace

struct CronExpr::Civil {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
  int hour;
  int minute;
  int weekday;         // 0 = Sunday
  int64_t day_number;  // days since the epoch

  static Civil FromMinute(int64_t minute) {
    Civil c;
    c.day_number = FloorDiv(minute, 24 * 60);
    const int64_t in_day = minute - c.day_number * 24 * 60;
    c.hour = static_cast<int>(in_day / 60);
    c.minute = static_cast<int>(in_day % 60);
    c.weekday = static_cast<int>(((c.day_number + 4) % 7 + 7) % 7);  // 1970-01-01: Thursday
    const int64_t z = c.day_number + 719468;
    const int64_t era = FloorDiv(z, 146097);
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2);
    return c;
  }
  int64_t DayStartMinute() const { return day_number * 24 * 60; }
  int64_t MonthStartMinute() const { return DaysFromCivil(year, month, 1) * 24 * 60; }
};

Result<CronExpr> CronExpr::Parse(std::string_view text) {
  std::vector<std::string_view> fields = SplitFields(text);
  if (fields.size() != 5) {
    return Status::InvalidArgument("cron: '" + std::string(text) +
                                   "' must have five fields (minute hour day-of-month " +
                                   "month day-of-week), got " + std::to_string(fields.size()));
  }
  CronExpr e;
  bool star = false;
  ERAGON_RETURN_IF_ERROR(ParseField({"minute", 0, 59, nullptr}, fields[0], &e.minutes_, &star));
  ERAGON_RETURN_IF_ERROR(ParseField({"hour", 0, 23, nullptr}, fields[1], &e.hours_, &star));
  ERAGON_RETURN_IF_ERROR(
      ParseField({"day-of-month", 1, 31, nullptr}, fields[2], &e.days_, &e.days_star_));
  ERAGON_RETURN_IF_ERROR(
      ParseField({"month", 1, 12, kMonthNames.data(), 12}, fields[3], &e.months_, &star));
  std::bitset<8> weekdays;  // 0..7, 7 = Sunday again
  ERAGON_RETURN_IF_ERROR(ParseField({"day-of-week", 0, 7, kDayNames.data(), 7}, fields[4],
                                    &weekdays, &e.weekdays_star_));
  for (int d = 0; d < 7; ++d) e.weekdays_[d] = weekdays[d] || (d == 0 && weekdays[7]);

  // Refuse what can never fire: only day-of-month decides when day-of-week is `*`.
  if (e.weekdays_star_) {
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      if (!e.months_[m]) continue;
      for (int d = 1; d <= DaysInMonth(2000, m) && !possible; ++d) possible = e.days_[d];
    }
    if (!possible) {
      return Status::InvalidArgument("cron: '" + std::string(text) +
                                     "' never fires: no chosen month has that day of month");
    }
  }
  return e;
}

bool CronExpr::DayMatches(const Civil& c) const {
  const bool dom = days_[c.day];
  const bool dow = weekdays_[c.weekday];
  return (days_star_ || weekdays_star_) ? (dom && dow) : (dom || dow);
}

bool CronExpr::Matches(int64_t minute_ms) const {
  Civil c = Civil::FromMinute(FloorDiv(minute_ms, kMinuteMs));
  return months_[c.month] && DayMatches(c) && hours_[c.hour] && minutes_[c.minute];
}

std::optional<int64_t> CronExpr::NextTick(int64_t after_ms) const {
  int64_t minute = FloorDiv(after_ms, kMinuteMs) + 1;
  const int64_t limit = minute + kSearchMinutes;
  while (minute <= limit) {
    Civil c = Civil::FromMinute(minute);
    if (!months_[c.month]) {
      minute = c.MonthStartMinute() + int64_t{DaysInMonth(c.year, c.month)} * 24 * 60;
    } else if (!DayMatches(c)) {
      minute = c.DayStartMinute() + 24 * 60;
    } else if (!hours_[c.hour]) {
      minute = (FloorDiv(minute, 60) + 1) * 60;
    } else if (!minutes_[c.minute]) {
      ++minute;
    } else {
      return minute * kMinuteMs;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> CronExpr::LatestTick(int64_t at_ms) const {
  int64_t minute = FloorDiv(at_ms, kMinuteMs);
  const int64_t limit = minute - kSearchMinutes;
  while (minute >= limit) {
    Civil c = Civil::FromMinute(minute);
    if (!months_[c.month]) {
      minute = c.MonthStartMinute() - 1;
    } else if (!DayMatches(c)) {
      minute = c.DayStartMinute() - 1;
    } else if (!hours_[c.hour]) {
      minute = FloorDiv(minute, 60) * 60 - 1;
    } else if (!minutes_[c.minute]) {
      --minute;
    } else {
      return minute * kMinuteMs;
    }
  }
  return std::nullopt;
}

}  // namespace eragon::schedule
