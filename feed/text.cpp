#include "feed/text.hpp"

#include <iconv.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kofu::feed {

size_t find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Most of a feed is ASCII (codes, dates, amounts): check eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ull) != 0)
        break;
      i += 8;
    }
    if (i >= n)
      break;
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    auto cont = [&](size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(1))
        return i;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (!cont(1) || !cont(2))
        return i;
      const unsigned char c1 = s[i + 1];
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) // overlong; surrogate
        return i;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (!cont(1) || !cont(2) || !cont(3))
        return i;
      const unsigned char c1 = s[i + 1];
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) // overlong; above U+10FFFF
        return i;
      i += 4;
    } else {
      return i;
    }
  }
  return std::string_view::npos;
}

char32_t next_code_point(std::string_view text, size_t& pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char c = s[pos];
  if (c < 0x80) {
    pos += 1;
    return c;
  }
  if (c < 0xE0) {
    char32_t r = ((c & 0x1Fu) << 6) | (s[pos + 1] & 0x3Fu);
    pos += 2;
    return r;
  }
  if (c < 0xF0) {
    char32_t r = ((c & 0x0Fu) << 12) | ((s[pos + 1] & 0x3Fu) << 6) | (s[pos + 2] & 0x3Fu);
    pos += 3;
    return r;
  }
  char32_t r = ((c & 0x07u) << 18) | ((s[pos + 1] & 0x3Fu) << 12) | ((s[pos + 2] & 0x3Fu) << 6)
               | (s[pos + 3] & 0x3Fu);
  pos += 4;
  return r;
}

iconv_converter::iconv_converter(const char* to, const char* from) {
  iconv_t cd = iconv_open(to, from);
  if (cd == reinterpret_cast<iconv_t>(-1))
    throw std::runtime_error(std::string("iconv cannot convert from ") + from + " to " + to);
  cd_ = cd;
}

iconv_converter::~iconv_converter() {
  iconv_close(static_cast<iconv_t>(cd_));
}

size_t iconv_converter::convert(std::string_view in, std::string& out, size_t out_bytes_max) {
  auto cd = static_cast<iconv_t>(cd_);
  iconv(cd, nullptr, nullptr, nullptr, nullptr); // each line starts from the initial state
  // CP932 to UTF-8 grows at most threefold; start there (bounded) and grow only if needed.
  size_t room = in.size() * 3 + 16;
  if (room > out_bytes_max)
    room = out_bytes_max;
  if (out.size() < room)
    out.resize(room);
  char* src = const_cast<char*>(in.data()); // iconv's signature; it does not write the input
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  while (src_left > 0) {
    if (iconv(cd, &src, &src_left, &dst, &dst_left) != static_cast<size_t>(-1))
      break;
    const size_t at = in.size() - src_left;
    if (errno != E2BIG)
      return at; // EILSEQ (does not convert) or EINVAL (cut short at the end)
    const size_t used = out.size() - dst_left;
    if (out.size() >= out_bytes_max)
      return at;
    out.resize(out.size() * 2 < out_bytes_max ? out.size() * 2 : out_bytes_max);
    dst = out.data() + used;
    dst_left = out.size() - used;
  }
  out.resize(out.size() - dst_left);
  return std::string_view::npos;
}

} // namespace kofu::feed
