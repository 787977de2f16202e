#include "storage/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

namespace kofu::storage {

namespace {

struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

/// Cipher contexts are costly to create; one per thread is reused.
EVP_CIPHER_CTX* thread_cipher_ctx() {
  thread_local cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  if (!ctx)
    throw std::runtime_error("crypto: EVP_CIPHER_CTX_new failed");
  return ctx.get();
}

int as_int(size_t n) {
  if (n > static_cast<size_t>(INT32_MAX))
    throw std::length_error("crypto: buffer too large");
  return static_cast<int>(n);
}

} // namespace

key256::key256(const uint8_t* p) {
  std::copy(p, p + key_bytes, bytes_.begin());
}

key256::~key256() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

key256 key256::random() {
  key256 k;
  random_fill(k.bytes_.data(), k.bytes_.size());
  return k;
}

void random_fill(uint8_t* p, size_t n) {
  if (RAND_bytes(p, as_int(n)) != 1)
    throw std::runtime_error("crypto: RAND_bytes failed");
}

std::string seal(const key256& key, std::string_view aad, std::string_view plaintext) {
  std::string out(gcm_nonce_bytes + plaintext.size() + gcm_tag_bytes, '\0');
  auto* nonce = reinterpret_cast<uint8_t*>(out.data());
  random_fill(nonce, gcm_nonce_bytes);
  auto* ctx = thread_cipher_ctx();
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1
            && EVP_EncryptUpdate(ctx, nullptr, &len,
                                 reinterpret_cast<const uint8_t*>(aad.data()), as_int(aad.size()))
                 == 1
            && EVP_EncryptUpdate(ctx, nonce + gcm_nonce_bytes, &len,
                                 reinterpret_cast<const uint8_t*>(plaintext.data()),
                                 as_int(plaintext.size()))
                 == 1
            && EVP_EncryptFinal_ex(ctx, nonce + gcm_nonce_bytes + len, &len) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, gcm_tag_bytes,
                                   nonce + gcm_nonce_bytes + plaintext.size())
                 == 1;
  if (!ok)
    throw std::runtime_error("crypto: AES-256-GCM encryption failed");
  return out;
}

std::optional<secure_bytes> open(const key256& key, std::string_view aad,
                                 std::string_view sealed) {
  if (sealed.size() < seal_overhead_bytes)
    return std::nullopt;
  auto* in = reinterpret_cast<const uint8_t*>(sealed.data());
  size_t body = sealed.size() - seal_overhead_bytes;
  secure_bytes out(body);
  auto* ctx = thread_cipher_ctx();
  int len = 0;
  uint8_t tag[gcm_tag_bytes];
  std::copy(in + gcm_nonce_bytes + body, in + sealed.size(), tag);
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), in) == 1
            && EVP_DecryptUpdate(ctx, nullptr, &len,
                                 reinterpret_cast<const uint8_t*>(aad.data()), as_int(aad.size()))
                 == 1
            && EVP_DecryptUpdate(ctx, out.data(), &len, in + gcm_nonce_bytes, as_int(body)) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, gcm_tag_bytes, tag) == 1
            && EVP_DecryptFinal_ex(ctx, out.data() + len, &len) == 1;
  if (!ok)
    return std::nullopt;
  return out;
}

digest256 hmac_sha256(const key256& key, std::string_view data) {
  digest256 out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const uint8_t*>(data.data()), data.size(), out.data(), &len)
      == nullptr)
    throw std::runtime_error("crypto: HMAC-SHA-256 failed");
  return out;
}

digest256 sha256(std::string_view data) {
  digest256 out{};
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), out.data());
  return out;
}

key256 derive_key(const key256& parent, std::string_view label) {
  auto d = hmac_sha256(parent, label);
  key256 k(d.data());
  OPENSSL_cleanse(d.data(), d.size());
  return k;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xf];
  }
  return out;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string to_base64(const uint8_t* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), p, as_int(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

} // namespace kofu::storage
