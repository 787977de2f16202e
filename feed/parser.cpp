#include "feed/parser.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>

namespace kofu::feed {

namespace {

constexpr std::string_view header_prefix = "#KOFU-FEED";
constexpr std::string_view trailer_prefix = "#END";

/// The trailer line: it starts "#END" (a record may start with '#', say an address).
bool is_trailer(std::string_view line) {
  return line.starts_with(trailer_prefix);
}
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";
constexpr size_t sha256_hex_chars = 64;
constexpr int64_t seconds_per_day = 86'400;
constexpr int64_t japan_utc_offset_s = 9 * 3'600; // JST, no daylight saving
constexpr size_t uint64_digits_max = 19;           // every 19-digit number fits in uint64
constexpr int count_max = 99;

/// True when `s` may be repeated in an error message: a short name of [A-Za-z0-9_-]. Only column
/// and key names are ever repeated, and only when they pass this.
bool is_plain_name(std::string_view s) {
  if (s.empty() || s.size() > quoted_name_bytes_max)
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
  });
}

/// `'name'`, or a neutral word when the name is not plain.
std::string quoted(std::string_view s) {
  if (!is_plain_name(s))
    return "(not shown)";
  std::string out = "'";
  out += s;
  out += '\'';
  return out;
}

/// The field to name for a column or key: itself when plain, else none.
std::string_view plain_or_empty(std::string_view s) {
  return is_plain_name(s) ? s : std::string_view{};
}

civil_date today_in_japan() {
  using namespace std::chrono;
  const int64_t s = duration_cast<seconds>(system_clock::now().time_since_epoch()).count()
                    + japan_utc_offset_s;
  const int64_t days = s >= 0 ? s / seconds_per_day : (s - seconds_per_day + 1) / seconds_per_day;
  return civil_from_days(days);
}

bool all_digits(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// A positive or zero whole number of at most 19 digits.
std::optional<uint64_t> parse_uint(std::string_view v) {
  if (v.empty() || v.size() > uint64_digits_max || !all_digits(v))
    return std::nullopt;
  uint64_t x = 0;
  for (char c : v)
    x = x * 10 + static_cast<uint64_t>(c - '0');
  return x;
}

enum class amount_problem { none, separator, negative, decimal, not_digits, too_large };

/// Whole yen, digits only, 0..tax_amount_max_yen; empty means 0 (feeds.md).
amount_problem parse_amount(std::string_view v, int64_t& out) {
  constexpr size_t amount_digits_max = 12; // 999,999,999,999
  size_t i = 0;
  while (i < v.size() && v[i] == '0')
    ++i;
  int64_t x = 0;
  for (size_t j = i; j < v.size(); ++j) {
    const char c = v[j];
    if (c < '0' || c > '9') {
      if (c == ',' || c == '_' || c == ' ' || c == '\'')
        return amount_problem::separator;
      if (c == '-' && j == 0)
        return amount_problem::negative;
      if (c == '.')
        return amount_problem::decimal;
      return amount_problem::not_digits;
    }
    if (j - i >= amount_digits_max)
      return all_digits(v.substr(j)) ? amount_problem::too_large : amount_problem::not_digits;
    x = x * 10 + (c - '0');
  }
  if (x > tax_amount_max_yen)
    return amount_problem::too_large;
  out = x;
  return amount_problem::none;
}

std::string amount_message(std::string_view column, amount_problem p) {
  std::string m(column);
  switch (p) {
    case amount_problem::separator:
      m += " has a digit separator; amounts are written as plain digits (1234567)";
      break;
    case amount_problem::negative:
      m += " is negative; amounts are 0 to 999999999999 yen";
      break;
    case amount_problem::decimal:
      m += " has a decimal point; amounts are whole yen";
      break;
    case amount_problem::not_digits:
      m += " is not a whole number of yen (digits only)";
      break;
    case amount_problem::too_large:
      m += " is above the largest amount, 999999999999 yen";
      break;
    case amount_problem::none:
      break;
  }
  return m;
}

/// 0..99, digits only, not empty.
std::optional<uint8_t> parse_count(std::string_view v) {
  constexpr size_t count_digits_max = 3; // allows a leading zero ("007" is 7)
  if (v.empty() || v.size() > count_digits_max || !all_digits(v))
    return std::nullopt;
  int x = 0;
  for (char c : v)
    x = x * 10 + (c - '0');
  if (x > count_max)
    return std::nullopt;
  return static_cast<uint8_t>(x);
}

enum class text_rule { name, kana, address };
enum class text_problem { none, empty, too_long, control, misplaced_selector, not_kana };

struct text_check {
  text_problem problem = text_problem::none;
  size_t position = 0; // 1-based character position of the offending character
};

/// Checks a text column of valid UTF-8: its length in code points (variation selectors not
/// counted), control characters, where variation selectors stand, and for kana the character set.
text_check check_text(std::string_view v, size_t chars_max, text_rule rule) {
  if (v.empty())
    return {text_problem::empty, 0};
  size_t chars = 0;
  size_t position = 0;
  char32_t previous = 0;
  for (size_t i = 0; i < v.size();) {
    const char32_t c = next_code_point(v, i);
    ++position;
    if (is_variation_selector(c) || is_standard_variation_selector(c)) {
      if (rule == text_rule::kana)
        return {text_problem::not_kana, position};
      bool after_selector = is_variation_selector(previous)
                            || is_standard_variation_selector(previous);
      if (is_variation_selector(c) ? !is_kanji(previous) : previous == 0 || after_selector)
        return {text_problem::misplaced_selector, position};
      previous = c;
      continue;
    }
    if (is_control(c))
      return {text_problem::control, position};
    if (rule == text_rule::kana && !is_kana_name_char(c))
      return {text_problem::not_kana, position};
    if (++chars > chars_max)
      return {text_problem::too_long, position};
    previous = c;
  }
  return {};
}

std::string text_message(std::string_view column, size_t chars_max, text_check t) {
  std::string m(column);
  switch (t.problem) {
    case text_problem::empty:
      m += " is empty";
      break;
    case text_problem::too_long:
      m += " is longer than " + std::to_string(chars_max) + " characters";
      break;
    case text_problem::control:
      m += " holds a control character (character " + std::to_string(t.position) + ")";
      break;
    case text_problem::misplaced_selector:
      m += " holds a variation selector that does not follow a kanji (character "
           + std::to_string(t.position) + ")";
      break;
    case text_problem::not_kana:
      m += " holds a character that is neither katakana nor the ideographic space (character "
           + std::to_string(t.position) + ")";
      break;
    case text_problem::none:
      break;
  }
  return m;
}

/// The header keys, in the order feeds.md lists them (and missing ones are reported).
enum class header_key : uint8_t {
  version,
  kind,
  mode,
  municipality,
  fiscal_year,
  sequence,
  encoding,
  created_at,
};
constexpr std::array<std::string_view, 8> header_key_names = {
  "version", "kind", "mode", "municipality", "fiscal_year", "sequence", "encoding", "created_at",
};

} // namespace

parser::parser(parser_options options, record_sink& sink)
  : options_(std::move(options)),
    sink_(sink),
    unquoted_(new char[converted_line_bytes_max]),
    records_max_(std::min<uint64_t>(options_.records_max, code_set::line_max - 3)) {
  if (options_.today == civil_date{})
    options_.today = today_in_japan();
  pending_.reserve(line_bytes_max + 2);
}

parser::~parser() = default;

// -- line splitting -------------------------------------------------------------------------------

void parser::feed(std::string_view chunk) {
  assert(!finished_);
  if (finished_)
    return;
  // Bounded: every pass consumes at least one byte of the chunk.
  while (!chunk.empty()) {
    const auto* nl = static_cast<const char*>(std::memchr(chunk.data(), '\n', chunk.size()));
    if (overlong_) {
      const size_t take = nl ? static_cast<size_t>(nl - chunk.data()) + 1 : chunk.size();
      if (overlong_hashed_)
        sha_.update(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (nl) {
        overlong_ = false;
        ++line_;
      }
      continue;
    }
    if (nl == nullptr) {
      // One more byte than the limit is allowed while the line is open: a '\r' before the '\n'.
      if (pending_.size() + chunk.size() > line_bytes_max + 1) {
        start_overlong_line();
        if (overlong_hashed_) {
          sha_.update(pending_);
          sha_.update(chunk);
        }
        pending_.clear();
        overlong_ = true;
      } else {
        pending_.append(chunk);
      }
      return;
    }
    const size_t len = static_cast<size_t>(nl - chunk.data()) + 1;
    size_t text_len = pending_.size() + len - 1;
    const char before_nl = len >= 2 ? chunk[len - 2] : (pending_.empty() ? '\0' : pending_.back());
    if (before_nl == '\r' && text_len > 0)
      --text_len;
    if (text_len > line_bytes_max) {
      start_overlong_line();
      if (overlong_hashed_) {
        sha_.update(pending_);
        sha_.update(chunk.substr(0, len));
      }
      pending_.clear();
      ++line_;
    } else if (pending_.empty()) {
      take_line(chunk.substr(0, len)); // the common case: no copy
    } else {
      pending_.append(chunk.data(), len);
      take_line(pending_);
      pending_.clear();
    }
    chunk.remove_prefix(len);
  }
}

void parser::finish() {
  if (finished_)
    return;
  finished_ = true;
  if (overlong_) {
    overlong_ = false;
    ++line_;
  } else if (!pending_.empty()) {
    // The last line has no line break: fine for the trailer (feeds.md), a truncation otherwise.
    const std::string_view last = pending_;
    const bool trailer_like = is_trailer(last);
    if (stage_ == stage::header || stage_ == stage::after_trailer || trailer_like) {
      take_line(last);
    } else {
      error("", "the file is truncated: line " + std::to_string(line_)
                  + " ends without a line break and there is no trailer line");
      pending_.clear();
      return;
    }
    pending_.clear();
  }
  if (stage_ == stage::after_trailer)
    return;
  if (line_ == 1)
    error("", "the file is empty");
  else
    error("", "the file is truncated: there is no trailer line (#END,records=N,sha256=...)");
}

void parser::start_overlong_line() {
  error("", "the line is longer than " + std::to_string(line_bytes_max) + " bytes");
  overlong_hashed_ = stage_ == stage::columns || stage_ == stage::records;
  switch (stage_) {
    case stage::header:
      stage_ = stage::columns; // header_usable_ stays false: nothing after it is checked
      break;
    case stage::columns:
      stage_ = stage::records; // records_usable_ stays false
      break;
    case stage::records:
      ++records_seen_;
      break;
    case stage::after_trailer:
      after_trailer_reported_ = true;
      break;
  }
}

void parser::take_line(std::string_view raw) {
  std::string_view text = raw;
  if (!text.empty() && text.back() == '\n')
    text.remove_suffix(1);
  if (!text.empty() && text.back() == '\r')
    text.remove_suffix(1);
  switch (stage_) {
    case stage::header:
      header_line(text);
      stage_ = stage::columns;
      break;
    case stage::columns:
      if (is_trailer(text)) {
        error("", "the column line is missing: line 2 is the trailer");
        stage_ = stage::after_trailer;
        break;
      }
      sha_.update(raw);
      column_line(text);
      stage_ = stage::records;
      break;
    case stage::records:
      // The trailer is the line that starts "#END": a record may start with '#' when its first
      // column is, say, the address.
      if (is_trailer(text)) {
        trailer_line(text);
        stage_ = stage::after_trailer;
        break;
      }
      sha_.update(raw);
      ++records_seen_;
      record_line(text);
      break;
    case stage::after_trailer:
      if (!after_trailer_reported_) {
        after_trailer_reported_ = true;
        error("", "there is content after the trailer line");
      }
      break;
  }
  ++line_;
}

// -- header and trailer ---------------------------------------------------------------------------

void parser::header_line(std::string_view text) {
  const uint64_t errors_before = errors_total_;
  if (text.starts_with(utf8_bom)) {
    error("", "the file starts with a UTF-8 byte order mark (BOM); feeds are UTF-8 without BOM");
    text.remove_prefix(utf8_bom.size());
  }
  if (!text.starts_with(header_prefix)
      || (text.size() > header_prefix.size() && text[header_prefix.size()] != ',')) {
    error("", "line 1 is not a feed header: it must start with #KOFU-FEED,");
    return;
  }
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; })) {
    error("", "the header line holds a byte that is not printable ASCII");
    return;
  }
  text.remove_prefix(header_prefix.size());
  feed_header h;
  std::optional<feed_kind> kind;
  std::optional<feed_mode> mode;
  std::optional<feed_encoding> encoding;
  std::array<bool, header_key_names.size()> seen{};
  size_t items = 0;
  // Bounded by header_items_max items; each pass consumes at least the leading ','.
  while (!text.empty()) {
    text.remove_prefix(1); // the ',' before each item
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma);
    if (++items > header_items_max) {
      error("", "the header has more than " + std::to_string(header_items_max) + " items");
      break;
    }
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      error("", "header item " + quoted(item) + " is not key=value");
      continue;
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    const auto it = std::find(header_key_names.begin(), header_key_names.end(), key);
    if (it == header_key_names.end()) {
      error("", "unknown header key " + quoted(key));
      continue;
    }
    const auto k = static_cast<header_key>(it - header_key_names.begin());
    if (seen[static_cast<size_t>(k)]) {
      error("", "header key " + std::string(key) + " appears more than once");
      continue;
    }
    seen[static_cast<size_t>(k)] = true;
    switch (k) {
      case header_key::version:
        if (value != "1")
          error("", "version must be 1, the only feed version this server reads");
        break;
      case header_key::kind:
        kind = parse_feed_kind(value);
        if (!kind)
          error("", "kind must be residents or tax");
        kind_named_ = kind;
        break;
      case header_key::mode:
        mode = parse_feed_mode(value);
        if (!mode)
          error("", "mode must be full or delta");
        break;
      case header_key::municipality:
        h.municipality = value;
        if (value != options_.municipality)
          error("", "municipality " + std::string(plain_or_empty(value))
                      + " is not this server's municipality (" + options_.municipality + ")");
        break;
      case header_key::fiscal_year: {
        constexpr size_t year_digits = 4;
        if (value.size() != year_digits || !all_digits(value) || value[0] == '0') {
          error("", "fiscal_year must be a year written with four digits");
          break;
        }
        h.fiscal_year = static_cast<int32_t>(*parse_uint(value));
        break;
      }
      case header_key::sequence: {
        const auto s = parse_uint(value);
        if (!s || *s == 0) {
          error("", "sequence must be a positive whole number (at most 19 digits)");
          break;
        }
        h.sequence = *s;
        break;
      }
      case header_key::encoding:
        encoding = parse_feed_encoding(value);
        if (!encoding)
          error("", "encoding must be UTF-8 or CP932");
        break;
      case header_key::created_at:
        h.created_at = value;
        if (!is_rfc3339_date_time(value))
          error("", "created_at must be an RFC 3339 date-time such as 2026-06-01T02:00:00+09:00");
        break;
    }
  }
  for (size_t k = 0; k < header_key_names.size(); ++k) {
    if (seen[k])
      continue;
    if (static_cast<header_key>(k) == header_key::fiscal_year) {
      if (kind == feed_kind::tax)
        error("", "the header has no fiscal_year (a tax feed needs it)");
      continue;
    }
    error("", "the header has no " + std::string(header_key_names[k]));
  }
  if (kind == feed_kind::residents && seen[static_cast<size_t>(header_key::fiscal_year)])
    error("", "fiscal_year is not allowed in a residents feed");

  header_usable_ = kind && mode && encoding
                   && (*kind == feed_kind::residents || h.fiscal_year.has_value());
  if (!header_usable_)
    return;
  h.kind = kind_ = *kind;
  h.mode = *mode;
  h.encoding = *encoding;
  if (*kind == feed_kind::residents)
    h.fiscal_year.reset();
  fiscal_year_ = h.fiscal_year.value_or(0);
  delta_ = *mode == feed_mode::delta;
  cp932_ = *encoding == feed_encoding::cp932;
  if (cp932_)
    from_cp932_ = std::make_unique<iconv_converter>("UTF-8", "CP932");
  if (errors_total_ != errors_before)
    return;
  header_ = std::move(h);
  if (errors_total_ == 0)
    sink_.on_header(*header_);
}

void parser::trailer_line(std::string_view text) {
  constexpr std::string_view shape = " (#END,records=N,sha256=<64 lowercase hex digits>)";
  if (text.size() == trailer_prefix.size() || text[trailer_prefix.size()] != ',') {
    error("", "the line starts with #END but is not the trailer" + std::string(shape));
    return;
  }
  text.remove_prefix(trailer_prefix.size());
  std::optional<std::string_view> records;
  std::optional<std::string_view> sha256_hex;
  constexpr size_t trailer_items_max = 2;
  size_t items = 0;
  while (!text.empty()) {
    text.remove_prefix(1);
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma);
    if (++items > trailer_items_max) {
      error("", "the trailer has more than records and sha256" + std::string(shape));
      return;
    }
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    auto& slot = key == "records" ? records : key == "sha256" ? sha256_hex : records;
    if ((key != "records" && key != "sha256") || eq == std::string_view::npos) {
      error("", "the trailer item " + quoted(key) + " is not records=N or sha256=<hex>");
      return;
    }
    if (slot) {
      error("", "trailer key " + std::string(key) + " appears more than once");
      return;
    }
    slot = value;
  }
  if (!records || !sha256_hex) {
    error("", std::string("the trailer has no ") + (records ? "sha256" : "records") + std::string(shape));
    return;
  }
  const auto n = parse_uint(*records);
  if (!n)
    error("", "the trailer's records must be a whole number");
  else if (*n != records_seen_)
    error("", "the trailer says " + std::to_string(*n) + " records but the file has "
                + std::to_string(records_seen_) + " record lines");
  const bool hex = sha256_hex->size() == sha256_hex_chars
                   && std::all_of(sha256_hex->begin(), sha256_hex->end(), [](char c) {
                        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                      });
  if (!hex)
    error("", "the trailer's sha256 must be 64 lowercase hex digits");
  else if (sha_.hex_digest() != *sha256_hex)
    error("", "the SHA-256 checksum does not match the file's content from line 2 to line "
                + std::to_string(line_ - 1));
}

// -- column line ----------------------------------------------------------------------------------

void parser::column_line(std::string_view text) {
  if (!header_usable_)
    return;
  const auto utf8 = to_utf8(text);
  if (!utf8)
    return;
  const auto n = split(*utf8);
  if (!n)
    return;
  if (*n > fields_max) {
    error("", "the column line has more than " + std::to_string(fields_max) + " columns");
    return;
  }
  columns_ = columns_of(kind_);
  const uint64_t errors_before = errors_total_;
  std::array<bool, fields_max> seen{};
  bool op_seen = false;
  for (size_t i = 0; i < *n; ++i) {
    const std::string_view name = fields_[i];
    if (is_my_number_column(name)) {
      error(plain_or_empty(name), "column " + quoted(name)
                                    + " is refused: the individual number (My Number) must not be"
                                      " delivered to this system");
      continue;
    }
    if (name == op_column.name) {
      if (!delta_) {
        error("op", "column op is only allowed in a delta feed");
      } else if (op_seen) {
        error("op", "column op appears more than once");
      } else {
        op_seen = true;
        op_field_ = i;
        field_column_[i] = op_index;
      }
      continue;
    }
    const auto it = std::find_if(columns_.begin(), columns_.end(),
                                 [&](const column_desc& c) { return c.name == name; });
    if (it == columns_.end()) {
      error(plain_or_empty(name), "unknown column " + quoted(name) + " in a "
                                    + std::string(to_string(kind_)) + " feed");
      continue;
    }
    const auto j = static_cast<size_t>(it - columns_.begin());
    if (seen[j]) {
      error(name, "column " + std::string(name) + " appears more than once");
      continue;
    }
    seen[j] = true;
    field_column_[i] = static_cast<uint8_t>(j);
  }
  for (size_t j = 0; j < columns_.size(); ++j)
    if (!seen[j])
      error(columns_[j].name, "column " + std::string(columns_[j].name) + " is missing");
  if (delta_ && !op_seen)
    error("op", "column op is missing (a delta feed needs it)");
  if (errors_total_ != errors_before)
    return;
  field_count_ = *n;
  records_usable_ = true;
}

// -- record lines ---------------------------------------------------------------------------------

std::optional<std::string_view> parser::to_utf8(std::string_view text) {
  if (cp932_) {
    const size_t bad = from_cp932_->convert(text, converted_, converted_line_bytes_max);
    if (bad != std::string_view::npos) {
      error(field_name_at(text, bad), "byte " + std::to_string(bad + 1)
                                        + " of the line is not valid CP932 (the header says"
                                          " encoding=CP932)");
      return std::nullopt;
    }
    return std::string_view(converted_);
  }
  const size_t bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    error(field_name_at(text, bad), "byte " + std::to_string(bad + 1)
                                      + " of the line is not valid UTF-8 (the header says"
                                        " encoding=UTF-8)");
    return std::nullopt;
  }
  return text;
}

std::optional<size_t> parser::split(std::string_view text) {
  const char* const data = text.data();
  const size_t len = text.size();
  size_t n = 0;
  size_t i = 0;
  char* unquoted = unquoted_.get(); // total unquoted bytes <= len <= converted_line_bytes_max
  // Bounded: at most fields_max fields, each pass consumes at least one byte or ends the line.
  for (;;) {
    if (n == fields_max)
      return fields_max + 1; // there is at least one more field than we keep
    if (i < len && data[i] == '"') {
      const size_t start = ++i;
      bool doubled = false;
      size_t end = 0;
      for (;;) {
        const auto* q = static_cast<const char*>(std::memchr(data + i, '"', len - i));
        if (q == nullptr) {
          error(field_name(n), "a quoted field is not closed (a field may not hold a line break)");
          return std::nullopt;
        }
        const auto qi = static_cast<size_t>(q - data);
        if (qi + 1 < len && data[qi + 1] == '"') {
          doubled = true;
          i = qi + 2;
          continue;
        }
        end = qi;
        i = qi + 1;
        break;
      }
      const std::string_view v = text.substr(start, end - start);
      if (doubled) {
        char* dst = unquoted;
        for (size_t j = 0; j < v.size(); ++j) {
          *unquoted++ = v[j];
          if (v[j] == '"')
            ++j; // the second quote of a doubled pair
        }
        fields_[n] = std::string_view(dst, static_cast<size_t>(unquoted - dst));
      } else {
        fields_[n] = v;
      }
      ++n;
      if (i == len)
        return n;
      if (data[i] != ',') {
        error(field_name(n - 1), "a quoted field goes on after its closing quote");
        return std::nullopt;
      }
      ++i;
    } else {
      // Fields are short (a few bytes mostly): one byte loop beats two memchr calls a field.
      size_t end = i;
      while (end < len && data[end] != ',' && data[end] != '"')
        ++end;
      if (end < len && data[end] == '"') {
        error(field_name(n), "a quote inside an unquoted field (quote the whole field and double"
                             " the quote)");
        return std::nullopt;
      }
      fields_[n++] = text.substr(i, end - i);
      if (end == len)
        return n;
      i = end + 1;
    }
  }
}

std::string_view parser::field_name(size_t i) const {
  if (!records_usable_ || i >= field_count_)
    return {};
  const uint8_t c = field_column_[i];
  return c == op_index ? op_column.name : columns_[c].name;
}

std::string_view parser::field_name_at(std::string_view raw, size_t offset) const {
  // '"' and ',' are never part of a multi-byte character, in UTF-8 or in CP932 (trail bytes are
  // 0x40 and above), so counting them on the raw bytes finds the field.
  size_t field = 0;
  bool quoted_field = false;
  for (size_t i = 0; i < offset && i < raw.size(); ++i) {
    if (raw[i] == '"')
      quoted_field = !quoted_field;
    else if (raw[i] == ',' && !quoted_field)
      ++field;
  }
  return field_name(field);
}

void parser::record_line(std::string_view text) {
  if (!records_usable_)
    return;
  if (records_seen_ > records_max_) {
    if (!too_many_records_reported_) {
      too_many_records_reported_ = true;
      error("", "the feed has more than " + std::to_string(records_max_) + " records");
    }
    return;
  }
  const auto utf8 = to_utf8(text);
  if (!utf8)
    return;
  const auto n = split(*utf8);
  if (!n)
    return;
  if (*n != field_count_) {
    const std::string count = *n > fields_max ? "more than " + std::to_string(fields_max)
                                              : std::to_string(*n);
    error("", "the line has " + count + " fields; the column line has "
                + std::to_string(field_count_));
    return;
  }
  record_op op = record_op::upsert;
  if (delta_) {
    const std::string_view v = fields_[op_field_];
    if (v == "D")
      op = record_op::remove;
    else if (v != "U")
      error("op", "op must be U (insert or replace) or D (delete)");
  }
  if (kind_ == feed_kind::residents)
    resident_fields(*n, op);
  else
    tax_fields(*n, op);
}

bool parser::check_code(size_t field, std::string& out) {
  const std::string_view v = fields_[field];
  if (!is_resident_code(v)) {
    error("resident_code", "resident_code must be 11 ASCII digits");
    return false;
  }
  uint64_t code = 0;
  for (char c : v)
    code = code * 10 + static_cast<uint64_t>(c - '0');
  if (const uint64_t first = codes_.insert(code, line_); first != 0) {
    error("resident_code",
          "resident_code appears more than once in the file (first on line " + std::to_string(first) + ")");
    return false;
  }
  out.assign(v);
  return true;
}

template <class Visit>
void parser::for_each_field(size_t n, record_op op, Visit&& visit) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t idx = field_column_[i];
    if (idx == op_index)
      continue;
    const column_desc& c = columns_[idx];
    if (op == record_op::remove && c.type != column_type::resident_code)
      continue; // the other fields of a D line are not read (feeds.md: they may be empty)
    visit(i, c, std::string_view(fields_[i]));
  }
}

void parser::resident_fields(size_t n, record_op op) {
  resident_record r;
  std::optional<resident_status> status;
  size_t status_date_field = fields_max;
  for_each_field(n, op, [&](size_t i, const column_desc& c, std::string_view v) {
    switch (c.type) {
      case column_type::resident_code:
        check_code(i, r.resident_code);
        break;
      case column_type::name:
      case column_type::name_kana:
      case column_type::address: {
        const bool kana = c.type == column_type::name_kana;
        const size_t max = c.type == column_type::address ? address_chars_max
                           : kana                          ? name_kana_chars_max
                                                           : name_chars_max;
        const auto t = check_text(v, max, kana ? text_rule::kana
                                          : c.type == column_type::name ? text_rule::name
                                                                        : text_rule::address);
        if (t.problem != text_problem::none) {
          error(c.name, text_message(c.name, max, t));
          break;
        }
        auto& out = c.type == column_type::address ? r.address : kana ? r.name_kana : r.name;
        out.assign(v);
        break;
      }
      case column_type::birth_date: {
        const auto d = parse_civil_date(v);
        if (!d)
          error(c.name, "birth_date must be a real date written YYYY-MM-DD");
        else if (*d > options_.today)
          error(c.name, "birth_date is in the future");
        else
          r.birth_date = *d;
        break;
      }
      case column_type::status:
        status = parse_resident_status(v);
        if (!status)
          error(c.name, "status must be active, moved_out or deceased");
        else
          r.status = *status;
        break;
      case column_type::status_date:
        status_date_field = i; // checked below, once status is known
        break;
      case column_type::hold:
        if (const auto h = parse_issuance_hold(v))
          r.hold = *h;
        else
          error(c.name, "hold must be empty, support_measure or other");
        break;
      default:
        assert(false && "not a residents column");
        break;
    }
  });
  if (op == record_op::upsert && status && status_date_field < n) {
    const std::string_view v = fields_[status_date_field];
    if (*status == resident_status::active) {
      if (!v.empty())
        error("status_date", "status_date must be empty when status is active");
    } else if (v.empty()) {
      error("status_date",
            "status_date is required when status is " + std::string(to_string(*status)));
    } else if (const auto d = parse_civil_date(v)) {
      r.status_date = *d;
    } else {
      error("status_date", "status_date must be a real date written YYYY-MM-DD");
    }
  }
  if (errors_total_ == 0)
    sink_.on_resident(op, std::move(r));
}

void parser::tax_fields(size_t n, record_op op) {
  tax_record t;
  t.fiscal_year = fiscal_year_;
  std::optional<declaration_kind> declaration;
  bool numbers_bad = false;
  for_each_field(n, op, [&](size_t i, const column_desc& c, std::string_view v) {
    switch (c.type) {
      case column_type::resident_code:
        check_code(i, t.resident_code);
        break;
      case column_type::address: {
        const auto check = check_text(v, address_chars_max, text_rule::address);
        if (check.problem != text_problem::none)
          error(c.name, text_message(c.name, address_chars_max, check));
        else
          t.address_jan1.assign(v);
        break;
      }
      case column_type::declaration:
        declaration = parse_declaration_kind(v);
        if (!declaration)
          error(c.name, "declaration must be filed, not_filed or dependent");
        else
          t.declaration = *declaration;
        break;
      case column_type::amount:
        if (const auto p = parse_amount(v, t.amounts_yen[c.index]); p != amount_problem::none) {
          error(c.name, amount_message(c.name, p));
          numbers_bad = true;
        }
        break;
      case column_type::spouse_flag:
        if (v == "0" || v == "1") {
          t.spouse_flag = v == "1";
        } else {
          error(c.name, "spouse_flag must be 0 or 1");
          numbers_bad = true;
        }
        break;
      case column_type::count:
        if (const auto k = parse_count(v)) {
          t.counts[c.index] = *k;
        } else {
          error(c.name, std::string(c.name) + " must be a count from 0 to 99");
          numbers_bad = true;
        }
        break;
      default:
        assert(false && "not a tax column");
        break;
    }
  });
  if (op == record_op::upsert) {
    bool nonzero = false;
    if (declaration && *declaration != declaration_kind::filed) {
      // feeds.md: a not_filed or dependent record carries zero in every amount, flag and count.
      for (size_t i = 0; i < n; ++i) {
        const uint8_t idx = field_column_[i];
        if (idx == op_index)
          continue;
        const column_desc& c = columns_[idx];
        const bool is_nonzero = (c.type == column_type::amount && t.amounts_yen[c.index] != 0)
                                || (c.type == column_type::spouse_flag && t.spouse_flag)
                                || (c.type == column_type::count && t.counts[c.index] != 0);
        if (is_nonzero) {
          nonzero = true;
          error(c.name, std::string(c.name) + " must be 0 in a "
                          + std::string(to_string(*declaration)) + " record");
        }
      }
    }
    if (!numbers_bad && !nonzero) {
      int64_t deductions = 0;
      for (const auto a : deduction_amounts)
        deductions += t.amount(a); // 13 * 10^12 fits easily in int64
      if (deductions != t.amount(tax_amount::total_deductions))
        error("total_deductions", "total_deductions is not the sum of the 13 deductions");
      int64_t taxes = 0;
      for (const auto a : tax_amounts)
        taxes += t.amount(a);
      if (taxes != t.amount(tax_amount::total_tax))
        error("total_tax", "total_tax is not the sum of the five taxes");
    }
  }
  if (errors_total_ == 0)
    sink_.on_tax(op, std::move(t));
}

// -- errors ---------------------------------------------------------------------------------------

void parser::error(std::string_view field, std::string message) {
  error_at(line_, field, std::move(message));
}

void parser::error_at(uint64_t line, std::string_view field, std::string message) {
  ++errors_total_;
  if (errors_.size() < options_.errors_max)
    errors_.push_back(feed_error{line, std::string(field), std::move(message)});
}

} // namespace kofu::feed
