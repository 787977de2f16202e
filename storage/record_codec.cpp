#include "storage/record_codec.hpp"

#include <cassert>
#include <cstring>

namespace kofu::storage {

namespace {

constexpr uint8_t resident_format_version = 1;
constexpr uint8_t tax_format_version = 1;

/// Writes into a buffer sized beforehand (encoded_size): no growth, so no reallocation leaves a
/// copy of the plaintext behind in freed memory.
class writer {
public:
  explicit writer(char* p) : p_(p) {
    // nop
  }
  void u8(uint8_t x) { *p_++ = static_cast<char>(x); }
  void u32(uint32_t x) {
    for (int i = 3; i >= 0; --i)
      *p_++ = static_cast<char>(x >> (8 * i));
  }
  void i64(int64_t x) {
    auto u = static_cast<uint64_t>(x);
    for (int i = 7; i >= 0; --i)
      *p_++ = static_cast<char>(u >> (8 * i));
  }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void date(const civil_date& d) {
    u32(static_cast<uint32_t>(d.year));
    u8(d.month);
    u8(d.day);
  }
  const char* pos() const { return p_; }

private:
  char* p_;
};

constexpr size_t str_bytes(std::string_view s) {
  return 4 + s.size();
}
constexpr size_t date_bytes = 6;

/// Grows `out` by n bytes and returns where they start.
char* extend(std::string& out, size_t n) {
  auto at = out.size();
  out.resize(at + n);
  return out.data() + at;
}

class reader {
public:
  explicit reader(std::string_view in) : in_(in) {
    // nop
  }
  bool u8(uint8_t& x) {
    if (pos_ + 1 > in_.size())
      return false;
    x = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool u32(uint32_t& x) {
    x = 0;
    for (int i = 0; i < 4; ++i) {
      uint8_t b;
      if (!u8(b))
        return false;
      x = x << 8 | b;
    }
    return true;
  }
  bool i64(int64_t& x) {
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) {
      uint8_t b;
      if (!u8(b))
        return false;
      u = u << 8 | b;
    }
    x = static_cast<int64_t>(u);
    return true;
  }
  bool str(std::string& s) {
    uint32_t n;
    if (!u32(n) || pos_ + n > in_.size())
      return false;
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool date(civil_date& d) {
    uint32_t y;
    if (!u32(y) || !u8(d.month) || !u8(d.day))
      return false;
    d.year = static_cast<int32_t>(y);
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

private:
  std::string_view in_;
  size_t pos_ = 0;
};

} // namespace

size_t encoded_size(const resident_record& r) {
  return 1 + str_bytes(r.resident_code) + str_bytes(r.name) + str_bytes(r.name_kana) + date_bytes
         + str_bytes(r.address) + 1 + 1 + date_bytes + 1;
}

size_t encoded_size(const tax_record& r) {
  return 1 + str_bytes(r.resident_code) + 4 + str_bytes(r.address_jan1) + 1
         + 8 * r.amounts_yen.size() + 1 + r.counts.size();
}

void encode_append(std::string& out, const resident_record& r) {
  const auto n = encoded_size(r);
  char* start = extend(out, n);
  writer w(start);
  w.u8(resident_format_version);
  w.str(r.resident_code);
  w.str(r.name);
  w.str(r.name_kana);
  w.date(r.birth_date);
  w.str(r.address);
  w.u8(static_cast<uint8_t>(r.status));
  w.u8(r.status_date ? 1 : 0);
  w.date(r.status_date.value_or(civil_date{}));
  w.u8(static_cast<uint8_t>(r.hold));
  assert(w.pos() == start + n);
}

void encode_append(std::string& out, const tax_record& r) {
  const auto n = encoded_size(r);
  char* start = extend(out, n);
  writer w(start);
  w.u8(tax_format_version);
  w.str(r.resident_code);
  w.u32(static_cast<uint32_t>(r.fiscal_year));
  w.str(r.address_jan1);
  w.u8(static_cast<uint8_t>(r.declaration));
  for (auto x : r.amounts_yen)
    w.i64(x);
  w.u8(r.spouse_flag ? 1 : 0);
  for (auto x : r.counts)
    w.u8(x);
  assert(w.pos() == start + n);
}

std::string encode(const resident_record& r) {
  std::string out;
  out.reserve(encoded_size(r));
  encode_append(out, r);
  return out;
}

std::string encode(const tax_record& r) {
  std::string out;
  out.reserve(encoded_size(r));
  encode_append(out, r);
  return out;
}

std::optional<resident_record> decode_resident(std::string_view bytes) {
  reader rd(bytes);
  resident_record r;
  uint8_t version = 0, status = 0, has_date = 0, hold = 0;
  civil_date status_date;
  bool ok = rd.u8(version) && version == resident_format_version && rd.str(r.resident_code)
            && rd.str(r.name) && rd.str(r.name_kana) && rd.date(r.birth_date)
            && rd.str(r.address) && rd.u8(status) && status <= 2 && rd.u8(has_date)
            && rd.date(status_date) && rd.u8(hold) && hold <= 2 && rd.done();
  if (!ok)
    return std::nullopt;
  r.status = static_cast<resident_status>(status);
  if (has_date != 0)
    r.status_date = status_date;
  r.hold = static_cast<issuance_hold>(hold);
  return r;
}

std::optional<tax_record> decode_tax(std::string_view bytes) {
  reader rd(bytes);
  tax_record r;
  uint8_t version = 0, declaration = 0, spouse = 0;
  uint32_t year = 0;
  bool ok = rd.u8(version) && version == tax_format_version && rd.str(r.resident_code)
            && rd.u32(year) && rd.str(r.address_jan1) && rd.u8(declaration) && declaration <= 2;
  for (auto& x : r.amounts_yen)
    ok = ok && rd.i64(x);
  ok = ok && rd.u8(spouse);
  for (auto& x : r.counts)
    ok = ok && rd.u8(x);
  if (!ok || !rd.done())
    return std::nullopt;
  r.fiscal_year = static_cast<int32_t>(year);
  r.declaration = static_cast<declaration_kind>(declaration);
  r.spouse_flag = spouse != 0;
  return r;
}

} // namespace kofu::storage
