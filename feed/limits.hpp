#pragma once

// Every bound of the feed module in one place: a feed comes from outside, so nothing it holds may
// make the server buffer, loop or allocate without limit.

#include <cstddef>
#include <cstdint>

namespace kofu::feed {

/// The longest line accepted, line break excluded. The longest valid tax line is about 700 bytes
/// and a residents line holds at most 256 characters of text: 64 KiB leaves room and still bounds
/// the line buffer.
inline constexpr size_t line_bytes_max = 64 * 1024;

/// A line converted from CP932 grows at most threefold (a one-byte half-width katakana becomes
/// three bytes of UTF-8).
inline constexpr size_t converted_line_bytes_max = 3 * line_bytes_max;

/// The most fields a line may split into. The widest kind (tax, delta) has 44 columns.
inline constexpr size_t fields_max = 64;

/// The most `key=value` items of the header line (8 are defined).
inline constexpr size_t header_items_max = 16;

/// The errors a parser keeps by default (admin-api.md: the first 100 errors).
inline constexpr size_t feed_errors_max = 100;

/// The most record lines a feed may hold: twice the largest city's 1,000,000 (feeds.md, Scale).
/// It bounds the set of resident codes kept to check their uniqueness (16-32 MiB at this size).
inline constexpr uint64_t feed_records_max = 2'000'000;

/// Length bounds of the text columns, in code points (variation selectors not counted).
inline constexpr size_t name_chars_max = 64;
inline constexpr size_t name_kana_chars_max = 64;
inline constexpr size_t address_chars_max = 128;

/// The longest value the parser ever quotes back in an error message (column and header key names
/// only: never personal data).
inline constexpr size_t quoted_name_bytes_max = 40;

} // namespace kofu::feed
