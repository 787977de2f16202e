#include "messages/records.hpp"

#include <charconv>

#include "messages/secure_bytes.hpp"

namespace kofu {

namespace {

constexpr std::array<std::string_view, tax_amount_count> amount_names = {
  "salary_revenue",   "salary_income",        "pension_revenue",  "pension_income",
  "business_income",  "agriculture_income",   "real_estate_income", "interest_income",
  "dividend_income",  "misc_income",          "occasional_income", "separate_income",
  "total_income",     "social_insurance",     "small_enterprise", "life_insurance",
  "earthquake_insurance", "disability",       "widow_single_parent", "working_student",
  "spouse",           "spouse_special",       "dependents_deduction", "basic",
  "casualty",         "medical",              "total_deductions", "taxable_income",
  "city_income_levy", "city_per_capita",      "pref_income_levy", "pref_per_capita",
  "forest_env_tax",   "total_tax",
};

constexpr std::array<std::string_view, tax_count_count> count_names = {
  "dep_general", "dep_specific", "dep_elderly", "dep_under16", "disabled_count",
};

bool is_leap(int32_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

uint8_t days_in_month(int32_t y, uint8_t m) {
  static constexpr uint8_t days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

} // namespace

std::optional<civil_date> parse_civil_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-')
    return std::nullopt;
  auto digits = [&](size_t pos, size_t len, int32_t& out) {
    int32_t v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9')
        return false;
      v = v * 10 + (text[i] - '0');
    }
    out = v;
    return true;
  };
  int32_t y = 0, m = 0, d = 0;
  if (!digits(0, 4, y) || !digits(5, 2, m) || !digits(8, 2, d))
    return std::nullopt;
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, static_cast<uint8_t>(m)))
    return std::nullopt;
  return civil_date{y, static_cast<uint8_t>(m), static_cast<uint8_t>(d)};
}

std::string to_string(const civil_date& d) {
  char buf[16];
  auto n = std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(d.year),
                         static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
  return std::string(buf, static_cast<size_t>(n));
}

// Howard Hinnant's days_from_civil / civil_from_days algorithms.
int64_t days_from_civil(const civil_date& d) {
  int64_t y = d.year;
  const unsigned m = d.month;
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d.day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

civil_date civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return civil_date{static_cast<int32_t>(y + (m <= 2)), static_cast<uint8_t>(m),
                    static_cast<uint8_t>(d)};
}

std::string_view to_string(resident_status x) {
  switch (x) {
    case resident_status::active: return "active";
    case resident_status::moved_out: return "moved_out";
    case resident_status::deceased: return "deceased";
  }
  return "?";
}

std::string_view to_string(issuance_hold x) {
  switch (x) {
    case issuance_hold::none: return "";
    case issuance_hold::support_measure: return "support_measure";
    case issuance_hold::other: return "other";
  }
  return "?";
}

std::string_view to_string(declaration_kind x) {
  switch (x) {
    case declaration_kind::filed: return "filed";
    case declaration_kind::not_filed: return "not_filed";
    case declaration_kind::dependent: return "dependent";
  }
  return "?";
}

std::optional<resident_status> parse_resident_status(std::string_view t) {
  if (t == "active") return resident_status::active;
  if (t == "moved_out") return resident_status::moved_out;
  if (t == "deceased") return resident_status::deceased;
  return std::nullopt;
}

std::optional<issuance_hold> parse_issuance_hold(std::string_view t) {
  if (t.empty()) return issuance_hold::none;
  if (t == "support_measure") return issuance_hold::support_measure;
  if (t == "other") return issuance_hold::other;
  return std::nullopt;
}

std::optional<declaration_kind> parse_declaration_kind(std::string_view t) {
  if (t == "filed") return declaration_kind::filed;
  if (t == "not_filed") return declaration_kind::not_filed;
  if (t == "dependent") return declaration_kind::dependent;
  return std::nullopt;
}

bool is_resident_code(std::string_view code) {
  if (code.size() != resident_code_length)
    return false;
  for (char c : code)
    if (c < '0' || c > '9')
      return false;
  return true;
}

std::string_view column_name(tax_amount x) {
  return amount_names[static_cast<size_t>(x)];
}

std::string_view column_name(tax_count x) {
  return count_names[static_cast<size_t>(x)];
}

void wipe(resident_record& r) {
  for (auto* s : {&r.resident_code, &r.name, &r.name_kana, &r.address})
    wipe(*s);
  r.birth_date = {};
  r.status_date.reset();
}

void wipe(tax_record& r) {
  wipe(r.resident_code);
  wipe(r.address_jan1);
  r.amounts_yen.fill(0);
  r.counts.fill(0);
}

} // namespace kofu
