// The small parts of the feed module: UTF-8 validation, the code set, RFC 3339, column tables.

#include "feed/code_set.hpp"
#include "feed/columns.hpp"
#include "feed/feed_header.hpp"
#include "feed/sha256.hpp"
#include "feed/text.hpp"
#include "messages/records.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace kofu;
using namespace kofu::feed;

TEST_CASE("find_invalid_utf8", "[feed][unit]") {
  constexpr auto npos = std::string_view::npos;
  CHECK(find_invalid_utf8("") == npos);
  CHECK(find_invalid_utf8("plain ascii, long enough for the word loop") == npos);
  CHECK(find_invalid_utf8("山田\U000E0100\U0010FFFF") == npos);
  CHECK(find_invalid_utf8("abcdefgh\x80") == 8);
  CHECK(find_invalid_utf8("a\xC0\xAF") == 1);         // overlong '/'
  CHECK(find_invalid_utf8("a\xE0\x80\xAF") == 1);     // overlong
  CHECK(find_invalid_utf8("a\xED\xA0\x80") == 1);     // surrogate
  CHECK(find_invalid_utf8("a\xF4\x90\x80\x80") == 1); // above U+10FFFF
  CHECK(find_invalid_utf8("ab\xE5\xB1") == 2);        // cut short
  CHECK(find_invalid_utf8("\xFF") == 0);
}

TEST_CASE("next_code_point", "[feed][unit]") {
  std::string_view s = "a山\U000E0100";
  size_t i = 0;
  CHECK(next_code_point(s, i) == U'a');
  CHECK(next_code_point(s, i) == U'山');
  CHECK(next_code_point(s, i) == 0xE0100);
  CHECK(i == s.size());
  CHECK(is_kanji(U'山'));
  CHECK(is_kanji(U'𠮷'));
  CHECK_FALSE(is_kanji(U'や'));
  CHECK(is_kana_name_char(U'ヴ'));
  CHECK(is_kana_name_char(U'・'));
  CHECK(is_kana_name_char(U'ー'));
  CHECK(is_kana_name_char(U'ァ'));
  CHECK_FALSE(is_kana_name_char(U'ｱ'));
}

TEST_CASE("code_set finds repeats across growth", "[feed][unit]") {
  code_set s;
  for (uint64_t i = 0; i < 100'000; ++i)
    REQUIRE(s.insert(i * 7'919 % 100'000'000'000ull, i + 3) == 0);
  CHECK(s.size() == 100'000);
  CHECK(s.insert(7'919 * 5, 999) == 8);
  CHECK(s.insert(99'999'999'999ull, 5) == 0);
  CHECK(s.insert(99'999'999'999ull, 6) == 5);
  CHECK(s.insert(0, 7) == 3);
}

TEST_CASE("RFC 3339 date-times", "[feed][unit]") {
  CHECK(is_rfc3339_date_time("2026-06-01T02:00:00+09:00"));
  CHECK(is_rfc3339_date_time("2026-06-01T02:00:00Z"));
  CHECK(is_rfc3339_date_time("2026-06-01t02:00:00.123z"));
  CHECK(is_rfc3339_date_time("2016-12-31T23:59:60-00:00"));
  CHECK_FALSE(is_rfc3339_date_time("2026-06-01"));
  CHECK_FALSE(is_rfc3339_date_time("2026-06-01T02:00:00"));
  CHECK_FALSE(is_rfc3339_date_time("2026-02-30T02:00:00Z"));
  CHECK_FALSE(is_rfc3339_date_time("2026-06-01T24:00:00Z"));
  CHECK_FALSE(is_rfc3339_date_time("2026-06-01T02:00:00+0900"));
  CHECK_FALSE(is_rfc3339_date_time("2026-06-01T02:00:00.Z"));
  CHECK_FALSE(is_rfc3339_date_time("2026-06-01T02:00:00Z "));
}

TEST_CASE("column tables agree with the shared records", "[feed][unit]") {
  std::set<std::string_view> amounts, counts;
  for (const auto& c : columns_of(feed_kind::tax)) {
    if (c.type == column_type::amount) {
      CHECK(c.name == column_name(static_cast<tax_amount>(c.index)));
      amounts.insert(c.name);
    }
    if (c.type == column_type::count) {
      CHECK(c.name == column_name(static_cast<tax_count>(c.index)));
      counts.insert(c.name);
    }
  }
  CHECK(amounts.size() == tax_amount_count);
  CHECK(counts.size() == tax_count_count);
  CHECK(columns_of(feed_kind::tax).size() == 3 + tax_amount_count + 1 + tax_count_count);
  CHECK(columns_of(feed_kind::residents).size() == 8);
  CHECK(is_my_number_column("My-Number"));
  CHECK(is_my_number_column("KOJIN_BANGOU"));
  CHECK_FALSE(is_my_number_column("number"));
}

TEST_CASE("sha256 streams", "[feed][unit]") {
  CHECK(sha256::hex_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  sha256 h;
  h.update("a");
  h.update("");
  h.update("bc");
  CHECK(h.hex_digest() == sha256::hex_of("abc"));
  CHECK(h.hex_digest() == sha256::hex_of("")); // starts over
}
