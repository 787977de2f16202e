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

namespace {

/// AES-256-GCM into `out` = nonce || ciphertext || tag, the nonce already in place. `cipher` and
/// `key` are null when `ctx` holds its key schedule already (a sealer).
void gcm_seal_into(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, const uint8_t* key, uint8_t* out,
                   std::string_view aad, std::string_view plaintext) {
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx, cipher, nullptr, key, out) == 1
            && EVP_EncryptUpdate(ctx, nullptr, &len,
                                 reinterpret_cast<const uint8_t*>(aad.data()), as_int(aad.size()))
                 == 1
            && EVP_EncryptUpdate(ctx, out + gcm_nonce_bytes, &len,
                                 reinterpret_cast<const uint8_t*>(plaintext.data()),
                                 as_int(plaintext.size()))
                 == 1
            && EVP_EncryptFinal_ex(ctx, out + gcm_nonce_bytes + len, &len) == 1
            && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, gcm_tag_bytes,
                                   out + gcm_nonce_bytes + plaintext.size())
                 == 1;
  if (!ok)
    throw std::runtime_error("crypto: AES-256-GCM encryption failed");
}

} // namespace

std::string seal(const key256& key, std::string_view aad, std::string_view plaintext) {
  std::string out(gcm_nonce_bytes + plaintext.size() + gcm_tag_bytes, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  random_fill(p, gcm_nonce_bytes);
  gcm_seal_into(thread_cipher_ctx(), EVP_aes_256_gcm(), key.data(), p, aad, plaintext);
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

// -- hmac_key ------------------------------------------------------------------------------------

namespace {

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } // frees (and wipes) the state
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

constexpr size_t sha256_block_bytes = 64;

/// One scratch digest context per thread for hmac_key::mac().
EVP_MD_CTX* thread_md_ctx() {
  thread_local md_ctx_ptr ctx{EVP_MD_CTX_new()};
  if (!ctx)
    throw std::runtime_error("crypto: EVP_MD_CTX_new failed");
  return ctx.get();
}

} // namespace

struct hmac_key::impl {
  md_ctx_ptr inner{EVP_MD_CTX_new()}; // SHA-256 state after (key ^ ipad)
  md_ctx_ptr outer{EVP_MD_CTX_new()}; // SHA-256 state after (key ^ opad)
};

hmac_key::hmac_key(const key256& key) : impl_(std::make_unique<impl>()) {
  // RFC 2104: a key of at most one block is zero-padded to the block size.
  std::array<uint8_t, sha256_block_bytes> ipad{}, opad{};
  for (size_t i = 0; i < sha256_block_bytes; ++i) {
    uint8_t k = i < key.size() ? key.data()[i] : 0;
    ipad[i] = static_cast<uint8_t>(k ^ 0x36);
    opad[i] = static_cast<uint8_t>(k ^ 0x5c);
  }
  bool ok = impl_->inner && impl_->outer
            && EVP_DigestInit_ex(impl_->inner.get(), EVP_sha256(), nullptr) == 1
            && EVP_DigestUpdate(impl_->inner.get(), ipad.data(), ipad.size()) == 1
            && EVP_DigestInit_ex(impl_->outer.get(), EVP_sha256(), nullptr) == 1
            && EVP_DigestUpdate(impl_->outer.get(), opad.data(), opad.size()) == 1;
  OPENSSL_cleanse(ipad.data(), ipad.size());
  OPENSSL_cleanse(opad.data(), opad.size());
  if (!ok)
    throw std::runtime_error("crypto: HMAC-SHA-256 key setup failed");
}

hmac_key::~hmac_key() = default;

digest256 hmac_key::mac(std::string_view data) const {
  return mac({data});
}

digest256 hmac_key::mac(std::initializer_list<std::string_view> parts) const {
  auto* ctx = thread_md_ctx();
  digest256 inner_hash{};
  digest256 out{};
  unsigned int len = 0;
  bool ok = EVP_MD_CTX_copy_ex(ctx, impl_->inner.get()) == 1;
  for (auto p : parts)
    ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, inner_hash.data(), &len) == 1
            && EVP_MD_CTX_copy_ex(ctx, impl_->outer.get()) == 1
            && EVP_DigestUpdate(ctx, inner_hash.data(), inner_hash.size()) == 1
            && EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
  OPENSSL_cleanse(inner_hash.data(), inner_hash.size());
  if (!ok)
    throw std::runtime_error("crypto: HMAC-SHA-256 failed");
  return out;
}

// -- sealer --------------------------------------------------------------------------------------

namespace {

constexpr size_t nonce_prefix_bytes = 8;

} // namespace

struct sealer::impl {
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  std::array<uint8_t, nonce_prefix_bytes> prefix{};
  uint64_t counter = 0; // the next value; < 2^32
};

sealer::sealer(const key256& key) : impl_(std::make_unique<impl>()) {
  if (!impl_->ctx)
    throw std::runtime_error("crypto: EVP_CIPHER_CTX_new failed");
  // The key schedule is computed once; each value only sets its nonce.
  if (EVP_EncryptInit_ex(impl_->ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1)
    throw std::runtime_error("crypto: AES-256-GCM key setup failed");
  random_fill(impl_->prefix.data(), impl_->prefix.size());
}

sealer::~sealer() = default; // EVP_CIPHER_CTX_free wipes the key schedule

void sealer::next_nonce(uint8_t* nonce) {
  if (impl_->counter > UINT32_MAX) {
    random_fill(impl_->prefix.data(), impl_->prefix.size());
    impl_->counter = 0;
  }
  std::copy(impl_->prefix.begin(), impl_->prefix.end(), nonce);
  auto c = impl_->counter++;
  for (size_t i = 0; i < gcm_nonce_bytes - nonce_prefix_bytes; ++i)
    nonce[gcm_nonce_bytes - 1 - i] = static_cast<uint8_t>(c >> (8 * i));
}

void sealer::seal_to(uint8_t* out, std::string_view aad, std::string_view plaintext) {
  next_nonce(out);
  gcm_seal_into(impl_->ctx.get(), nullptr, nullptr, out, aad, plaintext);
}

std::string sealer::seal(std::string_view aad, std::string_view plaintext) {
  std::string out(plaintext.size() + seal_overhead_bytes, '\0');
  seal_to(reinterpret_cast<uint8_t*>(out.data()), aad, plaintext);
  return out;
}

void sealer::seal_append(std::string& out, std::string_view aad, std::string_view plaintext) {
  auto at = out.size();
  out.resize(at + plaintext.size() + seal_overhead_bytes);
  seal_to(reinterpret_cast<uint8_t*>(out.data()) + at, aad, plaintext);
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
