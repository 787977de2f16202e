#pragma once

// Time as kofu uses it: milliseconds since the Unix epoch, shown in the service's time zone
// (Asia/Tokyo, UTC+09:00 all year, no daylight saving), and RFC 3339 checks for the center's
// timestamps.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/records.hpp"

namespace kofu {

/// Asia/Tokyo's offset from UTC; Japan has no daylight saving time.
inline constexpr int64_t jst_offset_ms = 9 * 3600 * 1000;

/// Wall-clock milliseconds since the epoch.
int64_t now_ms();

/// The local (JST) calendar date of an instant.
civil_date jst_date(int64_t epoch_ms);

/// Minutes after local (JST) midnight of an instant, 0..1439.
uint32_t jst_minute_of_day(int64_t epoch_ms);

/// `2026-11-28T10:15:00.123+09:00`.
std::string format_jst(int64_t epoch_ms);

/// YYYYMMDD as a number (20261128).
uint32_t yyyymmdd(const civil_date& d);

/// True for an RFC 3339 date-time with a time offset (`Z` or `±HH:MM`), fractions allowed.
bool is_rfc3339(std::string_view text);

/// The instant of an RFC 3339 date-time (any offset), in epoch milliseconds; nullopt if invalid.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

/// Parses `YYYY-MM-DD` as a JST day and returns its first millisecond; nullopt when invalid.
std::optional<int64_t> jst_day_start_ms(std::string_view date);

} // namespace kofu
