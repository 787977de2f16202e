// kofu-feedgen: the synthetic population is deterministic, consistent and complete, and the feeds
// written from it pass the feed parser without a single error.

#include "feed/parser.hpp"
#include "tools/feedgen/feed_files.hpp"
#include "tools/feedgen/generator.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <sstream>
#include <unordered_set>
#include <vector>

using namespace kofu;
using namespace kofu::feedgen;

namespace {

const std::string rare_yoshi = "\U00020BB7"; // 𠮷, outside the BMP and CP932
const std::string katsura_17 = "葛\U000E0100";
const std::string katsura_19 = "葛\U000E0102";

struct feeds {
  std::string residents;
  std::string tax;
};

feeds write(feed_files_options options) {
  std::ostringstream residents, tax;
  write_feeds(options, &residents, &tax);
  return {residents.str(), tax.str()};
}

feed_files_options options_of(uint64_t seed, uint64_t count) {
  feed_files_options o;
  o.population.seed = seed;
  o.count = count;
  o.population_size = count;
  return o;
}

/// Keeps what the parser hands over.
struct collecting_sink final : feed::record_sink {
  std::vector<std::pair<feed::record_op, resident_record>> residents;
  std::vector<std::pair<feed::record_op, tax_record>> taxes;
  void on_header(const feed::feed_header&) override {
    // nop
  }
  void on_resident(feed::record_op op, resident_record&& r) override {
    residents.emplace_back(op, std::move(r));
  }
  void on_tax(feed::record_op op, tax_record&& r) override {
    taxes.emplace_back(op, std::move(r));
  }
};

/// Parses `bytes` in chunks of an odd size; fails the test with the first errors otherwise.
void parse_clean(const std::string& bytes, collecting_sink& sink) {
  feed::parser p{{"272051", civil_date{2026, 6, 1}}, sink};
  constexpr size_t chunk = 4093;
  for (size_t at = 0; at < bytes.size(); at += chunk)
    p.feed(std::string_view(bytes).substr(at, chunk));
  p.finish();
  std::string first_errors;
  for (size_t i = 0; i < p.errors().size() && i < 5; ++i)
    first_errors += "line " + std::to_string(p.errors()[i].line) + " " + p.errors()[i].field + ": "
                    + p.errors()[i].message + "\n";
  INFO(first_errors);
  CHECK(p.errors_total() == 0);
  REQUIRE(p.ok());
}

} // namespace

TEST_CASE("the same seed gives the same bytes, another seed other bytes", "[feedgen]") {
  auto a = write(options_of(42, 2'000));
  auto b = write(options_of(42, 2'000));
  CHECK(a.residents == b.residents);
  CHECK(a.tax == b.tax);
  auto c = write(options_of(43, 2'000));
  CHECK(a.residents != c.residents);
  CHECK(a.tax != c.tax);
  // Person i does not depend on how many persons are generated.
  auto shorter = write(options_of(42, 1'000));
  auto first_lines = [](const std::string& text, size_t n) {
    size_t at = 0;
    for (size_t i = 0; i < n; ++i)
      at = text.find('\n', at) + 1;
    return text.substr(0, at);
  };
  CHECK(first_lines(shorter.tax, 1'002) == first_lines(a.tax, 1'002));
}

TEST_CASE("tax records add up on 10,000 persons", "[feedgen]") {
  std::map<declaration_kind, size_t> declarations;
  size_t taxed = 0, non_taxed_filers = 0, moved_or_dead = 0, holds = 0;
  generate_population(7, 10'000, {}, [&](uint64_t, const person& p) {
    const auto& t = p.tax;
    INFO(p.resident.resident_code);
    REQUIRE(check_tax_record(t) == "");
    ++declarations[t.declaration];
    moved_or_dead += p.resident.status != resident_status::active;
    holds += p.resident.hold != issuance_hold::none;
    CHECK(p.resident.status_date.has_value() == (p.resident.status != resident_status::active));
    if (t.declaration != declaration_kind::filed)
      return;
    int64_t incomes = 0;
    for (auto a : {tax_amount::salary_income, tax_amount::pension_income, tax_amount::business_income,
                   tax_amount::agriculture_income, tax_amount::real_estate_income,
                   tax_amount::interest_income, tax_amount::dividend_income, tax_amount::misc_income,
                   tax_amount::occasional_income, tax_amount::separate_income})
      incomes += t.amount(a);
    CHECK(t.amount(tax_amount::total_income) == incomes);
    CHECK(t.amount(tax_amount::salary_income) <= t.amount(tax_amount::salary_revenue));
    CHECK(t.amount(tax_amount::pension_income) <= t.amount(tax_amount::pension_revenue));
    auto taxable = std::max<int64_t>(0, incomes - t.amount(tax_amount::total_deductions)) / 1'000 * 1'000;
    CHECK(t.amount(tax_amount::taxable_income) == taxable);
    CHECK(t.amount(tax_amount::city_income_levy) % 100 == 0);
    CHECK(t.amount(tax_amount::pref_income_levy) % 100 == 0);
    CHECK(t.amount(tax_amount::city_income_levy) <= taxable * 6 / 100);
    CHECK(t.amount(tax_amount::pref_income_levy) <= taxable * 4 / 100);
    CHECK(t.spouse_flag == (t.amount(tax_amount::spouse) > 0));
    if (t.amount(tax_amount::total_tax) == 0)
      ++non_taxed_filers;
    else
      ++taxed;
  });
  // The shape of the city: about 85% filed, 5% not filed, 10% dependents; some non-taxed filers;
  // about 1% moved out or deceased and 0.5% on hold.
  CHECK(declarations[declaration_kind::filed] > 8'000);
  CHECK(declarations[declaration_kind::filed] < 9'000);
  CHECK(declarations[declaration_kind::not_filed] > 350);
  CHECK(declarations[declaration_kind::not_filed] < 650);
  CHECK(declarations[declaration_kind::dependent] > 700);
  CHECK(declarations[declaration_kind::dependent] < 1'300);
  CHECK(taxed > 6'000);
  CHECK(non_taxed_filers > 100);
  CHECK(moved_or_dead > 50);
  CHECK(moved_or_dead < 200);
  CHECK(holds > 20);
  CHECK(holds < 100);
}

TEST_CASE("salary and pension incomes follow the deduction tables", "[feedgen]") {
  // The showcase persons carry fixed amounts; the expected incomes are those of the tables of
  // 給与所得控除 (別表第五) and 公的年金等控除 for the income of 2024.
  person p;
  population_options o;
  make_person(o, 0, 0, p);
  CHECK(p.tax.amount(tax_amount::salary_revenue) == 6'843'210);
  CHECK(p.tax.amount(tax_amount::salary_income) == 5'058'889); // 90% - 1,100,000
  make_person(o, 6, 0, p);
  CHECK(p.tax.amount(tax_amount::salary_income) == 3'064'000); // 4,380,000: 80% - 440,000
  make_person(o, 11, 0, p);
  CHECK(p.tax.amount(tax_amount::salary_income) == 2'478'400); // 3,648,000 (4,000 steps): 80% - 440,000
  make_person(o, 8, 0, p);
  CHECK(p.tax.amount(tax_amount::salary_income) == 380'000); // 930,000 - 550,000
  CHECK(p.tax.amount(tax_amount::total_tax) == 0);           // 非課税
  make_person(o, 1, 0, p);
  CHECK(p.tax.amount(tax_amount::pension_income) == 2'020'000); // 3,120,000 at 65+: 25% + 275,000
  make_person(o, 5, 0, p);
  CHECK(p.tax.amount(tax_amount::pension_income) == 1'350'000); // 2,450,000 - 1,100,000
  // From the income of 2025 (fiscal year 2026) the minimum salary deduction is 650,000 yen.
  o.fiscal_year = 2026;
  make_person(o, 8, 0, p);
  CHECK(p.tax.amount(tax_amount::salary_income) == 280'000);
}

TEST_CASE("resident codes are 11 digits, unique, and the same in both kinds", "[feedgen]") {
  std::unordered_set<std::string> codes;
  constexpr uint64_t n = 200'000;
  codes.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    auto code = resident_code(99, i);
    REQUIRE(is_resident_code(code));
    codes.insert(std::move(code));
  }
  CHECK(codes.size() == n);
  CHECK(resident_code(99, 5) == resident_code(99, 5));
  CHECK(resident_code(99, 5) != resident_code(100, 5));
  // The check digit: modulus 11, weights 2..7 from the right.
  auto code = resident_code(1, 123);
  int sum = 0;
  for (int i = 0; i < 10; ++i)
    sum += (code[static_cast<size_t>(9 - i)] - '0') * (2 + i % 6);
  CHECK(code[10] - '0' == (sum % 11 <= 1 ? 0 : 11 - sum % 11));
  generate_population(3, 100, {}, [](uint64_t, const person& p) {
    CHECK(p.resident.resident_code == p.tax.resident_code);
  });
}

TEST_CASE("the first records hold the rare names and every case", "[feedgen]") {
  std::vector<person> first;
  generate_population(1, showcase_count, {}, [&](uint64_t, const person& p) { first.push_back(p); });
  auto has_name = [&](const std::string& part) {
    for (auto& p : first)
      if (p.resident.name.find(part) != std::string::npos)
        return true;
    return false;
  };
  CHECK(has_name("髙橋"));
  CHECK(has_name("山﨑"));
  CHECK(has_name(rare_yoshi + "田"));
  CHECK(has_name(katsura_17 + "城"));
  CHECK(has_name(katsura_19));
  CHECK(has_name("　")); // U+3000 between surname and given name

  std::set<resident_status> statuses;
  std::set<issuance_hold> holds;
  std::set<declaration_kind> declarations;
  std::array<bool, tax_amount_count> amount_seen{};
  std::array<bool, tax_count_count> count_seen{};
  bool spouse_flag = false, quoted = false;
  for (auto& p : first) {
    statuses.insert(p.resident.status);
    holds.insert(p.resident.hold);
    declarations.insert(p.tax.declaration);
    for (size_t i = 0; i < tax_amount_count; ++i)
      amount_seen[i] = amount_seen[i] || p.tax.amounts_yen[i] != 0;
    for (size_t i = 0; i < tax_count_count; ++i)
      count_seen[i] = count_seen[i] || p.tax.counts[i] != 0;
    spouse_flag = spouse_flag || p.tax.spouse_flag;
    quoted = quoted || p.resident.address.find_first_of(",\"") != std::string::npos;
  }
  CHECK(statuses.size() == 3);
  CHECK(holds.size() == 3);
  CHECK(declarations.size() == 3);
  for (size_t i = 0; i < tax_amount_count; ++i) {
    INFO(column_name(static_cast<tax_amount>(i)));
    CHECK(amount_seen[i]);
  }
  for (size_t i = 0; i < tax_count_count; ++i) {
    INFO(column_name(static_cast<tax_count>(i)));
    CHECK(count_seen[i]);
  }
  CHECK(spouse_flag);
  CHECK(quoted);

  // In CP932 the characters CP932 lacks give way; 髙 and 﨑 (IBM extensions) stay.
  population_options cp932;
  cp932.cp932_safe = true;
  person p;
  make_person(cp932, 2, 0, p);
  CHECK(p.resident.name.starts_with("吉田"));
  make_person(cp932, 3, 0, p);
  CHECK(p.resident.name.starts_with("葛城"));
  make_person(cp932, 0, 0, p);
  CHECK(p.resident.name.starts_with("髙橋"));
}

TEST_CASE("generated feeds parse without an error, both kinds and encodings", "[feedgen]") {
  for (auto encoding : {feed::feed_encoding::utf8, feed::feed_encoding::cp932}) {
    for (bool crlf : {false, true}) {
      DYNAMIC_SECTION(feed::to_string(encoding) << (crlf ? " CRLF" : " LF")) {
        auto o = options_of(11, 3'000);
        o.encoding = encoding;
        o.crlf = crlf;
        auto f = write(o);
        collecting_sink residents, taxes;
        parse_clean(f.residents, residents);
        parse_clean(f.tax, taxes);
        REQUIRE(residents.residents.size() == 3'000);
        REQUIRE(taxes.taxes.size() == 3'000);
        // What comes out of the parser is what went in.
        population_options po;
        po.seed = 11;
        po.cp932_safe = encoding == feed::feed_encoding::cp932;
        person p;
        for (uint64_t i = 0; i < 3'000; i += 37) {
          make_person(po, i, 0, p);
          CHECK(residents.residents[i].second == p.resident);
          CHECK(taxes.taxes[i].second == p.tax);
        }
      }
    }
  }
  // The check is live: one changed byte in a record breaks the trailer's checksum.
  auto f = write(options_of(11, 100));
  f.tax[f.tax.find("filed")] = 'F';
  collecting_sink sink;
  feed::parser p{{"272051", civil_date{2026, 6, 1}}, sink};
  p.feed(f.tax);
  p.finish();
  CHECK_FALSE(p.ok());
}

TEST_CASE("delta feeds change distinct persons, remove some and parse cleanly", "[feedgen]") {
  auto o = options_of(5, 2'000);
  o.mode = feed::feed_mode::delta;
  o.population_size = 10'000;
  o.sequence = 3;
  for (auto encoding : {feed::feed_encoding::utf8, feed::feed_encoding::cp932}) {
    o.encoding = encoding;
    auto f = write(o);
    collecting_sink residents, taxes;
    parse_clean(f.residents, residents);
    parse_clean(f.tax, taxes);
    REQUIRE(residents.residents.size() == 2'000);
    REQUIRE(taxes.taxes.size() == 2'000);
    std::set<std::string> codes;
    size_t removes = 0;
    for (size_t j = 0; j < residents.residents.size(); ++j) {
      auto& [op, r] = residents.residents[j];
      codes.insert(r.resident_code);
      removes += op == feed::record_op::remove;
      CHECK(taxes.taxes[j].first == op);
      CHECK(taxes.taxes[j].second.resident_code == r.resident_code);
    }
    CHECK(codes.size() == 2'000);
    CHECK(removes > 10);
    CHECK(removes < 100);
  }
  // A delta line's upsert is a later revision of a person of the full population.
  auto line = delta_line_at(5, 10'000, 2'000, 3, 0);
  CHECK(line.index < 10'000 + 2'000);
  CHECK(line.revision == 3);
}

TEST_CASE("unusable options are refused", "[feedgen]") {
  auto o = options_of(1, 10);
  o.municipality = "27205";
  CHECK_FALSE(check(o).empty());
  o = options_of(1, 10);
  o.sequence = 0;
  CHECK_FALSE(check(o).empty());
  o = options_of(1, 10);
  o.mode = feed::feed_mode::delta;
  o.population_size = 5;
  CHECK_FALSE(check(o).empty());
  o = options_of(1, 10);
  o.created_at = "yesterday";
  CHECK_FALSE(check(o).empty());
  std::ostringstream sink;
  CHECK_THROWS_AS(write_feeds(o, &sink, nullptr), std::invalid_argument);
}
