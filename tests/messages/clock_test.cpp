#include <catch2/catch.hpp>

#include "messages/clock.hpp"
#include "messages/records.hpp"

using namespace kofu;

TEST_CASE("RFC 3339 times are checked and read in any offset") {
  CHECK(is_rfc3339("2026-11-28T10:15:00+09:00"));
  CHECK(is_rfc3339("2026-11-28T01:15:00Z"));
  CHECK(is_rfc3339("2026-11-28T01:15:00.123456Z"));
  CHECK_FALSE(is_rfc3339("2026-11-28T10:15:00"));
  CHECK_FALSE(is_rfc3339("2026-02-30T10:15:00Z"));
  CHECK_FALSE(is_rfc3339("2026-11-28 10:15:00Z"));
  CHECK(parse_rfc3339_ms("2026-11-28T10:15:00+09:00") == parse_rfc3339_ms("2026-11-28T01:15:00Z"));
  CHECK(*parse_rfc3339_ms("1970-01-01T00:00:01.5Z") == 1500);
  // Any number of fraction digits (RFC 3339 bounds them by none); milliseconds are kept.
  CHECK(*parse_rfc3339_ms("1970-01-01T00:00:01.123456789012+00:00") == 1123);
  CHECK_FALSE(is_rfc3339("2026-11-28T01:15:00.Z"));
}

TEST_CASE("JST dates and minutes of an instant") {
  auto ms = *parse_rfc3339_ms("2026-11-28T15:30:00Z"); // 00:30 on the 29th in Japan
  CHECK(jst_date(ms) == civil_date{2026, 11, 29});
  CHECK(jst_minute_of_day(ms) == 30);
  CHECK(format_jst(ms) == "2026-11-29T00:30:00.000+09:00");
  CHECK(yyyymmdd(civil_date{2026, 1, 2}) == 20260102u);
  CHECK(*jst_day_start_ms("2026-11-29") == *parse_rfc3339_ms("2026-11-29T00:00:00+09:00"));
}

TEST_CASE("civil dates round-trip through day numbers") {
  for (int64_t d : {-1000000LL, -1LL, 0LL, 1LL, 20000LL, 2932896LL})
    CHECK(days_from_civil(civil_from_days(d)) == d);
  CHECK(parse_civil_date("2024-02-29").has_value());
  CHECK_FALSE(parse_civil_date("2023-02-29").has_value());
  CHECK_FALSE(parse_civil_date("2023-13-01").has_value());
}
