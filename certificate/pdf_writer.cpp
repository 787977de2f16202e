#include "certificate/pdf_writer.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "certificate/unicode.hpp"

namespace kofu::certificate {

pdf_writer::pdf_writer(std::string& out) : out_(out) {
  out_.clear();
  offsets_.reserve(pdf_objects_max);
}

void pdf_writer::header() {
  // The binary comment line tells transfer tools that the file is binary (ISO 32000-1, 7.5.2).
  raw("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
}

void pdf_writer::begin_object(uint32_t number) {
  offsets_.emplace_back(number, out_.size());
  integer(number);
  raw(" 0 obj\n");
}

void pdf_writer::stream_object(uint32_t number, std::string_view dict_entries,
                               std::string_view data) {
  begin_object(number);
  raw("<<");
  raw(dict_entries);
  raw("/Length ");
  integer(static_cast<int64_t>(data.size()));
  raw(">>stream\n");
  raw(data);
  raw("\nendstream");
  end_object();
}

void pdf_writer::splice(std::string_view bytes,
                        const std::vector<std::pair<uint32_t, size_t>>& offsets) {
  size_t base = out_.size();
  for (const auto& [number, offset] : offsets)
    offsets_.emplace_back(number, base + offset);
  raw(bytes);
}

void pdf_writer::integer(int64_t v) {
  std::array<char, 24> buf;
  auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out_.append(buf.data(), res.ptr);
}

void pdf_writer::hundredths(int64_t v) {
  if (v < 0) {
    out_ += '-';
    v = -v;
  }
  integer(v / 100);
  int64_t frac = v % 100;
  if (frac == 0)
    return;
  out_ += '.';
  out_ += static_cast<char>('0' + frac / 10);
  if (frac % 10 != 0)
    out_ += static_cast<char>('0' + frac % 10);
}

void pdf_writer::reference(uint32_t number) {
  integer(number);
  raw(" 0 R");
}

void pdf_writer::finish(uint32_t objects, uint32_t root, uint32_t info, std::string_view id_hex) {
  if (objects > pdf_objects_max)
    throw std::logic_error("pdf_writer: too many objects");
  std::array<size_t, pdf_objects_max> by_number{};
  for (const auto& [number, offset] : offsets_) {
    if (number == 0 || number >= objects)
      throw std::logic_error("pdf_writer: object number out of range");
    by_number[number] = offset;
  }
  size_t xref_offset = out_.size();
  raw("xref\n0 ");
  integer(objects);
  raw("\n0000000000 65535 f\r\n");
  for (uint32_t n = 1; n < objects; ++n) {
    if (by_number[n] == 0)
      throw std::logic_error("pdf_writer: object without offset");
    std::array<char, 10> digits;
    digits.fill('0');
    std::string_view text;
    std::array<char, 24> buf;
    auto res = std::to_chars(buf.data(), buf.data() + buf.size(), by_number[n]);
    text = std::string_view(buf.data(), static_cast<size_t>(res.ptr - buf.data()));
    std::copy(text.begin(), text.end(), digits.end() - text.size());
    out_.append(digits.data(), digits.size());
    raw(" 00000 n\r\n");
  }
  raw("trailer\n<</Size ");
  integer(objects);
  raw("/Root ");
  reference(root);
  raw("/Info ");
  reference(info);
  raw("/ID[<");
  raw(id_hex);
  raw("><");
  raw(id_hex);
  raw(">]>>\nstartxref\n");
  integer(static_cast<int64_t>(xref_offset));
  raw("\n%%EOF\n");
}

std::string pdf_text_string(std::string_view utf8) {
  std::string utf16 = "\xFE\xFF";
  for (char32_t cp : decode_utf8(utf8))
    append_utf16be(utf16, cp);
  return "<" + to_hex(utf16) + ">";
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

} // namespace kofu::certificate
