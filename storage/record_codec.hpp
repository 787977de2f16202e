#pragma once

// The byte encoding of the domain records inside a sealed value: compact, versioned, and checked on
// the way out (a record that does not decode whole is corruption, never a partial record).

#include <optional>
#include <string>
#include <string_view>

#include "messages/records.hpp"

namespace kofu::storage {

std::string encode(const resident_record& r);
std::string encode(const tax_record& r);
/// The same bytes, appended to `out` (which must not reallocate if it held personal data before:
/// reserve it, or wipe what a reallocation leaves).
void encode_append(std::string& out, const resident_record& r);
void encode_append(std::string& out, const tax_record& r);
/// How many bytes encode() makes of the record.
size_t encoded_size(const resident_record& r);
size_t encoded_size(const tax_record& r);

std::optional<resident_record> decode_resident(std::string_view bytes);
std::optional<tax_record> decode_tax(std::string_view bytes);

} // namespace kofu::storage
