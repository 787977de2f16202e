#pragma once

// The values a feed's header line carries, the error a feed is rejected with, and the operation of
// a record (../shared/spec/feeds.md). Plain values, shared by the parser, the writer and whoever
// consumes a feed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kofu::feed {

/// Which system delivered the feed: the resident registry or the tax system.
enum class feed_kind : uint8_t { residents, tax };

/// `full` replaces the whole set (of one fiscal year for tax); `delta` carries changes only.
enum class feed_mode : uint8_t { full, delta };

/// The encoding of the feed's bytes as delivered; the parser converts CP932 to UTF-8.
enum class feed_encoding : uint8_t { utf8, cp932 };

/// What a record line asks for: a delta line's `op` is `U` (upsert) or `D` (remove); every record
/// of a full feed is an upsert.
enum class record_op : uint8_t { upsert, remove };

/// The header line, `#KOFU-FEED,key=value,...`, once validated.
struct feed_header {
  int version = 1;
  feed_kind kind = feed_kind::residents;
  feed_mode mode = feed_mode::full;
  std::string municipality;          // 全国地方公共団体コード, e.g. "272051"
  std::optional<int32_t> fiscal_year; // set exactly when kind == tax
  uint64_t sequence = 0;             // > 0; staleness is the consumer's check (it knows the state)
  feed_encoding encoding = feed_encoding::utf8;
  std::string created_at;            // RFC 3339, as written

  friend bool operator==(const feed_header&, const feed_header&) = default;
};

/// One reason a feed is rejected. `line` counts from 1 (the header); `field` is the column the
/// error belongs to, empty when it belongs to none (header, trailer, checksum, count, truncation,
/// a wrong number of fields). `message` never quotes personal data.
struct feed_error {
  uint64_t line = 0;
  std::string field;
  std::string message;

  friend bool operator==(const feed_error&, const feed_error&) = default;
};

std::string_view to_string(feed_kind x);
std::string_view to_string(feed_mode x);
std::string_view to_string(feed_encoding x); // as the header writes it: "UTF-8" or "CP932"
std::optional<feed_kind> parse_feed_kind(std::string_view text);
std::optional<feed_mode> parse_feed_mode(std::string_view text);
std::optional<feed_encoding> parse_feed_encoding(std::string_view text);

/// True when `text` is an RFC 3339 date-time (`2026-06-01T02:00:00+09:00`, fractions allowed).
bool is_rfc3339_date_time(std::string_view text);

/// The header line as a feed writes it, keys in the order of feeds.md, without a line break.
std::string format_header_line(const feed_header& header);

} // namespace kofu::feed
