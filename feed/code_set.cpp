#include "feed/code_set.hpp"

#include <cassert>

namespace kofu::feed {

namespace {

constexpr unsigned code_bits = 37;
constexpr uint64_t code_mask = (uint64_t{1} << code_bits) - 1;
constexpr unsigned initial_bits = 12; // 4096 slots, 32 KiB, before the first growth

size_t slot_of(uint64_t key, unsigned bits) {
  // Fibonacci hashing: resident codes are dense in places, the multiply spreads them.
  return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

} // namespace

code_set::code_set() : slots_(size_t{1} << initial_bits, 0), bits_(initial_bits) {
  // nop
}

uint64_t code_set::insert(uint64_t code, uint64_t line) {
  assert(code < 100'000'000'000ull);
  assert(line <= line_max);
  if (2 * (size_ + 1) > slots_.size())
    grow();
  const uint64_t key = code + 1;
  const size_t mask = slots_.size() - 1;
  // Load stays at most 1/2, so the probe ends within a few slots; the bound is the table size.
  for (size_t i = slot_of(key, bits_), probes = 0; probes < slots_.size(); i = (i + 1) & mask, ++probes) {
    const uint64_t slot = slots_[i];
    if (slot == 0) {
      slots_[i] = (line << code_bits) | key;
      ++size_;
      return 0;
    }
    if ((slot & code_mask) == key)
      return slot >> code_bits;
  }
  assert(false && "code_set: table full despite growth");
  return 0;
}

void code_set::grow() {
  std::vector<uint64_t> old(size_t{1} << (bits_ + 1), 0);
  old.swap(slots_);
  ++bits_;
  const size_t mask = slots_.size() - 1;
  for (uint64_t slot : old) {
    if (slot == 0)
      continue;
    size_t i = slot_of(slot & code_mask, bits_);
    while (slots_[i] != 0)
      i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

} // namespace kofu::feed
