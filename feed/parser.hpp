#pragma once

// The streaming feed parser and validator (../shared/spec/feeds.md): bytes in, in chunks of any
// size, split anywhere (mid-line, mid-character, mid-CRLF); validated records out to a sink; errors
// with line and column. Memory stays bounded whatever the feed's size: one line buffer of at most
// line_bytes_max, and 8 bytes a record (at most feed_records_max) to check that codes are unique.

#include "feed/code_set.hpp"
#include "feed/columns.hpp"
#include "feed/feed_header.hpp"
#include "feed/limits.hpp"
#include "feed/record_sink.hpp"
#include "feed/sha256.hpp"
#include "feed/text.hpp"
#include "messages/records.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kofu::feed {

struct parser_options {
  /// The configured municipality; the header's must equal it.
  std::string municipality;
  /// The date birth dates may not be after, in the service's time zone. Left at its default
  /// (year 0), the parser takes today's date in Japan (UTC+9).
  civil_date today;
  /// How many errors are kept (admin-api.md: the first 100); all are counted.
  size_t errors_max = feed_errors_max;
  /// The most record lines accepted (bounds the memory of the uniqueness check).
  uint64_t records_max = feed_records_max;
};

/// Parses and checks one feed, pushed in chunks. Usage:
///
///     parser p{{"272051", today}, sink};
///     while (read(chunk)) p.feed(chunk);
///     p.finish();
///     if (!p.ok()) /* discard what the sink staged, report p.errors() */;
///
/// The sink gets the header and every record as soon as each is checked, until the first error;
/// the parser then goes on checking to the end (to report up to errors_max errors) without calling
/// the sink again. Whether the feed is good is known only after finish(): the consumer must not
/// apply anything before (see record_sink). Bad input never throws or crashes: it is an error.
class parser {
public:
  parser(parser_options options, record_sink& sink);
  ~parser();
  parser(const parser&) = delete;
  parser& operator=(const parser&) = delete;

  /// Takes the next bytes of the feed, as delivered.
  void feed(std::string_view chunk);

  /// Marks the end of the input: checks the trailer, or reports the file as truncated.
  void finish();

  /// True once finish() has run and the feed had no error at all.
  bool ok() const {
    return finished_ && errors_total_ == 0;
  }

  /// Adds an error the consumer found (e.g. a stale `sequence`, on line 1, from on_header): it is
  /// kept and counted like the parser's own, makes ok() false and stops the calls to the sink.
  void add_error(feed_error e) {
    error_at(e.line, e.field, std::move(e.message));
  }

  /// The first errors (at most errors_max), in the order found.
  const std::vector<feed_error>& errors() const {
    return errors_;
  }

  /// Every error found, including those not kept.
  uint64_t errors_total() const {
    return errors_total_;
  }

  /// Record lines seen so far (for progress: records_done).
  uint64_t records_seen() const {
    return records_seen_;
  }

  /// The number of the line being read (1 before anything was read).
  uint64_t line() const {
    return line_;
  }

  /// The header, once line 1 was read and found without error.
  const std::optional<feed_header>& header() const {
    return header_;
  }

  /// The kind line 1 names, even when the header has errors (a rejected feed is still shown as
  /// the last of its kind); nullopt when it names none that is valid.
  const std::optional<feed_kind>& kind_named() const {
    return kind_named_;
  }

private:
  enum class stage : uint8_t { header, columns, records, after_trailer };

  void take_line(std::string_view raw);
  void start_overlong_line();
  void header_line(std::string_view text);
  void column_line(std::string_view text);
  void record_line(std::string_view text);
  void trailer_line(std::string_view text);

  /// Brings a record or column line to UTF-8 (converting CP932, validating UTF-8); nullopt after
  /// reporting an error.
  std::optional<std::string_view> to_utf8(std::string_view text);

  /// Splits a UTF-8 line into fields_ (RFC 4180). Returns the number of fields (fields_max + 1
  /// when there are more), or nullopt after reporting a syntax error.
  std::optional<size_t> split(std::string_view text);

  void resident_fields(size_t n, record_op op);
  void tax_fields(size_t n, record_op op);
  /// Calls `visit(field index, its column, its text)` for the data fields of the line's `n`
  /// fields: not the op column, and of a D line only the resident code.
  template <class Visit>
  void for_each_field(size_t n, record_op op, Visit&& visit);
  bool check_code(size_t field, std::string& out);

  /// The column name of field `i` of a record line, empty when there is none.
  std::string_view field_name(size_t i) const;

  /// The field of `raw` (a record line as delivered) holding byte `offset`.
  std::string_view field_name_at(std::string_view raw, size_t offset) const;

  void error(std::string_view field, std::string message);
  void error_at(uint64_t line, std::string_view field, std::string message);

  parser_options options_;
  record_sink& sink_;

  stage stage_ = stage::header;
  uint64_t line_ = 1;        // the number of the line being read
  std::string pending_;      // the start of a line whose end has not arrived yet
  bool overlong_ = false;    // skipping the rest of a line longer than line_bytes_max
  bool overlong_hashed_ = false; // that line is inside the checksum (column or record line)
  bool finished_ = false;

  std::optional<feed_header> header_;
  std::optional<feed_kind> kind_named_; // header(): kind_named()
  bool header_usable_ = false;  // kind, mode and encoding are known
  bool records_usable_ = false; // the column line was good: records can be checked
  bool after_trailer_reported_ = false;

  feed_kind kind_ = feed_kind::residents;
  int32_t fiscal_year_ = 0;
  bool delta_ = false;
  bool cp932_ = false;
  std::unique_ptr<iconv_converter> from_cp932_;
  std::string converted_;

  std::span<const column_desc> columns_;        // the kind's columns, op excluded
  size_t field_count_ = 0;                      // columns on the column line
  std::array<uint8_t, fields_max> field_column_{}; // field position -> index into columns_ (op: op_index)
  size_t op_field_ = 0;                         // the position of `op` in a delta feed
  static constexpr uint8_t op_index = 0xFF;

  std::array<std::string_view, fields_max> fields_{};
  std::unique_ptr<char[]> unquoted_; // room for fields with doubled quotes, converted_line_bytes_max

  sha256 sha_;
  code_set codes_;
  uint64_t records_seen_ = 0;
  uint64_t records_max_;
  bool too_many_records_reported_ = false;

  std::vector<feed_error> errors_;
  uint64_t errors_total_ = 0;
};

} // namespace kofu::feed
