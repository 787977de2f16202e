#pragma once

// Writes a valid feed from records (../shared/spec/feeds.md): the header, the column line, one
// CSV line a record (quoted where needed), and the trailer with the right count and SHA-256. For
// the synthetic feed generator and for tests; it checks what it is given only as far as needed to
// keep the output well formed (a record it cannot write is a programmer's error: it throws).

#include "feed/feed_header.hpp"
#include "feed/sha256.hpp"
#include "feed/text.hpp"
#include "messages/records.hpp"

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace kofu::feed {

struct feed_writer_options {
  /// End lines with CRLF instead of LF.
  bool crlf = false;
  /// End the trailer line with a line break (feeds.md allows either).
  bool trailer_line_break = true;
};

class feed_writer {
public:
  /// Writes the header and the column line at once. Columns come in the order of feeds.md's
  /// tables, with `op` first in a delta feed. Throws std::invalid_argument for a header the
  /// parser would refuse for its shape (no fiscal_year in a tax feed, one in a residents feed).
  feed_writer(feed_header header, std::ostream& out, feed_writer_options options = {});
  ~feed_writer();
  feed_writer(const feed_writer&) = delete;
  feed_writer& operator=(const feed_writer&) = delete;

  /// Appends a record. A remove writes the code (and op) only. Throws std::invalid_argument when
  /// the record does not fit the feed (wrong kind, a tax record of another fiscal year, a field
  /// with a line break, text that CP932 cannot hold), and std::logic_error after finish().
  void add(const resident_record& record, record_op op = record_op::upsert);
  void add(const tax_record& record, record_op op = record_op::upsert);

  /// Writes the trailer. Nothing may be added after.
  void finish();

  uint64_t records() const {
    return records_;
  }

  /// The column line of a kind and mode, as this writer writes it (no line break).
  static std::string column_line(feed_kind kind, feed_mode mode);

  /// Appends `value` to `line` as one CSV field, quoted when it holds a comma or a quote.
  static void append_field(std::string& line, std::string_view value);

private:
  void begin_record(record_op op);
  void write_line(std::string& line);

  feed_header header_;
  std::ostream& out_;
  feed_writer_options options_;
  std::unique_ptr<iconv_converter> to_cp932_;
  std::string line_;
  std::string converted_;
  sha256 sha_;
  uint64_t records_ = 0;
  bool finished_ = false;
};

} // namespace kofu::feed
