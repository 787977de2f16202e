#pragma once

// A small JSON writer for the records the audit logger stores on every issuance (audit entry,
// ledger row, request record, chain state). It writes exactly the bytes nlohmann::json::dump()
// wrote for the same object: members in sorted key order (the caller writes them so), no spaces,
// strings escaped as dump() escapes them, integers in decimal. So the stored form and the audit
// chain's canonical form are what they were, at a fraction of the cost (no tree, no map, one
// buffer). Parsing stays with nlohmann (read paths only). tests/storage/json_text_test.cpp holds
// this writer to dump() byte for byte.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace kofu::storage::json_text {

/// Appends `s` as a JSON string, escaped as nlohmann's dump() does (ensure_ascii off): `"` and `\`
/// and control characters escaped (\b \t \n \f \r, else \u00xx), everything else as is. Text with
/// bytes >= 0x80 goes through nlohmann itself, so UTF-8 is checked (and invalid UTF-8 throws)
/// exactly as before.
inline void string(std::string& out, std::string_view s) {
  // The stored values are ids, codes, hex and RFC 3339 times: plain printable ASCII, copied whole.
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  for (unsigned char c : s) {
    if (c >= 0x80) {
      out += nlohmann::json(std::string(s)).dump();
      return;
    }
  }
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\t': out += "\\t"; break;
    case '\n': out += "\\n"; break;
    case '\f': out += "\\f"; break;
    case '\r': out += "\\r"; break;
    default:
      if (c < 0x20) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xf];
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  out += '"';
}

template <typename Int>
  requires std::is_integral_v<Int>
inline void number(std::string& out, Int v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

/// `"name":` preceded by a comma unless it is the object's first member. `name` is a literal key
/// of ours (no escaping needed).
inline void key(std::string& out, std::string_view name, bool first = false) {
  if (!first)
    out += ',';
  out += '"';
  out += name;
  out += "\":";
}

inline void member(std::string& out, std::string_view name, std::string_view value,
                   bool first = false) {
  key(out, name, first);
  string(out, value);
}

template <typename Int>
  requires std::is_integral_v<Int>
inline void member(std::string& out, std::string_view name, Int value, bool first = false) {
  key(out, name, first);
  number(out, value);
}

/// A member that is left out when empty (fields that do not apply).
inline void optional_member(std::string& out, std::string_view name, std::string_view value) {
  if (!value.empty())
    member(out, name, value);
}

} // namespace kofu::storage::json_text
