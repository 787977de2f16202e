#pragma once

// The domain records every part of kofu shares: one resident of the registry, one tax record of one
// fiscal year. Plain values, no framework types, so that the feed parser, the storage codec, the
// certificate renderer and the actors all speak the same language (../shared/spec/feeds.md).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kofu {

/// A calendar date (proleptic Gregorian), as the feeds write it: YYYY-MM-DD.
struct civil_date {
  int32_t year = 0;
  uint8_t month = 0; // 1..12
  uint8_t day = 0;   // 1..31

  friend bool operator==(const civil_date&, const civil_date&) = default;
  friend auto operator<=>(const civil_date&, const civil_date&) = default;
};

/// Parses `YYYY-MM-DD` and checks that the day exists; nullopt otherwise.
std::optional<civil_date> parse_civil_date(std::string_view text);

/// Formats as `YYYY-MM-DD`.
std::string to_string(const civil_date& d);

/// Days since 1970-01-01 (negative before it).
int64_t days_from_civil(const civil_date& d);
civil_date civil_from_days(int64_t days);

enum class resident_status : uint8_t { active = 0, moved_out = 1, deceased = 2 };
enum class issuance_hold : uint8_t { none = 0, support_measure = 1, other = 2 };
enum class declaration_kind : uint8_t { filed = 0, not_filed = 1, dependent = 2 };

std::string_view to_string(resident_status x);
std::string_view to_string(issuance_hold x);
std::string_view to_string(declaration_kind x);
std::optional<resident_status> parse_resident_status(std::string_view text);
std::optional<issuance_hold> parse_issuance_hold(std::string_view text);
std::optional<declaration_kind> parse_declaration_kind(std::string_view text);

/// Length of a resident code: 11 ASCII digits (住民票コード).
inline constexpr size_t resident_code_length = 11;

/// True when `code` is exactly 11 ASCII digits.
bool is_resident_code(std::string_view code);

/// One record of a residents feed.
struct resident_record {
  std::string resident_code; // 11 ASCII digits
  std::string name;          // UTF-8, may hold ideographic variation sequences
  std::string name_kana;     // UTF-8 katakana
  civil_date birth_date;
  std::string address;       // UTF-8
  resident_status status = resident_status::active;
  std::optional<civil_date> status_date; // set when status != active
  issuance_hold hold = issuance_hold::none;

  friend bool operator==(const resident_record&, const resident_record&) = default;
};

/// The amounts of a tax record, in the order of the tax feed's columns (feeds.md).
enum class tax_amount : uint8_t {
  salary_revenue,
  salary_income,
  pension_revenue,
  pension_income,
  business_income,
  agriculture_income,
  real_estate_income,
  interest_income,
  dividend_income,
  misc_income,
  occasional_income,
  separate_income,
  total_income,
  social_insurance,
  small_enterprise,
  life_insurance,
  earthquake_insurance,
  disability,
  widow_single_parent,
  working_student,
  spouse,
  spouse_special,
  dependents_deduction,
  basic,
  casualty,
  medical,
  total_deductions,
  taxable_income,
  city_income_levy,
  city_per_capita,
  pref_income_levy,
  pref_per_capita,
  forest_env_tax,
  total_tax,
};
inline constexpr size_t tax_amount_count = static_cast<size_t>(tax_amount::total_tax) + 1;

/// The column name of an amount (`salary_revenue`, ...).
std::string_view column_name(tax_amount x);

/// The counts of a tax record (扶養親族の数 and 障害者の数), 0..99 each.
enum class tax_count : uint8_t { dep_general, dep_specific, dep_elderly, dep_under16, disabled_count };
inline constexpr size_t tax_count_count = static_cast<size_t>(tax_count::disabled_count) + 1;
std::string_view column_name(tax_count x);

/// The largest amount a tax feed may carry, in yen.
inline constexpr int64_t tax_amount_max_yen = 999'999'999'999;

/// One record of a tax feed: one resident, one fiscal year.
struct tax_record {
  std::string resident_code; // 11 ASCII digits
  int32_t fiscal_year = 0;   // 年度, named by the Gregorian year it starts in
  std::string address_jan1;  // UTF-8
  declaration_kind declaration = declaration_kind::filed;
  std::array<int64_t, tax_amount_count> amounts_yen{};
  bool spouse_flag = false;
  std::array<uint8_t, tax_count_count> counts{};

  int64_t amount(tax_amount x) const { return amounts_yen[static_cast<size_t>(x)]; }
  int64_t& amount(tax_amount x) { return amounts_yen[static_cast<size_t>(x)]; }
  uint8_t count(tax_count x) const { return counts[static_cast<size_t>(x)]; }
  uint8_t& count(tax_count x) { return counts[static_cast<size_t>(x)]; }

  friend bool operator==(const tax_record&, const tax_record&) = default;
};

/// The 13 deductions whose sum is total_deductions (feeds.md).
inline constexpr std::array<tax_amount, 13> deduction_amounts = {
  tax_amount::social_insurance,   tax_amount::small_enterprise,   tax_amount::life_insurance,
  tax_amount::earthquake_insurance, tax_amount::disability,       tax_amount::widow_single_parent,
  tax_amount::working_student,    tax_amount::spouse,             tax_amount::spouse_special,
  tax_amount::dependents_deduction, tax_amount::basic,            tax_amount::casualty,
  tax_amount::medical,
};

/// The five taxes whose sum is total_tax (feeds.md).
inline constexpr std::array<tax_amount, 5> tax_amounts = {
  tax_amount::city_income_levy, tax_amount::city_per_capita, tax_amount::pref_income_levy,
  tax_amount::pref_per_capita,  tax_amount::forest_env_tax,
};

/// Overwrites the personal data a record holds before it goes away (session end).
void wipe(resident_record& r);
void wipe(tax_record& r);

} // namespace kofu
