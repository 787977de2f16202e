#pragma once

// Text helpers of the feed module: UTF-8 validation and decoding (the parser's hot path, so no
// allocation), the character classes feeds.md names, and a bounded wrapper around glibc iconv for
// CP932.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kofu::feed {

/// The offset of the first byte that is not part of a valid UTF-8 sequence (overlong forms,
/// surrogates and code points above U+10FFFF are invalid), or npos when `text` is valid.
size_t find_invalid_utf8(std::string_view text);

/// Decodes the code point at `pos` of valid UTF-8 and moves `pos` past it.
char32_t next_code_point(std::string_view text, size_t& pos);

/// An ideographic variation selector, U+E0100..U+E01EF (feeds.md: not counted in lengths).
constexpr bool is_variation_selector(char32_t c) {
  return c >= 0xE0100 && c <= 0xE01EF;
}

/// A standardized variation selector, U+FE00..U+FE0F: not counted in lengths either; it may
/// follow any character but another selector.
constexpr bool is_standard_variation_selector(char32_t c) {
  return c >= 0xFE00 && c <= 0xFE0F;
}

/// A CJK ideograph (kanji), the only character an ideographic variation selector may follow.
constexpr bool is_kanji(char32_t c) {
  return (c >= 0x3400 && c <= 0x4DBF)     // CJK Extension A
         || (c >= 0x4E00 && c <= 0x9FFF)  // CJK Unified Ideographs
         || (c >= 0xF900 && c <= 0xFAFF)  // CJK Compatibility Ideographs
         || (c >= 0x20000 && c <= 0x323AF); // Extensions B..H and compatibility supplement
}

/// A character of the katakana block or the ideographic space (feeds.md, name_kana).
constexpr bool is_kana_name_char(char32_t c) {
  return (c >= 0x30A0 && c <= 0x30FF) || c == 0x3000;
}

/// C0 and C1 control characters and DEL: never part of a name or an address.
constexpr bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/// One direction of an iconv conversion ("UTF-8" from "CP932", or back), for whole lines.
class iconv_converter {
public:
  /// Throws std::runtime_error when the C library lacks the conversion (a broken installation).
  iconv_converter(const char* to, const char* from);
  ~iconv_converter();
  iconv_converter(const iconv_converter&) = delete;
  iconv_converter& operator=(const iconv_converter&) = delete;

  /// Converts `in` into `out` (replaced). Returns npos on success, else the offset in `in` of the
  /// first byte sequence that does not convert (or is cut short at the end). `out` is grown to at
  /// most `out_bytes_max`; running out of room counts as a failure at the offset reached.
  size_t convert(std::string_view in, std::string& out, size_t out_bytes_max);

private:
  void* cd_;
};

} // namespace kofu::feed
