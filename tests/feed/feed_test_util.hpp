#pragma once

// Helpers shared by the feed tests: assemble feed text with a correct (or deliberately wrong)
// trailer, and parse it in chunks of a chosen size into a sink that keeps everything.

#include "feed/columns.hpp"
#include "feed/parser.hpp"
#include "feed/sha256.hpp"
#include "feed/text.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kofu::feed::test {

inline const std::string municipality = "272051";
inline constexpr civil_date today{2026, 6, 1};

inline const std::string created_at = "created_at=2026-06-01T02:00:00+09:00";

inline std::string residents_header(std::string_view mode = "full", std::string_view encoding = "UTF-8") {
  return "#KOFU-FEED,version=1,kind=residents,mode=" + std::string(mode)
         + ",municipality=272051,sequence=7,encoding=" + std::string(encoding) + "," + created_at;
}

inline std::string tax_header(std::string_view mode = "full", std::string_view encoding = "UTF-8") {
  return "#KOFU-FEED,version=1,kind=tax,mode=" + std::string(mode)
         + ",municipality=272051,fiscal_year=2025,sequence=7,encoding=" + std::string(encoding) + ","
         + created_at;
}

inline const std::string residents_columns =
  "resident_code,name,name_kana,birth_date,address,status,status_date,hold";

inline std::string tax_columns(bool delta = false) {
  std::string s = delta ? "op," : "";
  for (const auto& c : columns_of(feed_kind::tax))
    s += std::string(c.name) + ",";
  s.pop_back();
  return s;
}

/// A tax line in column order: consistent defaults (a filed salary earner), with `overrides`
/// (column name -> raw CSV text) applied.
inline std::string tax_line(std::map<std::string, std::string> overrides = {},
                            std::string_view op = {}) {
  std::map<std::string, std::string> v = {
    {"resident_code", "12345678901"}, {"address_jan1", "大阪府吹田市泉町一丁目3番40号"},
    {"declaration", "filed"},         {"salary_revenue", "4200000"},
    {"salary_income", "2940000"},     {"total_income", "2940000"},
    {"social_insurance", "600000"},   {"basic", "430000"},
    {"total_deductions", "1030000"},  {"taxable_income", "1910000"},
    {"city_income_levy", "114600"},   {"city_per_capita", "3500"},
    {"pref_income_levy", "76400"},    {"pref_per_capita", "1500"},
    {"forest_env_tax", "1000"},       {"total_tax", "197000"},
  };
  for (auto& [k, x] : overrides)
    v[k] = x;
  std::string s = op.empty() ? "" : std::string(op) + ",";
  for (const auto& c : columns_of(feed_kind::tax)) {
    auto it = v.find(std::string(c.name));
    s += it == v.end() ? "0" : it->second;
    s += ',';
  }
  s.pop_back();
  return s;
}

struct feed_parts {
  feed_parts(std::string h, std::string c, std::vector<std::string> r, std::string e = "\n")
    : header(std::move(h)), columns(std::move(c)), records(std::move(r)), eol(std::move(e)) {
    // nop
  }
  std::string header;
  std::string columns;
  std::vector<std::string> records; // UTF-8, without line breaks
  std::string eol = "\n";
  bool trailer_eol = true;
  bool cp932 = false;               // convert column and record lines (and the header) to CP932
  std::optional<uint64_t> records_override;
  std::optional<std::string> sha_override;
};

inline std::string to_cp932(std::string_view utf8) {
  iconv_converter c("CP932", "UTF-8");
  std::string out;
  if (c.convert(utf8, out, 1 << 20) != std::string_view::npos)
    throw std::runtime_error("test text not representable in CP932");
  return out;
}

inline std::string from_cp932(std::string_view bytes) {
  iconv_converter c("UTF-8", "CP932");
  std::string out;
  if (c.convert(bytes, out, 1 << 20) != std::string_view::npos)
    throw std::runtime_error("not CP932");
  return out;
}

/// The feed's bytes, with a trailer computed over what is written unless overridden.
inline std::string assemble(const feed_parts& p) {
  auto enc = [&](const std::string& s) { return p.cp932 ? to_cp932(s) : s; };
  std::string body = enc(p.columns) + p.eol;
  for (const auto& r : p.records)
    body += enc(r) + p.eol;
  std::string out = enc(p.header) + p.eol + body;
  out += "#END,records=" + std::to_string(p.records_override.value_or(p.records.size()))
         + ",sha256=" + p.sha_override.value_or(sha256::hex_of(body));
  if (p.trailer_eol)
    out += p.eol;
  return out;
}

/// A sink that keeps everything it is handed.
struct collecting_sink : record_sink {
  std::optional<feed_header> header;
  std::vector<std::pair<record_op, resident_record>> residents;
  std::vector<std::pair<record_op, tax_record>> taxes;
  void on_header(const feed_header& h) override {
    header = h;
  }
  void on_resident(record_op op, resident_record&& r) override {
    residents.emplace_back(op, std::move(r));
  }
  void on_tax(record_op op, tax_record&& r) override {
    taxes.emplace_back(op, std::move(r));
  }
};

struct parse_result {
  bool ok = false;
  std::vector<feed_error> errors;
  uint64_t errors_total = 0;
  uint64_t records_seen = 0;
  collecting_sink sink;
  std::optional<feed_header> header;
};

/// Parses `bytes` fed in chunks of `chunk` bytes (0: one chunk).
inline parse_result parse(std::string_view bytes, size_t chunk = 0, parser_options opt = {}) {
  if (opt.municipality.empty())
    opt.municipality = municipality;
  if (opt.today == civil_date{})
    opt.today = today;
  parse_result r;
  parser p(opt, r.sink);
  if (chunk == 0)
    chunk = std::max<size_t>(bytes.size(), 1);
  for (size_t i = 0; i < bytes.size(); i += chunk)
    p.feed(bytes.substr(i, chunk));
  p.finish();
  r.ok = p.ok();
  r.errors = p.errors();
  r.errors_total = p.errors_total();
  r.records_seen = p.records_seen();
  r.header = p.header();
  return r;
}

/// Parses in two pieces split at `at`.
inline parse_result parse_split(std::string_view bytes, size_t at) {
  parse_result r;
  parser p({municipality, today}, r.sink);
  p.feed(bytes.substr(0, at));
  p.feed(bytes.substr(at));
  p.finish();
  r.ok = p.ok();
  r.errors = p.errors();
  r.errors_total = p.errors_total();
  r.records_seen = p.records_seen();
  r.header = p.header();
  return r;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string data_path(std::string_view name) {
  return std::string(KOFU_SOURCE_DIR) + "/tests/feed/data/" + std::string(name);
}

} // namespace kofu::feed::test
