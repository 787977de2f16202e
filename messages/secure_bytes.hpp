#pragma once

// Bytes that hold a secret or personal data (keys, plaintext records, certificate PDFs): wiped with
// explicit_bzero when destroyed, cleared or reallocated, so that nothing of a person lingers in
// freed memory after a session ends.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kofu {

/// Bytes that hold a secret or personal data: wiped when destroyed or cleared.
class secure_bytes {
public:
  secure_bytes() = default;
  explicit secure_bytes(size_t n) : data_(n) {
    // nop
  }
  secure_bytes(const uint8_t* p, size_t n) : data_(p, p + n) {
    // nop
  }
  /// Takes over a buffer (no copy is left behind).
  explicit secure_bytes(std::vector<uint8_t>&& v) noexcept : data_(std::move(v)) {
    // nop
  }
  secure_bytes(const secure_bytes&) = default;
  secure_bytes& operator=(const secure_bytes& other);
  secure_bytes(secure_bytes&& other) noexcept : data_(std::move(other.data_)) {
    other.data_.clear();
  }
  secure_bytes& operator=(secure_bytes&& other) noexcept;
  ~secure_bytes();

  /// Wipes and empties.
  void clear();

  uint8_t* data() { return data_.data(); }
  const uint8_t* data() const { return data_.data(); }
  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  void resize(size_t n);
  std::string_view view() const {
    return {reinterpret_cast<const char*>(data_.data()), data_.size()};
  }
  std::vector<uint8_t>& raw() { return data_; }

  friend bool operator==(const secure_bytes& a, const secure_bytes& b) { return a.data_ == b.data_; }

private:
  std::vector<uint8_t> data_;
};

/// Wipes a buffer that held personal data.
void wipe(void* p, size_t n);
void wipe(std::string& s);
/// Wipes a vector of plain values (bytes, glyph runs, code points) over its whole capacity, then
/// empties it.
template <class T>
  requires std::is_trivially_copyable_v<T>
void wipe(std::vector<T>& v) {
  wipe(v.data(), v.capacity() * sizeof(T));
  v.clear();
}

} // namespace kofu

namespace kofu::storage {
using kofu::secure_bytes;
using kofu::wipe;
} // namespace kofu::storage
