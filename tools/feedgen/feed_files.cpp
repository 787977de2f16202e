#include "tools/feedgen/feed_files.hpp"

#include "feed/feed_writer.hpp"

#include <memory>
#include <optional>
#include <stdexcept>

namespace kofu::feedgen {

namespace {

feed::feed_header header_of(const feed_files_options& options, feed::feed_kind kind) {
  feed::feed_header h;
  h.kind = kind;
  h.mode = options.mode;
  h.municipality = options.municipality;
  if (kind == feed::feed_kind::tax)
    h.fiscal_year = options.population.fiscal_year;
  h.sequence = options.sequence;
  h.encoding = options.encoding;
  h.created_at = options.created_at.empty()
                   ? std::to_string(options.population.fiscal_year) + "-06-01T02:00:00+09:00"
                   : options.created_at;
  return h;
}

bool all_digits(const std::string& s) {
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

} // namespace

std::string check(const feed_files_options& options) {
  if (options.municipality.size() != 6 || !all_digits(options.municipality))
    return "the municipality code must be 6 digits";
  if (options.sequence == 0)
    return "the sequence must be positive";
  if (options.population.fiscal_year < 2010 || options.population.fiscal_year > 2099)
    return "the fiscal year must be between 2010 and 2099";
  if (!options.created_at.empty() && !feed::is_rfc3339_date_time(options.created_at))
    return "created_at must be an RFC 3339 date-time";
  if (options.mode == feed::feed_mode::full) {
    if (options.count > population_max)
      return "at most 10^10 persons";
  } else {
    if (options.population_size < options.count)
      return "a delta feed cannot change more persons than the population has";
    if (options.population_size + options.count > population_max)
      return "the population and its newcomers must stay below 10^10 persons";
    if (options.sequence > UINT32_MAX)
      return "a delta feed's sequence is at most 4294967295";
  }
  return {};
}

uint64_t write_feeds(const feed_files_options& options, std::ostream* residents, std::ostream* tax) {
  if (auto problem = check(options); !problem.empty())
    throw std::invalid_argument(problem);
  population_options population = options.population;
  population.cp932_safe = population.cp932_safe || options.encoding == feed::feed_encoding::cp932;
  feed::feed_writer_options writer_options;
  writer_options.crlf = options.crlf;
  std::optional<feed::feed_writer> residents_writer;
  std::optional<feed::feed_writer> tax_writer;
  if (residents != nullptr)
    residents_writer.emplace(header_of(options, feed::feed_kind::residents), *residents,
                             writer_options);
  if (tax != nullptr)
    tax_writer.emplace(header_of(options, feed::feed_kind::tax), *tax, writer_options);
  person p;
  auto write = [&](feed::record_op op) {
    if (residents_writer)
      residents_writer->add(p.resident, op);
    if (tax_writer)
      tax_writer->add(p.tax, op);
  };
  if (options.mode == feed::feed_mode::full) {
    for (uint64_t i = 0; i < options.count; ++i) {
      make_person(population, i, 0, p);
      write(feed::record_op::upsert);
    }
  } else {
    const auto revision = static_cast<uint32_t>(options.sequence);
    for (uint64_t j = 0; j < options.count; ++j) {
      auto line = delta_line_at(population.seed, options.population_size, options.count, revision, j);
      make_person(population, line.index, line.revision, p);
      write(line.remove ? feed::record_op::remove : feed::record_op::upsert);
    }
  }
  if (residents_writer)
    residents_writer->finish();
  if (tax_writer)
    tax_writer->finish();
  return options.count;
}

} // namespace kofu::feedgen
