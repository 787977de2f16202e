#include "messages/secure_bytes.hpp"

#include <cstring>

namespace kofu {

secure_bytes& secure_bytes::operator=(const secure_bytes& other) {
  if (this != &other) {
    clear();
    data_ = other.data_;
  }
  return *this;
}

secure_bytes& secure_bytes::operator=(secure_bytes&& other) noexcept {
  if (this != &other) {
    clear();
    data_ = std::move(other.data_);
    other.data_.clear();
  }
  return *this;
}

secure_bytes::~secure_bytes() {
  clear();
}

void secure_bytes::clear() {
  wipe(data_.data(), data_.capacity());
  data_.clear();
}

void secure_bytes::resize(size_t n) {
  if (n > data_.capacity()) {
    // Growing would leave a copy of the old contents behind in freed memory: move by hand.
    std::vector<uint8_t> bigger;
    bigger.reserve(n);
    bigger.assign(data_.begin(), data_.end());
    clear();
    data_ = std::move(bigger);
  }
  data_.resize(n);
}

void wipe(void* p, size_t n) {
  // glibc's explicit_bzero is memset (vectorised) that the compiler may not drop; OPENSSL_cleanse
  // stores 8 bytes at a time, and the wipes of each certificate's 60 KB were ~3% of the node's CPU
  // under load (docs/BENCH.md).
  if (p != nullptr && n > 0)
    explicit_bzero(p, n);
}

void wipe(std::string& s) {
  wipe(s.data(), s.capacity());
  s.clear();
}

} // namespace kofu
