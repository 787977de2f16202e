#pragma once

// Incremental SHA-256 over OpenSSL EVP: a feed's checksum is computed while its bytes stream by,
// so that the file never has to be held whole.

#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace kofu::feed {

class sha256 {
public:
  sha256();
  ~sha256();
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;

  /// Adds bytes to the digest.
  void update(std::string_view bytes);

  /// Finishes the digest and returns it as 64 lowercase hex digits; the object starts over after.
  std::string hex_digest();

  /// The lowercase hex SHA-256 of `bytes`, in one call.
  static std::string hex_of(std::string_view bytes);

private:
  void start();

  evp_md_ctx_st* ctx_;
};

} // namespace kofu::feed
