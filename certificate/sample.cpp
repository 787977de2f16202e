#include "certificate/certificate.hpp"

namespace kofu::certificate {

certificate_input sample_input() {
  certificate_input in;
  in.resident.resident_code = "00000000000";
  in.resident.name = "見本　花子";
  in.resident.name_kana = "ミホン　ハナコ";
  in.resident.birth_date = {1980, 4, 1};
  in.resident.address = "大阪府吹田市見本町一丁目2番3号";
  in.tax.resident_code = in.resident.resident_code;
  in.tax.fiscal_year = 2025;
  in.tax.address_jan1 = in.resident.address;
  in.tax.declaration = declaration_kind::filed;
  in.tax.amount(tax_amount::salary_revenue) = 4'200'000;
  in.tax.amount(tax_amount::salary_income) = 2'980'000;
  in.tax.amount(tax_amount::total_income) = 2'980'000;
  in.tax.amount(tax_amount::social_insurance) = 620'000;
  in.tax.amount(tax_amount::life_insurance) = 28'000;
  in.tax.amount(tax_amount::basic) = 430'000;
  in.tax.amount(tax_amount::total_deductions) = 1'078'000;
  in.tax.amount(tax_amount::taxable_income) = 1'902'000;
  in.tax.amount(tax_amount::city_income_levy) = 114'100;
  in.tax.amount(tax_amount::city_per_capita) = 3'000;
  in.tax.amount(tax_amount::pref_income_levy) = 76'000;
  in.tax.amount(tax_amount::pref_per_capita) = 1'000;
  in.tax.amount(tax_amount::forest_env_tax) = 1'000;
  in.tax.amount(tax_amount::total_tax) = 195'100;
  in.tax.count(tax_count::dep_under16) = 1;
  in.certificate_number = "20260401-000000";
  in.issue_date = {2026, 4, 1};
  return in;
}

} // namespace kofu::certificate
