#include "dispatch/push_parse.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace eragon::dispatch {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int MonthIndex(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (EqualsIgnoreCase(m, kMonths[i])) return static_cast<int>(i) + 1;
  }
  return 0;
}

// A small cursor over the date text.
struct Scanner {
  std::string_view s;
  size_t i = 0;
  bool Int(int digits_min, int digits_max, int* out) {
    int n = 0, v = 0;
    while (i < s.size() && n < digits_max && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i++] - '0');
      ++n;
    }
    *out = v;
    return n >= digits_min;
  }
  bool Lit(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void Spaces() {
    while (i < s.size() && s[i] == ' ') ++i;
  }
  std::string_view Word() {
    size_t b = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(b, i - b);
  }
  bool Time(int* h, int* m, int* sec) {
    return Int(2, 2, h) && Lit(':') && Int(2, 2, m) && Lit(':') && Int(2, 2, sec);
  }
};

std::optional<int64_t> ToEpoch(int year, int month, int day, int h, int m, int s) {
  if (month < 1 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return std::nullopt;
  return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         h * 3600 + m * 60 + std::min(s, 59);
}

}  // namespace

std::optional<int64_t> ParseHttpDate(std::string_view v) {
  Scanner sc{v};
  std::string_view wday = sc.Word();
  if (wday.empty()) return std::nullopt;
  int day = 0, year = 0, h = 0, m = 0, s = 0, month = 0;
  if (sc.Lit(',')) {
    sc.Spaces();
    if (!sc.Int(1, 2, &day)) return std::nullopt;
    if (sc.Lit(' ')) {  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
      month = MonthIndex(sc.Word());
      if (!sc.Lit(' ') || !sc.Int(4, 4, &year)) return std::nullopt;
    } else if (sc.Lit('-')) {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
      month = MonthIndex(sc.Word());
      if (!sc.Lit('-') || !sc.Int(2, 4, &year)) return std::nullopt;
      if (year < 100) year += year < 70 ? 2000 : 1900;
    } else {
      return std::nullopt;
    }
    if (!sc.Lit(' ') || !sc.Time(&h, &m, &s) || !sc.Lit(' ') || sc.Word() != "GMT") {
      return std::nullopt;
    }
  } else {  // asctime: "Sun Nov  6 08:49:37 1994"
    if (!sc.Lit(' ')) return std::nullopt;
    month = MonthIndex(sc.Word());
    sc.Spaces();
    if (!sc.Int(1, 2, &day) || !sc.Lit(' ') || !sc.Time(&h, &m, &s) || !sc.Lit(' ') ||
        !sc.Int(4, 4, &year)) {
      return std::nullopt;
    }
  }
  sc.Spaces();
  if (sc.i != v.size()) return std::nullopt;
  return ToEpoch(year, month, day, h, m, s);
}

std::optional<int64_t> ParseRetryAfterMs(std::string_view value, int64_t now_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value[0]))) {
    uint64_t secs = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (end != value.data() + value.size()) return std::nullopt;
    // Absurdly large values saturate rather than fail: the caller caps at max backoff.
    constexpr uint64_t kMaxSecs = uint64_t{1} << 40;
    if (ec == std::errc::result_out_of_range || secs > kMaxSecs) secs = kMaxSecs;
    return static_cast<int64_t>(secs) * 1000;
  }
  std::optional<int64_t> at = ParseHttpDate(value);
  if (!at) return std::nullopt;
  return std::max<int64_t>(0, *at * 1000 - now_ms);
}

bool IsSafeHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace eragon::dispatch
