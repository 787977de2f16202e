#include "messages/clock.hpp"

#include <chrono>
#include <cstdio>

namespace kofu {

namespace {

constexpr int64_t day_ms = 86'400'000;

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

bool digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size())
    return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

int num(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i)
    v = v * 10 + (s[i] - '0');
  return v;
}

} // namespace

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

civil_date jst_date(int64_t epoch_ms) {
  return civil_from_days(floor_div(epoch_ms + jst_offset_ms, day_ms));
}

uint32_t jst_minute_of_day(int64_t epoch_ms) {
  auto local = epoch_ms + jst_offset_ms;
  auto in_day = local - floor_div(local, day_ms) * day_ms;
  return static_cast<uint32_t>(in_day / 60'000);
}

std::string format_jst(int64_t epoch_ms) {
  auto d = jst_date(epoch_ms);
  auto local = epoch_ms + jst_offset_ms;
  auto in_day = local - floor_div(local, day_ms) * day_ms;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03d+09:00",
                static_cast<int>(d.year), static_cast<unsigned>(d.month),
                static_cast<unsigned>(d.day), static_cast<int>(in_day / 3'600'000),
                static_cast<int>(in_day / 60'000 % 60), static_cast<int>(in_day / 1000 % 60),
                static_cast<int>(in_day % 1000));
  return buf;
}

uint32_t yyyymmdd(const civil_date& d) {
  return static_cast<uint32_t>(d.year) * 10000 + d.month * 100u + d.day;
}

bool is_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (s.size() < 20 || !parse_civil_date(s.substr(0, 10)) || (s[10] != 'T' && s[10] != 't'))
    return false;
  if (!digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2))
    return false;
  if (num(s, 11, 2) > 23 || num(s, 14, 2) > 59 || num(s, 17, 2) > 60)
    return false;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
      ++pos;
    if (pos == start) // RFC 3339 bounds the digits of a fraction by none
      return false;
  }
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z'))
    return pos + 1 == s.size();
  if (pos + 6 != s.size() || (s[pos] != '+' && s[pos] != '-') || !digits(s, pos + 1, 2)
      || s[pos + 3] != ':' || !digits(s, pos + 4, 2))
    return false;
  return num(s, pos + 1, 2) <= 23 && num(s, pos + 4, 2) <= 59;
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
  if (!is_rfc3339(s))
    return std::nullopt;
  auto day = parse_civil_date(s.substr(0, 10));
  int64_t ms = days_from_civil(*day) * day_ms + num(s, 11, 2) * 3'600'000LL
               + num(s, 14, 2) * 60'000LL + num(s, 17, 2) * 1000LL;
  size_t pos = 19;
  if (s[pos] == '.') {
    int64_t frac = 0, digits_read = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits_read)
      if (digits_read < 3)
        frac = frac * 10 + (s[pos] - '0');
    for (; digits_read < 3; ++digits_read)
      frac *= 10;
    ms += frac;
  }
  if (s[pos] == 'Z' || s[pos] == 'z')
    return ms;
  int64_t offset = (num(s, pos + 1, 2) * 60 + num(s, pos + 4, 2)) * 60'000LL;
  return s[pos] == '+' ? ms - offset : ms + offset;
}

std::optional<int64_t> jst_day_start_ms(std::string_view date) {
  auto d = parse_civil_date(date);
  if (!d)
    return std::nullopt;
  return days_from_civil(*d) * day_ms - jst_offset_ms;
}

} // namespace kofu
