#include "feed/feed_header.hpp"

#include "messages/records.hpp"

namespace kofu::feed {

std::string_view to_string(feed_kind x) {
  switch (x) {
    case feed_kind::residents: return "residents";
    case feed_kind::tax: return "tax";
  }
  return "?";
}

std::string_view to_string(feed_mode x) {
  switch (x) {
    case feed_mode::full: return "full";
    case feed_mode::delta: return "delta";
  }
  return "?";
}

std::string_view to_string(feed_encoding x) {
  switch (x) {
    case feed_encoding::utf8: return "UTF-8";
    case feed_encoding::cp932: return "CP932";
  }
  return "?";
}

std::optional<feed_kind> parse_feed_kind(std::string_view t) {
  if (t == "residents") return feed_kind::residents;
  if (t == "tax") return feed_kind::tax;
  return std::nullopt;
}

std::optional<feed_mode> parse_feed_mode(std::string_view t) {
  if (t == "full") return feed_mode::full;
  if (t == "delta") return feed_mode::delta;
  return std::nullopt;
}

std::optional<feed_encoding> parse_feed_encoding(std::string_view t) {
  if (t == "UTF-8") return feed_encoding::utf8;
  if (t == "CP932") return feed_encoding::cp932;
  return std::nullopt;
}

namespace {

/// Reads `len` ASCII digits at `pos` into `out`; false when any is not a digit.
bool read_digits(std::string_view t, size_t pos, size_t len, int& out) {
  if (pos + len > t.size())
    return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (t[i] < '0' || t[i] > '9')
      return false;
    v = v * 10 + (t[i] - '0');
  }
  out = v;
  return true;
}

} // namespace

bool is_rfc3339_date_time(std::string_view t) {
  // full-date "T" partial-time time-offset; RFC 3339 section 5.6.
  if (t.size() < 20 || !parse_civil_date(t.substr(0, 10)))
    return false;
  if (t[10] != 'T' && t[10] != 't')
    return false;
  int hh = 0, mm = 0, ss = 0;
  if (!read_digits(t, 11, 2, hh) || t[13] != ':' || !read_digits(t, 14, 2, mm) || t[16] != ':'
      || !read_digits(t, 17, 2, ss))
    return false;
  if (hh > 23 || mm > 59 || ss > 60) // 60: a leap second
    return false;
  size_t i = 19;
  if (t[i] == '.') {
    size_t digits = 0;
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i)
      ++digits;
    if (digits == 0)
      return false;
  }
  if (i == t.size())
    return false;
  if (t[i] == 'Z' || t[i] == 'z')
    return i + 1 == t.size();
  if (t[i] != '+' && t[i] != '-')
    return false;
  int oh = 0, om = 0;
  return t.size() == i + 6 && read_digits(t, i + 1, 2, oh) && t[i + 3] == ':'
         && read_digits(t, i + 4, 2, om) && oh <= 23 && om <= 59;
}

std::string format_header_line(const feed_header& h) {
  std::string out = "#KOFU-FEED,version=";
  out += std::to_string(h.version);
  out += ",kind=";
  out += to_string(h.kind);
  out += ",mode=";
  out += to_string(h.mode);
  out += ",municipality=";
  out += h.municipality;
  if (h.fiscal_year) {
    out += ",fiscal_year=";
    out += std::to_string(*h.fiscal_year);
  }
  out += ",sequence=";
  out += std::to_string(h.sequence);
  out += ",encoding=";
  out += to_string(h.encoding);
  out += ",created_at=";
  out += h.created_at;
  return out;
}

} // namespace kofu::feed
