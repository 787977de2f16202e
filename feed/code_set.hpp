#pragma once

// The resident codes seen so far in one feed, to check that each appears once. A feed holds up to
// feed_records_max codes, so a std::unordered_set<std::string> (about 60 bytes a code) is replaced
// by an open-addressing table of 8-byte slots: 16 MiB for a million codes.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kofu::feed {

class code_set {
public:
  code_set();

  /// Adds `code` (11 digits, < 10^11), first seen on `line`. Returns 0 when the code is new, else
  /// the line it was first seen on (and keeps that one).
  uint64_t insert(uint64_t code, uint64_t line);

  size_t size() const {
    return size_;
  }

  /// Largest line number a slot can hold alongside a code (27 bits, about 134 million).
  static constexpr uint64_t line_max = (uint64_t{1} << 27) - 1;

private:
  void grow();

  /// A slot is `line << 37 | (code + 1)`; 0 is empty. 10^11 + 1 < 2^37.
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  unsigned bits_;
};

} // namespace kofu::feed
