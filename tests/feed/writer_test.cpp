// The feed writer: what it writes, the parser reads back unchanged.

#include "feed/feed_writer.hpp"
#include "feed_test_util.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace kofu;
using namespace kofu::feed;
using namespace kofu::feed::test;

namespace {

feed_header make_header(feed_kind kind, feed_mode mode, feed_encoding enc) {
  feed_header h;
  h.kind = kind;
  h.mode = mode;
  h.municipality = municipality;
  if (kind == feed_kind::tax)
    h.fiscal_year = 2025;
  h.sequence = 12;
  h.encoding = enc;
  h.created_at = "2026-06-01T02:00:00Z";
  return h;
}

std::vector<resident_record> some_residents() {
  resident_record a{"12345678901", "山田太郎", "ヤマダ　タロウ", {1980, 4, 1},
                    "大阪府吹田市泉町一丁目3番40号", resident_status::active, std::nullopt,
                    issuance_hold::none};
  resident_record b{"12345678902", "髙﨑\"花子\"", "タカサキ　ハナコ", {1975, 12, 31},
                    "大阪府吹田市千里山西1丁目1-1, 201号", resident_status::moved_out,
                    civil_date{2026, 3, 31}, issuance_hold::support_measure};
  return {a, b};
}

tax_record some_tax(std::string code) {
  tax_record t;
  t.resident_code = std::move(code);
  t.fiscal_year = 2025;
  t.address_jan1 = "大阪府吹田市泉町一丁目3番40号";
  t.amount(tax_amount::salary_revenue) = 4'200'000;
  t.amount(tax_amount::salary_income) = 2'940'000;
  t.amount(tax_amount::total_income) = 2'940'000;
  t.amount(tax_amount::basic) = 430'000;
  t.amount(tax_amount::total_deductions) = 430'000;
  t.amount(tax_amount::city_per_capita) = 3'500;
  t.amount(tax_amount::total_tax) = 3'500;
  t.spouse_flag = true;
  t.count(tax_count::dep_elderly) = 1;
  return t;
}

} // namespace

TEST_CASE("writer: residents round-trip in every encoding and line end", "[feed][writer]") {
  for (auto enc : {feed_encoding::utf8, feed_encoding::cp932}) {
    for (bool crlf : {false, true}) {
      for (bool trailer_nl : {false, true}) {
        std::ostringstream out;
        feed_writer w(make_header(feed_kind::residents, feed_mode::full, enc), out, {crlf, trailer_nl});
        for (const auto& r : some_residents())
          w.add(r);
        w.finish();
        CHECK(w.records() == 2);
        const auto text = out.str();
        CHECK((text.back() == '\n') == trailer_nl);
        const auto r = parse(text, 13);
        INFO((r.errors.empty() ? std::string() : r.errors[0].message));
        REQUIRE(r.ok);
        CHECK(r.sink.header->encoding == enc);
        CHECK(r.sink.header->sequence == 12);
        REQUIRE(r.sink.residents.size() == 2);
        CHECK(r.sink.residents[0].second == some_residents()[0]);
        CHECK(r.sink.residents[1].second == some_residents()[1]);
      }
    }
  }
}

TEST_CASE("writer: tax full and delta round-trip", "[feed][writer]") {
  std::ostringstream out;
  feed_writer w(make_header(feed_kind::tax, feed_mode::delta, feed_encoding::utf8), out);
  w.add(some_tax("12345678901"));
  w.add(some_tax("12345678902"), record_op::remove);
  w.finish();
  const auto r = parse(out.str());
  REQUIRE(r.ok);
  REQUIRE(r.sink.taxes.size() == 2);
  CHECK(r.sink.taxes[0] == std::pair{record_op::upsert, some_tax("12345678901")});
  CHECK(r.sink.taxes[1].first == record_op::remove);
  CHECK(r.sink.taxes[1].second.resident_code == "12345678902");
  CHECK(out.str().find("\nop,resident_code,address_jan1,") != std::string::npos);
}

TEST_CASE("writer: refuses what it cannot write", "[feed][writer]") {
  std::ostringstream out;
  auto no_year = make_header(feed_kind::tax, feed_mode::full, feed_encoding::utf8);
  no_year.fiscal_year.reset();
  CHECK_THROWS_AS(feed_writer(no_year, out), std::invalid_argument);

  feed_writer w(make_header(feed_kind::residents, feed_mode::full, feed_encoding::cp932), out);
  auto r = some_residents()[0];
  r.name = "葛\U000E0100飾"; // CP932 has no variation selectors
  CHECK_THROWS_AS(w.add(r), std::invalid_argument);
  r = some_residents()[0];
  r.address = "line\nbreak";
  CHECK_THROWS_AS(w.add(r), std::invalid_argument);
  CHECK_THROWS_AS(w.add(some_tax("12345678901")), std::invalid_argument);
  CHECK_THROWS_AS(w.add(some_residents()[0], record_op::remove), std::invalid_argument);
}

TEST_CASE("writer: quotes only where needed", "[feed][writer]") {
  std::string line;
  feed_writer::append_field(line, "plain");
  line += ',';
  feed_writer::append_field(line, "a,b");
  line += ',';
  feed_writer::append_field(line, "say \"hi\"");
  CHECK(line == "plain,\"a,b\",\"say \"\"hi\"\"\"");
}
