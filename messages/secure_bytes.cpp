#include "messages/secure_bytes.hpp"

#include <openssl/crypto.h>

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
  if (p != nullptr && n > 0)
    OPENSSL_cleanse(p, n);
}

void wipe(std::string& s) {
  wipe(s.data(), s.capacity());
  s.clear();
}

void wipe(std::vector<uint8_t>& v) {
  wipe(v.data(), v.capacity());
  v.clear();
}

} // namespace kofu
