#include "net/http_types.hpp"

#include <cstring>

namespace kofu::net {

namespace {

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

std::optional<std::string_view> find_header(const header_list& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.name, name))
      return std::string_view{h.value};
  return std::nullopt;
}

std::string json_quote(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

http_response problem_response(unsigned status, std::string_view code, std::string_view title,
                               std::string_view extra_json_members) {
  http_response res;
  res.status = status;
  res.headers.push_back({"Content-Type", "application/problem+json"});
  res.headers.push_back({"Cache-Control", "no-store"});
  std::string& b = res.body;
  b = R"({"type":"about:blank","title":)";
  b += json_quote(title);
  b += R"(,"status":)";
  b += std::to_string(status);
  b += R"(,"code":)";
  b += json_quote(code);
  if (!extra_json_members.empty()) {
    b += ',';
    b += extra_json_members;
  }
  b += '}';
  return res;
}

void wipe(std::string& s) noexcept {
  // resize() within the capacity never reallocates, so the cleanse reaches every byte the string
  // ever held (SSO included).
  s.resize(s.capacity());
  if (!s.empty())
    explicit_bzero(s.data(), s.size()); // as kofu::wipe: a memset the compiler keeps
  s.clear();
}

} // namespace kofu::net
