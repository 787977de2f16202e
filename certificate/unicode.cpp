#include "certificate/unicode.hpp"

#include <cstdio>

namespace kofu::certificate {

namespace {

/// Decodes one character at `pos`, advancing it; U+FFFD on any malformed input.
char32_t next_code_point(std::string_view text, size_t& pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(pos++);
  if (lead < 0x80)
    return lead;
  size_t extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (extra == 0 || lead > 0xF4 || pos + extra > text.size())
    return replacement_character;
  char32_t cp = lead & (0x3F >> extra);
  for (size_t i = 0; i < extra; ++i) {
    unsigned char c = byte(pos);
    if ((c & 0xC0) != 0x80)
      return replacement_character;
    cp = (cp << 6) | (c & 0x3F);
    ++pos;
  }
  constexpr char32_t min_by_length[] = {0, 0x80, 0x800, 0x10000};
  if (cp < min_by_length[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return replacement_character;
  return cp;
}

} // namespace

bool is_variation_selector(char32_t cp) {
  return (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF);
}

std::vector<char32_t> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();)
    out.push_back(next_code_point(text, pos));
  return out;
}

void decode_clusters(std::string_view text, std::vector<cluster>& out) {
  out.clear();
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp = next_code_point(text, pos);
    if (is_variation_selector(cp) && !out.empty() && out.back().selector == 0
        && !is_variation_selector(out.back().base))
      out.back().selector = cp;
    else
      out.push_back({cp, 0});
  }
}

void append_utf16be(std::string& out, char32_t cp) {
  auto unit = [&](uint32_t u) {
    out += static_cast<char>(u >> 8);
    out += static_cast<char>(u & 0xFF);
  };
  if (cp < 0x10000) {
    unit(cp);
    return;
  }
  uint32_t v = cp - 0x10000;
  unit(0xD800 + (v >> 10));
  unit(0xDC00 + (v & 0x3FF));
}

std::string describe(cluster c) {
  char buf[32];
  if (c.selector == 0)
    std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(c.base));
  else
    std::snprintf(buf, sizeof(buf), "U+%04X U+%04X", static_cast<unsigned>(c.base),
                  static_cast<unsigned>(c.selector));
  return buf;
}

} // namespace kofu::certificate
