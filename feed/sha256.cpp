#include "feed/sha256.hpp"

#include <openssl/evp.h>

#include <cassert>
#include <stdexcept>

namespace kofu::feed {

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr)
    throw std::bad_alloc();
  start();
}

sha256::~sha256() {
  EVP_MD_CTX_free(ctx_);
}

void sha256::start() {
  // A failure here means the crypto library itself is broken: not a property of any input.
  if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
}

void sha256::update(std::string_view bytes) {
  if (bytes.empty())
    return;
  [[maybe_unused]] auto rc = EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
  assert(rc == 1);
}

std::string sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  [[maybe_unused]] auto rc = EVP_DigestFinal_ex(ctx_, md, &len);
  assert(rc == 1 && len == 32);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(2 * len, '\0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0x0f];
  }
  start();
  return out;
}

std::string sha256::hex_of(std::string_view bytes) {
  sha256 h;
  h.update(bytes);
  return h.hex_digest();
}

} // namespace kofu::feed
