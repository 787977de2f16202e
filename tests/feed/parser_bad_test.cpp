// Malformed feeds: each names the line and the column of its first error (feeds.md: every error
// names its line number and column; errors that belong to no column name the line only).

#include "feed_test_util.hpp"

#include <catch2/catch.hpp>

using namespace kofu;
using namespace kofu::feed;
using namespace kofu::feed::test;

namespace {

const std::string resident_a =
  "12345678901,山田太郎,ヤマダ　タロウ,1980-04-01,大阪府吹田市泉町一丁目3番40号,active,,";
const std::string resident_b =
  "12345678902,吹田花子,スイタ　ハナコ,1975-12-31,大阪府吹田市千里山西1丁目1-1,moved_out,2026-03-31,";
const std::string resident_c =
  "12345678903,千里一郎,センリ　イチロウ,2001-02-28,大阪府吹田市江坂町1丁目,deceased,2025-11-02,other";

feed_parts residents(std::vector<std::string> records = {resident_a, resident_b, resident_c}) {
  return feed_parts{residents_header(), residents_columns, std::move(records)};
}

feed_parts taxes(std::vector<std::string> records) {
  return feed_parts{tax_header(), tax_columns(), std::move(records)};
}

/// Checks the first error, that the sink was not called after it, and that every chunking agrees.
void expect_first_error(const std::string& bytes, uint64_t line, std::string_view field,
                        std::string_view message_part = {}) {
  const auto r = parse(bytes);
  INFO("first error: " << (r.errors.empty() ? std::string("none")
                                             : std::to_string(r.errors[0].line) + " [" + r.errors[0].field
                                                 + "] " + r.errors[0].message));
  REQUIRE_FALSE(r.ok);
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors[0].line == line);
  CHECK(r.errors[0].field == field);
  if (!message_part.empty())
    CHECK(r.errors[0].message.find(message_part) != std::string::npos);
  for (size_t chunk : {1, 2, 3, 7, 64}) {
    const auto c = parse(bytes, chunk);
    CHECK(c.errors == r.errors);
  }
}

} // namespace

TEST_CASE("a file without trailer is truncated: the error names the missing line", "[feed][bad]") {
  auto text = assemble(residents());
  text.resize(text.find("#END")); // the file ends after the last record line
  expect_first_error(text, 6, "", "truncated");
}

TEST_CASE("a file cut mid-line is truncated on that line", "[feed][bad]") {
  auto text = assemble(residents());
  text.resize(text.find("12345678903") + 20);
  const auto r = parse(text);
  REQUIRE(r.errors.size() == 1); // the partial line is not checked as a record
  CHECK(r.errors[0].line == 5);
  CHECK(r.errors[0].field.empty());
  CHECK(r.errors[0].message.find("truncated") != std::string::npos);
}

TEST_CASE("a wrong checksum is an error on the trailer line", "[feed][bad]") {
  auto p = residents();
  p.sha_override = std::string(64, 'a');
  expect_first_error(assemble(p), 6, "", "SHA-256");
}

TEST_CASE("a record missing from the file breaks the count and the checksum", "[feed][bad]") {
  auto text = assemble(residents());
  const auto start = text.find("12345678902");
  text.erase(start, text.find('\n', start) + 1 - start);
  const auto r = parse(text);
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0] == feed_error{5, "", "the trailer says 3 records but the file has 2 record lines"});
  CHECK(r.errors[1].line == 5);
}

TEST_CASE("a record count off by one is an error on the trailer line", "[feed][bad]") {
  auto p = residents();
  p.records_override = 4;
  expect_first_error(assemble(p), 6, "", "says 4 records");
  p.records_override = 2;
  expect_first_error(assemble(p), 6, "", "says 2 records");
}

TEST_CASE("a byte that is not CP932 names its line and column", "[feed][bad]") {
  auto p = residents();
  p.header = residents_header("full", "CP932");
  p.cp932 = true;
  auto text = assemble(p);
  // Replace the second byte of 山 (line 3, name) by 0x7F: 0x8E 0x7F is no CP932 character.
  const auto yama = to_cp932("山");
  const auto at = text.find(yama);
  REQUIRE(at != std::string::npos);
  text[at + 1] = '\x7F';
  expect_first_error(text, 3, "name", "not valid CP932");
}

TEST_CASE("an undefined CP932 lead byte is an error too", "[feed][bad]") {
  auto p = residents();
  p.header = residents_header("full", "CP932");
  p.cp932 = true;
  p.records[2] = "12345678903,千里一郎,センリ　イチロウ,2001-02-28,大阪府吹田市江坂町1丁目,deceased,2025-11-02,X";
  auto text = assemble(p);
  text[text.rfind(",X") + 1] = '\xFD';
  expect_first_error(text, 5, "hold", "not valid CP932");
}

TEST_CASE("invalid UTF-8 names its line and column", "[feed][bad]") {
  auto p = residents();
  p.records[1] = resident_b;
  auto text = assemble(p);
  const auto at = text.find("千里山西");
  text[at] = '\xC0'; // an overlong lead byte: never valid
  expect_first_error(text, 4, "address", "not valid UTF-8");
}

TEST_CASE("a truncated UTF-8 sequence at the end of a field is invalid", "[feed][bad]") {
  auto p = residents();
  p.records[0] = "12345678901,山田太\xE9\x83,ヤマダ　タロウ,1980-04-01,大阪府,active,,";
  expect_first_error(assemble(p), 3, "name", "UTF-8");
}

TEST_CASE("an unknown column is an error on line 2", "[feed][bad]") {
  auto p = residents();
  p.columns += ",nickname";
  for (auto& r : p.records)
    r += ",x";
  expect_first_error(assemble(p), 2, "nickname", "unknown column 'nickname'");
}

TEST_CASE("a My Number column is refused", "[feed][bad]") {
  for (std::string col : {"my_number", "individual_number", "kojin_bango", "MyNumber"}) {
    auto p = residents();
    p.columns = col + "," + p.columns;
    for (auto& r : p.records)
      r = "123456789012," + r;
    expect_first_error(assemble(p), 2, col, "must not be delivered to this system");
  }
}

TEST_CASE("a missing column is an error naming it", "[feed][bad]") {
  auto p = residents();
  p.columns = "resident_code,name,name_kana,birth_date,address,status,status_date";
  for (auto& r : p.records)
    r = r.substr(0, r.rfind(','));
  expect_first_error(assemble(p), 2, "hold", "is missing");
}

TEST_CASE("a duplicated column is an error", "[feed][bad]") {
  auto p = residents();
  p.columns += ",name";
  for (auto& r : p.records)
    r += ",x";
  expect_first_error(assemble(p), 2, "name", "more than once");
}

TEST_CASE("op in a full feed is an error", "[feed][bad]") {
  auto p = residents();
  p.columns = "op," + p.columns;
  for (auto& r : p.records)
    r = "U," + r;
  expect_first_error(assemble(p), 2, "op");
}

TEST_CASE("a resident code twice in the file is an error on the second line", "[feed][bad]") {
  auto p = residents({resident_a, resident_b, resident_a});
  expect_first_error(assemble(p), 5, "resident_code", "first on line 3");
}

TEST_CASE("a resident code that is not 11 digits is an error", "[feed][bad]") {
  auto p = residents({"1234567890," + resident_a.substr(12)});
  expect_first_error(assemble(p), 3, "resident_code", "11 ASCII digits");
}

TEST_CASE("a date that does not exist is an error", "[feed][bad]") {
  auto p = residents({resident_a, "12345678902,吹田花子,スイタ　ハナコ,2023-02-29,大阪府,active,,"});
  expect_first_error(assemble(p), 4, "birth_date", "real date");
}

TEST_CASE("a birth date in the future is an error", "[feed][bad]") {
  auto p = residents({"12345678902,吹田花子,スイタ　ハナコ,2026-06-02,大阪府,active,,"});
  expect_first_error(assemble(p), 3, "birth_date", "future");
  // today itself is fine
  p.records[0] = "12345678902,吹田花子,スイタ　ハナコ,2026-06-01,大阪府,active,,";
  CHECK(parse(assemble(p)).ok);
}

TEST_CASE("a name over 64 characters is an error that does not quote it", "[feed][bad]") {
  std::string name;
  for (int i = 0; i < 65; ++i)
    name += "山";
  auto p = residents({"12345678901," + name + ",ヤマダ,1980-04-01,大阪府,active,,"});
  expect_first_error(assemble(p), 3, "name", "name is longer than 64 characters");
  CHECK(parse(assemble(p)).errors[0].message.find("山") == std::string::npos);
}

TEST_CASE("an address over 128 characters is an error", "[feed][bad]") {
  std::string address(129, 'a');
  auto p = residents({"12345678901,山田,ヤマダ,1980-04-01," + address + ",active,,"});
  expect_first_error(assemble(p), 3, "address", "longer than 128");
}

TEST_CASE("kana with a character outside katakana is an error", "[feed][bad]") {
  auto p = residents({"12345678901,山田太郎,ヤマダ　たろう,1980-04-01,大阪府,active,,"});
  expect_first_error(assemble(p), 3, "name_kana", "character 5");
  p.records[0] = "12345678901,山田太郎,ﾔﾏﾀﾞ,1980-04-01,大阪府,active,,"; // half-width
  expect_first_error(assemble(p), 3, "name_kana");
  p.records[0] = "12345678901,山田太郎,,1980-04-01,大阪府,active,,";
  expect_first_error(assemble(p), 3, "name_kana", "empty");
}

TEST_CASE("a status_date on an active resident is an error", "[feed][bad]") {
  auto p = residents({"12345678901,山田太郎,ヤマダ,1980-04-01,大阪府,active,2026-01-01,"});
  expect_first_error(assemble(p), 3, "status_date", "empty when status is active");
}

TEST_CASE("a resident who moved out without status_date is an error", "[feed][bad]") {
  auto p = residents({"12345678901,山田太郎,ヤマダ,1980-04-01,大阪府,moved_out,,"});
  expect_first_error(assemble(p), 3, "status_date", "required");
}

TEST_CASE("an unknown status or hold is an error", "[feed][bad]") {
  auto p = residents({"12345678901,山田太郎,ヤマダ,1980-04-01,大阪府,alive,,"});
  expect_first_error(assemble(p), 3, "status");
  p.records[0] = "12345678901,山田太郎,ヤマダ,1980-04-01,大阪府,active,,dv";
  expect_first_error(assemble(p), 3, "hold");
}

TEST_CASE("a variation selector after a non-kanji is an error", "[feed][bad]") {
  auto p = residents({"12345678901,やま\U000E0100だ,ヤマダ,1980-04-01,大阪府,active,,"});
  expect_first_error(assemble(p), 3, "name", "variation selector");
}

TEST_CASE("a control character in a name is an error", "[feed][bad]") {
  auto p = residents({"12345678901,山田\t太郎,ヤマダ,1980-04-01,大阪府,active,,"});
  expect_first_error(assemble(p), 3, "name", "control character");
}

TEST_CASE("total_deductions that is not the sum is an error", "[feed][bad]") {
  auto p = taxes({tax_line(), tax_line({{"resident_code", "12345678902"}, {"total_deductions", "1030001"}})});
  expect_first_error(assemble(p), 4, "total_deductions", "sum of the 13 deductions");
}

TEST_CASE("total_tax that is not the sum is an error", "[feed][bad]") {
  auto p = taxes({tax_line({{"forest_env_tax", "0"}})});
  expect_first_error(assemble(p), 3, "total_tax", "sum of the five taxes");
}

TEST_CASE("an amount above 999999999999 is an error", "[feed][bad]") {
  auto p = taxes({tax_line({{"salary_revenue", "1000000000000"}})});
  expect_first_error(assemble(p), 3, "salary_revenue", "above the largest amount");
  p.records[0] = tax_line({{"salary_revenue", "999999999999"}});
  CHECK(parse(assemble(p)).ok);
  p.records[0] = tax_line({{"salary_revenue", "99999999999999999999999"}});
  expect_first_error(assemble(p), 3, "salary_revenue", "above the largest amount");
}

TEST_CASE("an amount with separators is an error", "[feed][bad]") {
  auto p = taxes({tax_line({{"salary_revenue", "\"4,200,000\""}})});
  expect_first_error(assemble(p), 3, "salary_revenue", "separator");
  p.records[0] = tax_line({{"salary_revenue", "-5"}});
  expect_first_error(assemble(p), 3, "salary_revenue", "negative");
  p.records[0] = tax_line({{"salary_revenue", "4200000.0"}});
  expect_first_error(assemble(p), 3, "salary_revenue", "decimal");
  p.records[0] = tax_line({{"salary_revenue", "４２００"}});
  expect_first_error(assemble(p), 3, "salary_revenue", "digits only");
}

TEST_CASE("counts and the spouse flag are bounded", "[feed][bad]") {
  auto p = taxes({tax_line({{"dep_general", "100"}})});
  expect_first_error(assemble(p), 3, "dep_general", "0 to 99");
  p.records[0] = tax_line({{"spouse_flag", "2"}});
  expect_first_error(assemble(p), 3, "spouse_flag", "0 or 1");
}

TEST_CASE("a not_filed record with a nonzero amount is an error", "[feed][bad]") {
  std::map<std::string, std::string> zero;
  for (const auto& c : columns_of(feed_kind::tax))
    if (c.type == column_type::amount)
      zero[std::string(c.name)] = "";
  zero["declaration"] = "not_filed";
  auto p = taxes({tax_line(zero)});
  CHECK(parse(assemble(p)).ok); // empty amounts are 0
  zero["medical"] = "5";
  p.records[0] = tax_line(zero);
  expect_first_error(assemble(p), 3, "medical", "must be 0 in a not_filed record");
  zero["medical"] = "0";
  zero["dep_under16"] = "1";
  zero["declaration"] = "dependent";
  p.records[0] = tax_line(zero);
  expect_first_error(assemble(p), 3, "dep_under16", "dependent");
}

TEST_CASE("a header naming another municipality is an error on line 1", "[feed][bad]") {
  auto p = residents();
  p.header.replace(p.header.find("272051"), 6, "131016");
  expect_first_error(assemble(p), 1, "", "municipality");
}

TEST_CASE("a delta line with an unknown op is an error on op", "[feed][bad]") {
  auto p = residents({"U," + resident_a, "X," + resident_b});
  p.header = residents_header("delta");
  p.columns = "op," + residents_columns;
  expect_first_error(assemble(p), 4, "op", "U");
  p.records[1] = "u," + resident_b; // case matters
  expect_first_error(assemble(p), 4, "op");
}

TEST_CASE("a D line needs a valid code", "[feed][bad]") {
  auto p = feed_parts{residents_header("delta"), "op," + residents_columns, {"D,1234,,,,,,,"}};
  expect_first_error(assemble(p), 3, "resident_code");
}

TEST_CASE("a line with the wrong number of fields names the line only", "[feed][bad]") {
  auto p = residents({resident_a + ","});
  expect_first_error(assemble(p), 3, "", "9 fields");
  p.records[0] = resident_a.substr(0, resident_a.rfind(','));
  expect_first_error(assemble(p), 3, "", "7 fields");
  p.records[0] = resident_a + std::string(100, ',');
  expect_first_error(assemble(p), 3, "", "more than 64 fields");
  p.records[0] = "";
  expect_first_error(assemble(p), 3, "", "1 fields");
}

TEST_CASE("a line over 64 KiB is an error, not a buffer", "[feed][bad]") {
  auto p = residents({resident_a, "12345678902," + std::string(70'000, 'a') + ",ヤマダ,1980-04-01,大阪府,active,,"});
  const auto text = assemble(p);
  expect_first_error(text, 4, "", "longer than 65536 bytes");
  const auto r = parse(text);
  CHECK(r.errors.size() == 1); // the count and the checksum still agree
  CHECK(r.records_seen == 2);
}

TEST_CASE("quoting errors name the field", "[feed][bad]") {
  auto p = residents({"12345678901,\"山田,ヤマダ,1980-04-01,大阪府,active,,"});
  expect_first_error(assemble(p), 3, "name", "not closed");
  p.records[0] = "12345678901,\"山田\"x,ヤマダ,1980-04-01,大阪府,active,,";
  expect_first_error(assemble(p), 3, "name", "after its closing quote");
  p.records[0] = "12345678901,山\"田,ヤマダ,1980-04-01,大阪府,active,,";
  expect_first_error(assemble(p), 3, "name", "quote inside an unquoted field");
}

TEST_CASE("an unknown header key is an error on line 1", "[feed][bad]") {
  auto p = residents();
  p.header = "#KOFU-FEED,priority=high" + p.header.substr(p.header.find(','));
  expect_first_error(assemble(p), 1, "", "unknown header key 'priority'");
  // The kind the header names is still known (the status page shows the feed under it).
  collecting_sink sink;
  parser_options opt;
  opt.municipality = municipality;
  opt.today = today;
  parser parse_it(opt, sink);
  parse_it.feed(assemble(p));
  parse_it.finish();
  CHECK_FALSE(parse_it.header().has_value());
  REQUIRE(parse_it.kind_named().has_value());
  CHECK(*parse_it.kind_named() == feed_kind::residents);
}

TEST_CASE("a missing or repeated header key is an error", "[feed][bad]") {
  auto p = residents();
  p.header = "#KOFU-FEED,version=1,kind=residents,mode=full,municipality=272051,encoding=UTF-8," + created_at;
  expect_first_error(assemble(p), 1, "", "no sequence");
  p.header = residents_header() + ",sequence=8";
  expect_first_error(assemble(p), 1, "", "more than once");
  p.header = residents_header();
  p.header.replace(p.header.find("sequence=7"), 10, "sequence=0");
  expect_first_error(assemble(p), 1, "", "positive");
  p.header = residents_header();
  p.header.replace(p.header.find("version=1"), 9, "version=2");
  expect_first_error(assemble(p), 1, "", "version");
  p.header = residents_header("full", "Shift_JIS");
  expect_first_error(assemble(p), 1, "", "UTF-8 or CP932");
  p.header = residents_header();
  p.header.replace(p.header.find("2026-06-01T"), 11, "2026-06-01 ");
  expect_first_error(assemble(p), 1, "", "RFC 3339");
  p.header = "KOFU-FEED,version=1";
  expect_first_error(assemble(p), 1, "", "not a feed header");
}

TEST_CASE("a tax feed without fiscal_year is an error on line 1", "[feed][bad]") {
  auto p = taxes({tax_line()});
  p.header.replace(p.header.find(",fiscal_year=2025"), 17, "");
  expect_first_error(assemble(p), 1, "", "no fiscal_year");
}

TEST_CASE("a residents feed with fiscal_year is an error on line 1", "[feed][bad]") {
  auto p = residents();
  p.header += ",fiscal_year=2025";
  expect_first_error(assemble(p), 1, "", "fiscal_year is not allowed in a residents feed");
}

TEST_CASE("a byte order mark is refused with its own message", "[feed][bad]") {
  expect_first_error("\xEF\xBB\xBF" + assemble(residents()), 1, "", "byte order mark");
  const auto r = parse("\xEF\xBB\xBF" + assemble(residents()));
  CHECK(r.errors.size() == 1); // the rest is still checked, and is fine
}

TEST_CASE("content after the trailer is an error", "[feed][bad]") {
  expect_first_error(assemble(residents()) + "\n", 7, "", "after the trailer");
  expect_first_error(assemble(residents()) + "12345678909,x", 7, "", "after the trailer");
}

TEST_CASE("a malformed trailer is an error on its line", "[feed][bad]") {
  auto text = assemble(residents());
  text.replace(text.find("#END,records="), 13, "#END,count=");
  expect_first_error(text, 6, "", "trailer");
  auto p = residents();
  p.sha_override = std::string(64, 'A');
  expect_first_error(assemble(p), 6, "", "lowercase hex");
  expect_first_error(assemble(residents()).replace(assemble(residents()).find("#END,"), 5, "#END;"), 6, "", "not the trailer");
  // Only "#END" starts the trailer: another line that starts with '#' is a record.
  expect_first_error(assemble(residents()).replace(assemble(residents()).find("#END"), 4, "#EOF"), 6, "", "the line has 3 fields");
}

TEST_CASE("a record may start with #", "[feed][bad]") {
  feed_parts p = residents({"#1番地,12345678901,山田太郎,ヤマダ,1980-04-01,active,,"});
  p.columns = "address,resident_code,name,name_kana,birth_date,status,status_date,hold";
  auto r = parse(assemble(p));
  REQUIRE(r.ok);
  REQUIRE(r.sink.residents.size() == 1);
  CHECK(r.sink.residents[0].second.address == "#1番地");
}

TEST_CASE("standardized variation selectors are not counted and follow a character", "[feed][bad]") {
  std::string name;
  for (int i = 0; i < 64; ++i)
    name += "葛︀";
  auto p = residents({"12345678901," + name + ",ヤマダ,1980-04-01,大阪府,active,,"});
  CHECK(parse(assemble(p)).ok);
  p.records[0] = "12345678901,︀山田,ヤマダ,1980-04-01,大阪府,active,,";
  expect_first_error(assemble(p), 3, "name", "a kanji (character 1)");
  p.records[0] = "12345678901,山󠄀︀田,ヤマダ,1980-04-01,大阪府,active,,";
  expect_first_error(assemble(p), 3, "name", "a kanji (character 3)");
}

TEST_CASE("an empty file and a header-only file are errors", "[feed][bad]") {
  expect_first_error("", 1, "", "empty");
  expect_first_error(residents_header() + "\n", 2, "", "truncated");
  expect_first_error(residents_header(), 2, "", "truncated");
  expect_first_error(residents_header() + "\n#END,records=0,sha256=" + std::string(64, '0') + "\n", 2, "",
                     "column line is missing");
}

TEST_CASE("the sink is not called after the first error, but checking goes on", "[feed][bad]") {
  auto p = residents({resident_a, "1234,bad", resident_b, "12345678904,x,ｘ,1980-01-01,y,active,,"});
  const auto r = parse(assemble(p));
  CHECK(r.sink.residents.size() == 1);
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].line == 4);
  CHECK(r.errors[1] == feed_error{6, "name_kana", "name_kana holds a character that is neither katakana nor the ideographic space (character 1)"});
  CHECK(r.records_seen == 4);
}

TEST_CASE("only the first errors are kept, all are counted", "[feed][bad]") {
  std::vector<std::string> lines(150, "bad");
  const auto r = parse(assemble(residents(lines)));
  CHECK(r.errors.size() == 100);
  CHECK(r.errors_total == 150);
  CHECK(r.errors.back().line == 102);
}

TEST_CASE("more records than the bound is an error", "[feed][bad]") {
  std::vector<std::string> lines = {resident_a, resident_b, resident_c};
  parser_options o{municipality, today, 100, 2};
  const auto r = parse(assemble(residents(lines)), 0, o);
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors[0].line == 5);
  CHECK(r.errors[0].message.find("more than 2 records") != std::string::npos);
}
