#include "certificate/formatting.hpp"

#include <array>
#include <string_view>

namespace kofu::certificate {

namespace {

/// One era: its name and the first day it was in force (certificate.md, era boundaries).
struct era {
  std::string_view name;
  civil_date first_day;
};

/// Newest first, so that the first era whose first day is not after a date is the one in force.
constexpr std::array<era, 5> eras = {{
  {"令和", {2019, 5, 1}},
  {"平成", {1989, 1, 8}},
  {"昭和", {1926, 12, 25}},
  {"大正", {1912, 7, 30}},
  {"明治", {1868, 1, 1}},
}};

const era* era_of(civil_date date) {
  for (const auto& e : eras)
    if (!(date < e.first_day))
      return &e;
  return nullptr;
}

/// `元年` for the first year of an era, `30年` otherwise.
std::string era_year_text(const era& e, int32_t year) {
  int32_t n = year - e.first_day.year + 1;
  std::string out{e.name};
  out += n == 1 ? std::string{"元"} : std::to_string(n);
  out += "年";
  return out;
}

} // namespace

std::string era_date(civil_date date) {
  std::string out;
  if (const auto* e = era_of(date))
    out = era_year_text(*e, date.year);
  else
    out = std::to_string(date.year) + "年";
  out += std::to_string(date.month);
  out += "月";
  out += std::to_string(date.day);
  out += "日";
  return out;
}

std::string era_year_of(int32_t year) {
  civil_date last_day{year, 12, 31};
  if (const auto* e = era_of(last_day))
    return era_year_text(*e, year);
  return std::to_string(year) + "年";
}

std::string format_yen(int64_t yen) {
  // Amounts are 0..999,999,999,999 (feeds.md); a negative one is still printed honestly.
  bool negative = yen < 0;
  uint64_t v = negative ? 0 - static_cast<uint64_t>(yen) : static_cast<uint64_t>(yen);
  std::string digits = std::to_string(v);
  std::string out;
  if (negative)
    out += '-';
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  out += "円";
  return out;
}

std::string certificate_title(const tax_record& tax) {
  std::string out = era_year_of(tax.fiscal_year) + "度　";
  out += tax.amount(tax_amount::total_tax) == 0 ? "所得・課税（非課税）証明書" : "所得・課税証明書";
  return out;
}

std::string income_year_line(const tax_record& tax) {
  return "（" + era_year_of(tax.fiscal_year - 1) + "中の所得）";
}

} // namespace kofu::certificate
