#pragma once

// Every key encoding of kofu's column families, in one place (round-trip tests in
// tests/storage/keys_test.cpp). Integers are big-endian so that keys sort by value; resident codes
// appear only as keyed hashes (HMAC-SHA-256), never in plaintext.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/crypto.hpp"

namespace kofu::storage {

/// The column families; one per kind of data (data-lifecycle.md).
enum class column : uint8_t { residents, tax, sessions, ledger, audit, feeds, meta, holds };
inline constexpr size_t column_count = 8;
std::string_view column_name(column c);

namespace keys {

void append_u32(std::string& out, uint32_t x);
void append_u64(std::string& out, uint64_t x);
uint32_t read_u32(std::string_view in, size_t pos);
uint64_t read_u64(std::string_view in, size_t pos);

/// residents: [generation u32][hmac(code) 32]
std::string resident(uint32_t generation, const digest256& code_mac);
std::string resident_prefix(uint32_t generation);

/// tax: [fiscal_year u32][generation u32][hmac(code) 32]
std::string tax(int32_t fiscal_year, uint32_t generation, const digest256& code_mac);
std::string tax_prefix(int32_t fiscal_year, uint32_t generation);
std::string tax_year_prefix(int32_t fiscal_year);

/// holds: [hmac(code) 32]
std::string hold(const digest256& code_mac);

/// sessions, audit, feeds: [id u64]
std::string id(uint64_t x);
std::optional<uint64_t> parse_id(std::string_view key);

/// ledger rows: 'd' [yyyymmdd u32] [certificate number]; request index: 'q' [request_id]
std::string ledger_row(uint32_t yyyymmdd, std::string_view certificate_number);
std::string ledger_day_prefix(uint32_t yyyymmdd);
std::string ledger_request(std::string_view request_id);

/// meta keys (text)
std::string generation_residents();
std::string generation_tax(int32_t fiscal_year);
std::string data_key_residents(uint32_t generation);
std::string data_key_tax(int32_t fiscal_year, uint32_t generation);
std::string sequence_residents();
std::string sequence_tax(int32_t fiscal_year);
std::string certificate_day(uint32_t yyyymmdd);
/// The departure index: `departed/<status_date yyyymmdd>/<hmac(code) hex>` (meta).
std::string departure(uint32_t status_yyyymmdd, const digest256& code_mac);
std::string departure_prefix();
/// Residents who left, whose tax records and holds are still to be removed after their feed's
/// commit: `gone/<feed sequence, 20 digits>/<part, 6 digits>` (meta), the value their keyed
/// hashes back to back (feed_stage::departed).
std::string gone_part(uint64_t feed_sequence, uint32_t part);
std::string gone_prefix();
/// A resident who left and was deleted: `left/<hmac(code) hex>` (meta), the value the day it was
/// written (yyyymmdd, 4 bytes). Tax feeds skip their records; rollovers forget the old entries.
std::string left(const digest256& code_mac);
std::string left_prefix();
/// A named key wrapped by the master key (`key/<name>`).
std::string named_key(std::string_view name);

/// The exclusive upper bound of all keys starting with `prefix` (prefix + 1 at the last byte that
/// can be incremented); empty when there is none.
std::string prefix_end(std::string prefix);

} // namespace keys
} // namespace kofu::storage
