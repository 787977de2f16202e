#pragma once

// The columns of each feed kind (feeds.md), in the order a feed writer emits them. The parser and
// the writer both read this one table, so that they cannot disagree about a name.

#include "feed/feed_header.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace kofu::feed {

/// How a column's value is checked.
enum class column_type : uint8_t {
  resident_code,
  op,
  name,
  name_kana,
  birth_date,
  address,      // residents: address; tax: address_jan1 (both 1-128 characters)
  status,
  status_date,
  hold,
  declaration,
  amount,       // index: a kofu::tax_amount
  spouse_flag,
  count,        // index: a kofu::tax_count
};

struct column_desc {
  std::string_view name;
  column_type type;
  uint8_t index; // amount or count index, 0 otherwise
};

/// The column of a delta feed's operation (`U` or `D`).
inline constexpr column_desc op_column{"op", column_type::op, 0};

/// The columns of a kind, without `op`, in writing order (feeds.md's tables).
std::span<const column_desc> columns_of(feed_kind kind);

/// True for a column name that looks like an individual number (マイナンバー): such a column is
/// refused outright, whatever the kind (番号法: it must not reach this system).
bool is_my_number_column(std::string_view name);

} // namespace kofu::feed
