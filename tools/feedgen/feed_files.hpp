#pragma once

// Writes the synthetic population as feeds (../shared/spec/feeds.md) through kofu::feed's writer:
// a residents feed, a tax feed, or both from the same persons in one pass. Streaming: one person
// at a time, whatever the count.

#include "feed/feed_header.hpp"
#include "tools/feedgen/generator.hpp"

#include <cstdint>
#include <ostream>
#include <string>

namespace kofu::feedgen {

struct feed_files_options {
  /// The city, the seed and the fiscal year of the tax feed.
  population_options population;
  /// Record lines of each feed: the population of a full feed, the changes of a delta feed.
  uint64_t count = 1'000;
  feed::feed_mode mode = feed::feed_mode::full;
  /// Delta only: the size of the full population the changes apply to (>= count).
  uint64_t population_size = 0;
  /// The header's sequence; a delta feed's changes are revision `sequence` of each person.
  uint64_t sequence = 1;
  feed::feed_encoding encoding = feed::feed_encoding::utf8;
  std::string municipality = "272051";
  /// The header's created_at; empty: `<fiscal_year>-06-01T02:00:00+09:00` (no wall clock, so
  /// that a seed always gives the same bytes).
  std::string created_at;
  /// End lines with CRLF.
  bool crlf = false;
};

/// Checks the options; returns what is wrong, empty when they are usable.
std::string check(const feed_files_options& options);

/// Writes the feed of each non-null stream. Throws std::invalid_argument for unusable options.
/// Returns the record lines written to each.
uint64_t write_feeds(const feed_files_options& options, std::ostream* residents, std::ostream* tax);

} // namespace kofu::feedgen
