#pragma once

// kofu-feedgen's population model: a synthetic city whose person `i` is a pure function of
// (seed, i), so that a feed of a million records is generated streaming, record by record, and the
// same seed always gives the same bytes. docs/DEV-SETUP.md describes what is realistic and what is
// simplified.

#include "messages/records.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kofu::feedgen {

/// How the synthetic city looks. The defaults describe 吹田市 (Osaka) for fiscal year 2025.
struct population_options {
  uint64_t seed = 1;
  /// The tax records' fiscal year (年度); their income is that of the calendar year before.
  int32_t fiscal_year = 2025;
  /// Prefecture and city that every address starts with.
  std::string address_prefix = "大阪府吹田市";
  /// Only characters that CP932 can encode: 𠮷 becomes 吉, variation selectors are dropped.
  bool cp932_safe = false;
  /// 均等割 (city, prefecture) and 森林環境税, in yen. The city and prefecture amounts are those
  /// of the years with the 復興特別税 surcharge; see docs/DEV-SETUP.md.
  int64_t city_per_capita_yen = 3'500;
  int64_t pref_per_capita_yen = 1'500;
  int64_t forest_env_tax_yen = 1'000;
  /// 所得割 rates in percent of the taxable income (吹田市 is not a designated city: 6% and 4%).
  int64_t city_income_levy_percent = 6;
  int64_t pref_income_levy_percent = 4;
};

/// One person of the city: the registry's record and the tax record of the fiscal year.
struct person {
  resident_record resident;
  tax_record tax;
};

/// The number of leading records that carry the fixed showcase cases (rare kanji, variation
/// sequences, every status, hold and declaration, every amount column non-zero somewhere, a
/// field that needs CSV quoting). Tests rely on them.
inline constexpr uint64_t showcase_count = 12;

/// The most persons a population may have: resident codes are a permutation of 10^10 values.
inline constexpr uint64_t population_max = 10'000'000'000;

/// The resident code of person `index` (< population_max): 10 digits that are a seeded
/// permutation of the index (so codes are unique) and a modulus-11 check digit.
std::string resident_code(uint64_t seed, uint64_t index);

/// Fills `out` with person `index` as of `revision` (0 for a full feed; a delta feed's changes are
/// later revisions). Reuses the strings' storage of `out`.
void make_person(const population_options& options, uint64_t index, uint32_t revision,
                 person& out);

/// Calls `f(index, const person&)` for the persons 0..count-1 of the seed, one at a time: nothing
/// but the current person is held in memory.
template <class F>
void generate_population(uint64_t seed, uint64_t count, population_options options, F&& f) {
  options.seed = seed;
  person p;
  for (uint64_t i = 0; i < count; ++i) {
    make_person(options, i, 0, p);
    f(i, static_cast<const person&>(p));
  }
}

/// One line of a delta feed: which person, upserted as of which revision or removed.
struct delta_line {
  bool remove = false;
  uint64_t index = 0;
  uint32_t revision = 0;
};

/// Line `j` of a delta feed of `lines` lines against a population of `population` persons.
/// The lines name distinct persons: about 2% remove an existing person, about 3% add a new one
/// (an index from `population` up), the rest change an existing one (revision `revision`).
/// Requires lines <= population.
delta_line delta_line_at(uint64_t seed, uint64_t population, uint64_t lines, uint32_t revision,
                         uint64_t j);

/// Checks the invariants of feeds.md on a generated tax record (sums, zeros of not_filed and
/// dependent records, ranges); returns the first broken one, empty when all hold.
std::string check_tax_record(const tax_record& record);

} // namespace kofu::feedgen
