#include "feed/columns.hpp"

#include "messages/records.hpp"

#include <array>

namespace kofu::feed {

namespace {

using ct = column_type;

constexpr uint8_t amt(tax_amount x) {
  return static_cast<uint8_t>(x);
}

constexpr uint8_t cnt(tax_count x) {
  return static_cast<uint8_t>(x);
}

constexpr std::array<column_desc, 8> resident_columns = {{
  {"resident_code", ct::resident_code, 0},
  {"name", ct::name, 0},
  {"name_kana", ct::name_kana, 0},
  {"birth_date", ct::birth_date, 0},
  {"address", ct::address, 0},
  {"status", ct::status, 0},
  {"status_date", ct::status_date, 0},
  {"hold", ct::hold, 0},
}};

constexpr std::array<column_desc, 43> tax_columns = {{
  {"resident_code", ct::resident_code, 0},
  {"address_jan1", ct::address, 0},
  {"declaration", ct::declaration, 0},
  {"salary_revenue", ct::amount, amt(tax_amount::salary_revenue)},
  {"salary_income", ct::amount, amt(tax_amount::salary_income)},
  {"pension_revenue", ct::amount, amt(tax_amount::pension_revenue)},
  {"pension_income", ct::amount, amt(tax_amount::pension_income)},
  {"business_income", ct::amount, amt(tax_amount::business_income)},
  {"agriculture_income", ct::amount, amt(tax_amount::agriculture_income)},
  {"real_estate_income", ct::amount, amt(tax_amount::real_estate_income)},
  {"interest_income", ct::amount, amt(tax_amount::interest_income)},
  {"dividend_income", ct::amount, amt(tax_amount::dividend_income)},
  {"misc_income", ct::amount, amt(tax_amount::misc_income)},
  {"occasional_income", ct::amount, amt(tax_amount::occasional_income)},
  {"separate_income", ct::amount, amt(tax_amount::separate_income)},
  {"total_income", ct::amount, amt(tax_amount::total_income)},
  {"social_insurance", ct::amount, amt(tax_amount::social_insurance)},
  {"small_enterprise", ct::amount, amt(tax_amount::small_enterprise)},
  {"life_insurance", ct::amount, amt(tax_amount::life_insurance)},
  {"earthquake_insurance", ct::amount, amt(tax_amount::earthquake_insurance)},
  {"disability", ct::amount, amt(tax_amount::disability)},
  {"widow_single_parent", ct::amount, amt(tax_amount::widow_single_parent)},
  {"working_student", ct::amount, amt(tax_amount::working_student)},
  {"spouse", ct::amount, amt(tax_amount::spouse)},
  {"spouse_special", ct::amount, amt(tax_amount::spouse_special)},
  {"dependents_deduction", ct::amount, amt(tax_amount::dependents_deduction)},
  {"basic", ct::amount, amt(tax_amount::basic)},
  {"casualty", ct::amount, amt(tax_amount::casualty)},
  {"medical", ct::amount, amt(tax_amount::medical)},
  {"total_deductions", ct::amount, amt(tax_amount::total_deductions)},
  {"spouse_flag", ct::spouse_flag, 0},
  {"dep_general", ct::count, cnt(tax_count::dep_general)},
  {"dep_specific", ct::count, cnt(tax_count::dep_specific)},
  {"dep_elderly", ct::count, cnt(tax_count::dep_elderly)},
  {"dep_under16", ct::count, cnt(tax_count::dep_under16)},
  {"disabled_count", ct::count, cnt(tax_count::disabled_count)},
  {"taxable_income", ct::amount, amt(tax_amount::taxable_income)},
  {"city_income_levy", ct::amount, amt(tax_amount::city_income_levy)},
  {"city_per_capita", ct::amount, amt(tax_amount::city_per_capita)},
  {"pref_income_levy", ct::amount, amt(tax_amount::pref_income_levy)},
  {"pref_per_capita", ct::amount, amt(tax_amount::pref_per_capita)},
  {"forest_env_tax", ct::amount, amt(tax_amount::forest_env_tax)},
  {"total_tax", ct::amount, amt(tax_amount::total_tax)},
}};

} // namespace

std::span<const column_desc> columns_of(feed_kind kind) {
  if (kind == feed_kind::tax)
    return tax_columns;
  return resident_columns;
}

bool is_my_number_column(std::string_view name) {
  // Compare case-insensitively and without separators, so that `MyNumber`, `my-number` and
  // `KOJIN_BANGO` are refused as well: the point is to keep the number out, not to match a spelling.
  constexpr size_t folded_bytes_max = 32;
  char folded[folded_bytes_max];
  size_t n = 0;
  for (char c : name) {
    if (c == '_' || c == '-' || c == ' ' || c == '.')
      continue;
    if (n == folded_bytes_max)
      return false;
    folded[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view f(folded, n);
  return f == "individualnumber" || f == "mynumber" || f == "kojinbango" || f == "kojinbangou";
}

} // namespace kofu::feed
