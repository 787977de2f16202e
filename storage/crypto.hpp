#pragma once

// The cryptographic primitives kofu uses, all through OpenSSL 3: AES-256-GCM for every personal value
// at rest, HMAC-SHA-256 for resident codes in keys and for the audit chain, SHA-256 for digests.
// Keys and plaintexts live in types that wipe themselves (OPENSSL_cleanse) when they go away.

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/secure_bytes.hpp"

namespace kofu::storage {

inline constexpr size_t key_bytes = 32;
inline constexpr size_t gcm_nonce_bytes = 12;
inline constexpr size_t gcm_tag_bytes = 16;
/// What AES-GCM sealing adds to a plaintext: nonce and tag.
inline constexpr size_t seal_overhead_bytes = gcm_nonce_bytes + gcm_tag_bytes;

/// A 256-bit key; wiped on destruction.
class key256 {
public:
  key256() = default;
  explicit key256(const uint8_t* p);
  key256(const key256& other) = default;
  key256& operator=(const key256& other) = default;
  ~key256();

  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }
  static constexpr size_t size() { return key_bytes; }

  /// A fresh random key.
  static key256 random();

private:
  std::array<uint8_t, key_bytes> bytes_{};
};

using digest256 = std::array<uint8_t, 32>;

/// Random bytes from OpenSSL's DRBG; throws when it fails.
void random_fill(uint8_t* p, size_t n);

/// AES-256-GCM: returns nonce || ciphertext || tag. `aad` binds the ciphertext to its context (the
/// storage key), so that a value moved to another key no longer opens.
std::string seal(const key256& key, std::string_view aad, std::string_view plaintext);

/// Opens what seal() made; nullopt when the key, the context or the bytes do not match.
std::optional<secure_bytes> open(const key256& key, std::string_view aad, std::string_view sealed);

digest256 hmac_sha256(const key256& key, std::string_view data);
digest256 sha256(std::string_view data);

/// HMAC-SHA-256 under one key, for many messages: the key's inner and outer pad states are hashed
/// once, and each mac() starts from copies of them (no key setup, no algorithm fetch per call).
/// Equal to hmac_sha256(key, data). mac() is const and thread-safe (each thread has its own
/// scratch context); the states are wiped when the object goes away.
class hmac_key {
public:
  explicit hmac_key(const key256& key);
  ~hmac_key();
  hmac_key(const hmac_key&) = delete;
  hmac_key& operator=(const hmac_key&) = delete;

  digest256 mac(std::string_view data) const;
  /// The MAC of the concatenation of `parts`, without concatenating them.
  digest256 mac(std::initializer_list<std::string_view> parts) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// AES-256-GCM sealing of many values under one key, for bulk loads: the key schedule is set up
/// once and nonces are a 64-bit random prefix, drawn once per sealer, followed by a 32-bit
/// big-endian counter (NIST SP 800-38D, 8.2.1 deterministic construction, with the random prefix
/// standing for the device field). A sealer never repeats a nonce; two sealers under the same key
/// (a delta feed reuses its generation's key) repeat one only if their random prefixes collide.
/// After 2^32 values a fresh prefix is drawn. The output is exactly seal()'s format (nonce ||
/// ciphertext || tag), so open() reads it. Not thread-safe: one sealer per thread.
class sealer {
public:
  explicit sealer(const key256& key);
  ~sealer();
  sealer(const sealer&) = delete;
  sealer& operator=(const sealer&) = delete;

  std::string seal(std::string_view aad, std::string_view plaintext);
  /// Appends nonce || ciphertext || tag (plaintext.size() + seal_overhead_bytes) to `out`.
  void seal_append(std::string& out, std::string_view aad, std::string_view plaintext);
  /// Writes nonce || ciphertext || tag to `out`, which has room for plaintext.size() +
  /// seal_overhead_bytes (and does not overlap the inputs).
  void seal_to(uint8_t* out, std::string_view aad, std::string_view plaintext);

private:
  void next_nonce(uint8_t* nonce);

  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A key derived from `parent` for one purpose (HMAC-SHA-256 of the label): the resident-code
/// hashing key, the audit chain key and the key-wrapping key all come from the master key this way.
key256 derive_key(const key256& parent, std::string_view label);

std::string to_hex(const uint8_t* p, size_t n);
inline std::string to_hex(const digest256& d) {
  return to_hex(d.data(), d.size());
}
/// Lowercase or uppercase hex to bytes; nullopt on a bad digit or odd length.
std::optional<std::vector<uint8_t>> from_hex(std::string_view hex);
std::string to_base64(const uint8_t* p, size_t n);

} // namespace kofu::storage
