#include "storage/keys.hpp"

#include <cstdio>

namespace kofu::storage {

std::string_view column_name(column c) {
  switch (c) {
    case column::residents: return "residents";
    case column::tax: return "tax";
    case column::sessions: return "sessions";
    case column::ledger: return "ledger";
    case column::audit: return "audit";
    case column::feeds: return "feeds";
    case column::meta: return "meta";
    case column::holds: return "holds";
  }
  return "?";
}

namespace keys {

void append_u32(std::string& out, uint32_t x) {
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<char>(x >> (8 * i)));
}

void append_u64(std::string& out, uint64_t x) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>(x >> (8 * i)));
}

uint32_t read_u32(std::string_view in, size_t pos) {
  uint32_t x = 0;
  for (size_t i = 0; i < 4; ++i)
    x = x << 8 | static_cast<uint8_t>(in[pos + i]);
  return x;
}

uint64_t read_u64(std::string_view in, size_t pos) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i)
    x = x << 8 | static_cast<uint8_t>(in[pos + i]);
  return x;
}

std::string resident(uint32_t generation, const digest256& code_mac) {
  auto k = resident_prefix(generation);
  k.append(reinterpret_cast<const char*>(code_mac.data()), code_mac.size());
  return k;
}

std::string resident_prefix(uint32_t generation) {
  std::string k;
  append_u32(k, generation);
  return k;
}

std::string tax(int32_t fiscal_year, uint32_t generation, const digest256& code_mac) {
  auto k = tax_prefix(fiscal_year, generation);
  k.append(reinterpret_cast<const char*>(code_mac.data()), code_mac.size());
  return k;
}

std::string tax_prefix(int32_t fiscal_year, uint32_t generation) {
  auto k = tax_year_prefix(fiscal_year);
  append_u32(k, generation);
  return k;
}

std::string tax_year_prefix(int32_t fiscal_year) {
  std::string k;
  append_u32(k, static_cast<uint32_t>(fiscal_year));
  return k;
}

std::string hold(const digest256& code_mac) {
  return std::string(reinterpret_cast<const char*>(code_mac.data()), code_mac.size());
}

std::string id(uint64_t x) {
  std::string k;
  append_u64(k, x);
  return k;
}

std::optional<uint64_t> parse_id(std::string_view key) {
  if (key.size() != 8)
    return std::nullopt;
  return read_u64(key, 0);
}

std::string ledger_row(uint32_t yyyymmdd, std::string_view certificate_number) {
  auto k = ledger_day_prefix(yyyymmdd);
  k.append(certificate_number);
  return k;
}

std::string ledger_day_prefix(uint32_t yyyymmdd) {
  std::string k = "d";
  append_u32(k, yyyymmdd);
  return k;
}

std::string ledger_request(std::string_view request_id) {
  return "q" + std::string(request_id);
}

std::string generation_residents() {
  return "gen/residents";
}

std::string generation_tax(int32_t fiscal_year) {
  return "gen/tax/" + std::to_string(fiscal_year);
}

std::string data_key_residents(uint32_t generation) {
  return "dk/residents/" + std::to_string(generation);
}

std::string data_key_tax(int32_t fiscal_year, uint32_t generation) {
  return "dk/tax/" + std::to_string(fiscal_year) + "/" + std::to_string(generation);
}

std::string sequence_residents() {
  return "seq/residents";
}

std::string sequence_tax(int32_t fiscal_year) {
  return "seq/tax/" + std::to_string(fiscal_year);
}

std::string certificate_day(uint32_t yyyymmdd) {
  return "certno/" + std::to_string(yyyymmdd);
}

std::string departure(uint32_t status_yyyymmdd, const digest256& code_mac) {
  return departure_prefix() + std::to_string(status_yyyymmdd) + "/" + to_hex(code_mac);
}

std::string departure_prefix() {
  return "departed/";
}

std::string gone_part(uint64_t feed_sequence, uint32_t part) {
  char digits[40];
  std::snprintf(digits, sizeof digits, "%020llu/%06u",
                static_cast<unsigned long long>(feed_sequence), part);
  return gone_prefix() + digits;
}

std::string gone_prefix() {
  return "gone/";
}

std::string left(const digest256& code_mac) {
  return left_prefix() + to_hex(code_mac);
}

std::string left_prefix() {
  return "left/";
}

std::string named_key(std::string_view name) {
  return "key/" + std::string(name);
}

std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = prefix.back();
    if (static_cast<uint8_t>(last) != 0xff) {
      last = static_cast<char>(static_cast<uint8_t>(last) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

} // namespace keys
} // namespace kofu::storage
