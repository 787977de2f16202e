#include "feed/feed_writer.hpp"

#include "feed/columns.hpp"
#include "feed/limits.hpp"

#include <stdexcept>

namespace kofu::feed {

namespace {

std::string_view eol(const feed_writer_options& o) {
  return o.crlf ? "\r\n" : "\n";
}

} // namespace

feed_writer::feed_writer(feed_header header, std::ostream& out, feed_writer_options options)
  : header_(std::move(header)), out_(out), options_(options) {
  if (header_.kind == feed_kind::tax && !header_.fiscal_year)
    throw std::invalid_argument("feed_writer: a tax feed needs a fiscal_year");
  if (header_.kind == feed_kind::residents && header_.fiscal_year)
    throw std::invalid_argument("feed_writer: a residents feed has no fiscal_year");
  if (header_.encoding == feed_encoding::cp932)
    to_cp932_ = std::make_unique<iconv_converter>("CP932", "UTF-8");
  std::string h = format_header_line(header_);
  h += eol(options_);
  out_.write(h.data(), static_cast<std::streamsize>(h.size())); // the header is not hashed
  line_ = column_line(header_.kind, header_.mode);
  write_line(line_);
}

feed_writer::~feed_writer() = default;

std::string feed_writer::column_line(feed_kind kind, feed_mode mode) {
  std::string line;
  if (mode == feed_mode::delta) {
    line += op_column.name;
    line += ',';
  }
  for (const auto& c : columns_of(kind)) {
    line += c.name;
    line += ',';
  }
  line.pop_back();
  return line;
}

void feed_writer::append_field(std::string& line, std::string_view value) {
  if (value.find_first_of("\r\n") != std::string_view::npos)
    throw std::invalid_argument("feed_writer: a field may not hold a line break");
  if (value.find_first_of(",\"") == std::string_view::npos) {
    line += value;
    return;
  }
  line += '"';
  for (char c : value) {
    line += c;
    if (c == '"')
      line += '"';
  }
  line += '"';
}

void feed_writer::begin_record(record_op op) {
  if (finished_)
    throw std::logic_error("feed_writer: add after finish");
  if (op == record_op::remove && header_.mode != feed_mode::delta)
    throw std::invalid_argument("feed_writer: a full feed has no removes");
  line_.clear();
  if (header_.mode == feed_mode::delta)
    line_ += op == record_op::remove ? "D," : "U,";
}

void feed_writer::add(const resident_record& r, record_op op) {
  if (header_.kind != feed_kind::residents)
    throw std::invalid_argument("feed_writer: a resident record in a tax feed");
  begin_record(op);
  const bool remove = op == record_op::remove;
  for (const auto& c : columns_of(feed_kind::residents)) {
    if (remove && c.type != column_type::resident_code) {
      line_ += ',';
      continue;
    }
    switch (c.type) {
      case column_type::resident_code: append_field(line_, r.resident_code); break;
      case column_type::name: append_field(line_, r.name); break;
      case column_type::name_kana: append_field(line_, r.name_kana); break;
      case column_type::birth_date: line_ += to_string(r.birth_date); break;
      case column_type::address: append_field(line_, r.address); break;
      case column_type::status: line_ += to_string(r.status); break;
      case column_type::status_date:
        if (r.status_date)
          line_ += to_string(*r.status_date);
        break;
      case column_type::hold: line_ += to_string(r.hold); break;
      default: break;
    }
    line_ += ',';
  }
  line_.pop_back();
  write_line(line_);
  ++records_;
}

void feed_writer::add(const tax_record& t, record_op op) {
  if (header_.kind != feed_kind::tax)
    throw std::invalid_argument("feed_writer: a tax record in a residents feed");
  if (op == record_op::upsert && t.fiscal_year != *header_.fiscal_year)
    throw std::invalid_argument("feed_writer: a tax record of another fiscal year");
  begin_record(op);
  const bool remove = op == record_op::remove;
  for (const auto& c : columns_of(feed_kind::tax)) {
    if (remove && c.type != column_type::resident_code) {
      line_ += ',';
      continue;
    }
    switch (c.type) {
      case column_type::resident_code: append_field(line_, t.resident_code); break;
      case column_type::address: append_field(line_, t.address_jan1); break;
      case column_type::declaration: line_ += to_string(t.declaration); break;
      case column_type::amount: line_ += std::to_string(t.amounts_yen[c.index]); break;
      case column_type::spouse_flag: line_ += t.spouse_flag ? '1' : '0'; break;
      case column_type::count: line_ += std::to_string(t.counts[c.index]); break;
      default: break;
    }
    line_ += ',';
  }
  line_.pop_back();
  write_line(line_);
  ++records_;
}

void feed_writer::write_line(std::string& line) {
  line += eol(options_);
  std::string_view bytes = line;
  if (to_cp932_) {
    const size_t bad = to_cp932_->convert(line, converted_, converted_line_bytes_max);
    if (bad != std::string_view::npos)
      throw std::invalid_argument("feed_writer: a record holds a character CP932 cannot write");
    bytes = converted_;
  }
  sha_.update(bytes);
  out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void feed_writer::finish() {
  if (finished_)
    return;
  finished_ = true;
  std::string t = "#END,records=" + std::to_string(records_) + ",sha256=" + sha_.hex_digest();
  if (options_.trailer_line_break)
    t += eol(options_);
  out_.write(t.data(), static_cast<std::streamsize>(t.size()));
  out_.flush();
}

} // namespace kofu::feed
