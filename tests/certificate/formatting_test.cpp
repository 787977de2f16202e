#include <catch2/catch.hpp>

#include "certificate/formatting.hpp"

using namespace kofu;
using namespace kofu::certificate;

TEST_CASE("era_date: boundaries take the era in force on that day", "[certificate]") {
  CHECK(era_date({1980, 4, 1}) == "昭和55年4月1日");
  CHECK(era_date({1912, 7, 29}) == "明治45年7月29日");
  CHECK(era_date({1912, 7, 30}) == "大正元年7月30日");
  CHECK(era_date({1926, 12, 24}) == "大正15年12月24日");
  CHECK(era_date({1926, 12, 25}) == "昭和元年12月25日");
  CHECK(era_date({1989, 1, 7}) == "昭和64年1月7日");
  CHECK(era_date({1989, 1, 8}) == "平成元年1月8日");
  CHECK(era_date({2019, 4, 30}) == "平成31年4月30日");
  CHECK(era_date({2019, 5, 1}) == "令和元年5月1日");
  CHECK(era_date({2026, 11, 28}) == "令和8年11月28日");
  CHECK(era_date({1868, 1, 1}) == "明治元年1月1日");
  CHECK(era_date({1867, 12, 31}) == "1867年12月31日"); // before any era: Gregorian
}

TEST_CASE("era_year_of: the era of 31 December", "[certificate]") {
  CHECK(era_year_of(2019) == "令和元年");
  CHECK(era_year_of(2018) == "平成30年");
  CHECK(era_year_of(1989) == "平成元年");
  CHECK(era_year_of(1926) == "昭和元年");
  CHECK(era_year_of(1912) == "大正元年");
  CHECK(era_year_of(2025) == "令和7年");
}

TEST_CASE("format_yen: ASCII digits, thousands separators", "[certificate]") {
  CHECK(format_yen(0) == "0円");
  CHECK(format_yen(7) == "7円");
  CHECK(format_yen(999) == "999円");
  CHECK(format_yen(1000) == "1,000円");
  CHECK(format_yen(1234567) == "1,234,567円");
  CHECK(format_yen(999'999'999'999) == "999,999,999,999円");
  CHECK(format_yen(-1500) == "-1,500円"); // never in a feed; printed honestly if it were
}

TEST_CASE("certificate_title: taxed and non-taxed", "[certificate]") {
  tax_record tax;
  tax.fiscal_year = 2025;
  tax.amount(tax_amount::total_tax) = 195100;
  CHECK(certificate_title(tax) == "令和7年度　所得・課税証明書");
  CHECK(income_year_line(tax) == "（令和6年中の所得）");
  tax.amount(tax_amount::total_tax) = 0;
  CHECK(certificate_title(tax) == "令和7年度　所得・課税（非課税）証明書");
  tax.fiscal_year = 2019;
  CHECK(certificate_title(tax) == "令和元年度　所得・課税（非課税）証明書");
  CHECK(income_year_line(tax) == "（平成30年中の所得）");
}
