#pragma once

// Pure text helpers of the certificate: Japanese era dates, yen amounts, the title. They hold no
// state and allocate only their result, so the tests can pin every rule of certificate.md.

#include <cstdint>
#include <string>

#include "messages/records.hpp"

namespace kofu::certificate {

/// The date in the era in force on that day: `昭和55年4月1日`, `令和元年5月1日`. Dates before
/// 明治 (1868) have no era and are written in the Gregorian calendar: `1867年1月1日`.
std::string era_date(civil_date date);

/// The era year of 31 December of `year`: 2019 -> `令和元年`, 2018 -> `平成30年`.
std::string era_year_of(int32_t year);

/// Whole yen with ASCII digits and thousands separators: `1,234,567円`, `0円`.
std::string format_yen(int64_t yen);

/// `令和7年度　所得・課税証明書`, or `令和7年度　所得・課税（非課税）証明書` when total_tax is 0.
std::string certificate_title(const tax_record& tax);

/// The line under the title: `（令和6年中の所得）` (the income year is the fiscal year − 1).
std::string income_year_line(const tax_record& tax);

} // namespace kofu::certificate
