// Good feeds: both kinds, both modes, both encodings, LF and CRLF, quoting, trailer with and
// without a final line break, and any chunking.

#include "feed_test_util.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace kofu;
using namespace kofu::feed;
using namespace kofu::feed::test;

namespace {

const std::vector<std::string> resident_lines = {
  "12345678901,山田太郎,ヤマダ　タロウ,1980-04-01,大阪府吹田市泉町一丁目3番40号,active,,",
  "12345678902,吹田花子,スイタ　ハナコ,1975-12-31,\"大阪府吹田市千里山西1丁目1-1, \"\"メゾン千里\"\" 201号\",moved_out,2026-03-31,support_measure",
  "\"12345678903\",葛\U000E0100飾一郎,カツシカ　イチロウ,2000-02-29,大阪府吹田市江坂町1丁目,deceased,2025-11-02,other",
};

void check_residents(const parse_result& r) {
  INFO((r.errors.empty() ? std::string() : r.errors[0].message));
  REQUIRE(r.ok);
  REQUIRE(r.sink.residents.size() == 3);
  const auto& a = r.sink.residents[0].second;
  CHECK(r.sink.residents[0].first == record_op::upsert);
  CHECK(a.resident_code == "12345678901");
  CHECK(a.name == "山田太郎");
  CHECK(a.name_kana == "ヤマダ　タロウ");
  CHECK(a.birth_date == civil_date{1980, 4, 1});
  CHECK(a.address == "大阪府吹田市泉町一丁目3番40号");
  CHECK(a.status == resident_status::active);
  CHECK_FALSE(a.status_date);
  CHECK(a.hold == issuance_hold::none);
  const auto& b = r.sink.residents[1].second;
  CHECK(b.address == "大阪府吹田市千里山西1丁目1-1, \"メゾン千里\" 201号");
  CHECK(b.status == resident_status::moved_out);
  CHECK(b.status_date == civil_date{2026, 3, 31});
  CHECK(b.hold == issuance_hold::support_measure);
  const auto& c = r.sink.residents[2].second;
  CHECK(c.resident_code == "12345678903");
  CHECK(c.name == "葛\U000E0100飾一郎");
  CHECK(c.hold == issuance_hold::other);
}

} // namespace

TEST_CASE("a good residents feed, UTF-8, LF", "[feed][good]") {
  const auto& lines = resident_lines;
  const auto text = assemble({residents_header(), residents_columns, lines});
  const auto r = parse(text);
  check_residents(r);
  REQUIRE(r.sink.header);
  CHECK(r.sink.header->kind == feed_kind::residents);
  CHECK(r.sink.header->mode == feed_mode::full);
  CHECK(r.sink.header->municipality == "272051");
  CHECK(r.sink.header->sequence == 7);
  CHECK_FALSE(r.sink.header->fiscal_year);
  CHECK(r.sink.header->created_at == "2026-06-01T02:00:00+09:00");
  CHECK(r.header == r.sink.header);
  CHECK(r.records_seen == 3);

  SECTION("chunked at every byte boundary, and byte by byte") {
    for (size_t at = 0; at <= text.size(); ++at) {
      const auto s = parse_split(text, at);
      REQUIRE(s.ok);
      REQUIRE(s.sink.residents == r.sink.residents);
    }
    CHECK(parse(text, 1).sink.residents == r.sink.residents);
  }
  SECTION("CRLF line ends, split anywhere (also between CR and LF)") {
    const auto crlf = assemble({residents_header(), residents_columns, lines, "\r\n"});
    for (size_t at = 0; at <= crlf.size(); ++at) {
      const auto s = parse_split(crlf, at);
      REQUIRE(s.ok);
      REQUIRE(s.sink.residents == r.sink.residents);
    }
  }
  SECTION("trailer without a final line break") {
    feed_parts p{residents_header(), residents_columns, lines};
    p.trailer_eol = false;
    const auto t = assemble(p);
    for (size_t at = 0; at <= t.size(); ++at)
      REQUIRE(parse_split(t, at).ok);
    p.eol = "\r\n";
    CHECK(parse(assemble(p)).ok);
  }
}

TEST_CASE("a good residents feed in CP932", "[feed][good]") {
  auto lines = resident_lines;
  lines[2] = "12345678903,髙﨑一郎,タカサキ　イチロウ,2000-02-29,大阪府吹田市江坂町１丁目,deceased,2025-11-02,other";
  feed_parts p{residents_header("full", "CP932"), residents_columns, lines};
  p.cp932 = true;
  const auto text = assemble(p);
  REQUIRE(text.find("山田") == std::string::npos); // really CP932 bytes
  for (size_t at = 0; at <= text.size(); ++at) {
    const auto r = parse_split(text, at);
    INFO(at << " " << (r.errors.empty() ? std::string() : r.errors[0].message));
    REQUIRE(r.ok);
    REQUIRE(r.sink.residents.size() == 3);
    REQUIRE(r.sink.residents[0].second.name == "山田太郎");
    REQUIRE(r.sink.residents[1].second.address == "大阪府吹田市千里山西1丁目1-1, \"メゾン千里\" 201号");
    REQUIRE(r.sink.residents[2].second.name == "髙﨑一郎");
    REQUIRE(r.sink.residents[2].second.address == "大阪府吹田市江坂町１丁目");
  }
  p.eol = "\r\n";
  CHECK(parse(assemble(p), 5).ok);
}

TEST_CASE("a good tax feed, CRLF", "[feed][good]") {
  std::map<std::string, std::string> not_filed = {{"resident_code", "12345678902"}, {"declaration", "not_filed"}};
  for (const auto& c : columns_of(feed_kind::tax))
    if (c.type == column_type::amount)
      not_filed[std::string(c.name)] = c.index % 2 ? "" : "0";
  const std::vector<std::string> lines = {
    tax_line({{"spouse_flag", "1"}, {"dep_general", "2"}, {"dep_under16", "07"}}),
    tax_line(not_filed),
    tax_line({{"resident_code", "12345678903"}, {"declaration", "dependent"}, {"salary_revenue", ""},
              {"salary_income", ""}, {"total_income", ""}, {"social_insurance", ""}, {"basic", ""},
              {"total_deductions", ""}, {"taxable_income", ""}, {"city_income_levy", ""},
              {"city_per_capita", ""}, {"pref_income_levy", ""}, {"pref_per_capita", ""},
              {"forest_env_tax", ""}, {"total_tax", "0"},
              {"address_jan1", "\"大阪府吹田市泉町一丁目3番40号, 2F\""}}),
  };
  const auto text = assemble({tax_header(), tax_columns(), lines, "\r\n"});
  const auto r = parse(text);
  INFO((r.errors.empty() ? std::string() : r.errors[0].message + " " + r.errors[0].field));
  REQUIRE(r.ok);
  REQUIRE(r.sink.header);
  CHECK(r.sink.header->fiscal_year == 2025);
  REQUIRE(r.sink.taxes.size() == 3);
  const auto& t = r.sink.taxes[0].second;
  CHECK(t.fiscal_year == 2025);
  CHECK(t.resident_code == "12345678901");
  CHECK(t.address_jan1 == "大阪府吹田市泉町一丁目3番40号");
  CHECK(t.declaration == declaration_kind::filed);
  CHECK(t.amount(tax_amount::salary_revenue) == 4'200'000);
  CHECK(t.amount(tax_amount::total_deductions) == 1'030'000);
  CHECK(t.amount(tax_amount::total_tax) == 197'000);
  CHECK(t.spouse_flag);
  CHECK(t.count(tax_count::dep_general) == 2);
  CHECK(t.count(tax_count::dep_under16) == 7);
  CHECK(r.sink.taxes[1].second.declaration == declaration_kind::not_filed);
  CHECK(r.sink.taxes[2].second.declaration == declaration_kind::dependent);
  CHECK(r.sink.taxes[2].second.address_jan1 == "大阪府吹田市泉町一丁目3番40号, 2F");
  for (size_t at = 0; at <= text.size(); at += 3)
    REQUIRE(parse_split(text, at).sink.taxes == r.sink.taxes);
}

TEST_CASE("columns in any order", "[feed][good]") {
  const auto text = assemble({residents_header(),
                              "hold,status_date,status,address,birth_date,name_kana,name,resident_code",
                              {"support_measure,,active,大阪府,1980-04-01,ヤマダ,山田,12345678901"}});
  const auto r = parse(text);
  REQUIRE(r.ok);
  CHECK(r.sink.residents[0].second.hold == issuance_hold::support_measure);
  CHECK(r.sink.residents[0].second.resident_code == "12345678901");
}

TEST_CASE("delta feeds: op anywhere, D lines with empty fields", "[feed][good]") {
  SECTION("residents") {
    const auto text = assemble({residents_header("delta"),
                                "resident_code,name,name_kana,birth_date,op,address,status,status_date,hold",
                                {"12345678901,山田太郎,ヤマダ,1980-04-01,U,大阪府,active,,",
                                 "12345678902,,,,D,,,,"}});
    const auto r = parse(text);
    REQUIRE(r.ok);
    REQUIRE(r.sink.residents.size() == 2);
    CHECK(r.sink.residents[0].first == record_op::upsert);
    CHECK(r.sink.residents[1].first == record_op::remove);
    CHECK(r.sink.residents[1].second.resident_code == "12345678902");
    CHECK(r.sink.header->mode == feed_mode::delta);
  }
  SECTION("tax") {
    std::string d = "D,12345678902";
    for (size_t i = 1; i < columns_of(feed_kind::tax).size(); ++i)
      d += ",";
    const auto text = assemble({tax_header("delta"), tax_columns(true), {tax_line({}, "U"), d}});
    const auto r = parse(text);
    REQUIRE(r.ok);
    REQUIRE(r.sink.taxes.size() == 2);
    CHECK(r.sink.taxes[1].first == record_op::remove);
    CHECK(r.sink.taxes[1].second.resident_code == "12345678902");
    CHECK(r.sink.taxes[1].second.fiscal_year == 2025);
  }
}

TEST_CASE("an empty feed is good", "[feed][good]") {
  const auto r = parse(assemble({residents_header(), residents_columns, {}}));
  CHECK(r.ok);
  CHECK(r.records_seen == 0);
}

TEST_CASE("today left unset defaults to the current date in Japan", "[feed][good]") {
  collecting_sink sink;
  parser p({municipality, {}}, sink);
  p.feed(assemble({residents_header(), residents_columns,
                   {"12345678901,山田,ヤマダ,1980-04-01,大阪府,active,,"}}));
  p.finish();
  CHECK(p.ok());
}

TEST_CASE("the committed fixture feeds parse", "[feed][good]") {
  size_t good = 0;
  for (const auto& e : std::filesystem::directory_iterator(data_path(""))) {
    const auto name = e.path().filename().string();
    if (!name.starts_with("good_"))
      continue;
    ++good;
    const auto bytes = read_file(e.path().string());
    const auto r = parse(bytes, 4096);
    INFO(name << ": " << (r.errors.empty() ? std::string() : r.errors[0].message));
    CHECK(r.ok);
    CHECK(r.records_seen > 0);
  }
  CHECK(good >= 4);
}

TEST_CASE("the committed bad fixture feeds fail where expected", "[feed][bad]") {
  const auto first = [](std::string_view name) {
    const auto r = parse(read_file(data_path(name)), 4096);
    REQUIRE_FALSE(r.ok);
    REQUIRE_FALSE(r.errors.empty());
    return r.errors[0];
  };
  CHECK(first("bad_my_number.feed").field == "my_number");
  CHECK(first("bad_tax_sum.feed") == feed_error{3, "total_tax", "total_tax is not the sum of the five taxes"});
  const auto t = first("bad_truncated.feed");
  CHECK(t.line == 6);
  CHECK(t.field.empty());
}

TEST_CASE("the consumer can reject a stale sequence from on_header", "[feed][good]") {
  struct stale_sink : collecting_sink {
    parser* p = nullptr;
    void on_header(const feed_header& h) override {
      if (h.sequence <= 7)
        p->add_error({1, "", "sequence 7 is not above the last applied one (7): the feed is stale"});
    }
  } sink;
  parser p({municipality, today}, sink);
  sink.p = &p;
  p.feed(assemble({residents_header(), residents_columns, {resident_lines[0]}}));
  p.finish();
  CHECK_FALSE(p.ok());
  REQUIRE(p.errors().size() == 1);
  CHECK(p.errors()[0].line == 1);
  CHECK(sink.residents.empty()); // no record reaches the sink after the rejection
}
