#pragma once

// TLS policy of kofu, in one place: which versions and suites, and the start-up checks of the
// certificate files. OpenSSL only (no Asio): the server, the client and config validation share it.

#include <string>
#include <string_view>
#include <vector>

using SSL_CTX = struct ssl_ctx_st;
using X509 = struct x509_st;

namespace kofu::net {

/// The TLS 1.2 suites kofu accepts: ECDHE key exchange (forward secrecy) with an AEAD only.
/// TLS 1.3 suites are all AEAD; OpenSSL's default three are kept.
inline constexpr std::string_view tls12_cipher_list =
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr std::string_view tls13_ciphersuites =
  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// The certificate files of a TLS server.
struct tls_server_files {
  std::string cert_file; // PEM, the server certificate first, then its chain
  std::string key_file;  // PEM private key of the first certificate
  /// PEM CA certificates client certificates must chain to; empty: no client certificate asked.
  std::string client_ca_file;
  /// Refuse the handshake without a valid client certificate (needs client_ca_file).
  bool require_client_cert = false;
  /// When not empty, only client certificates whose SHA-256 (DER) is listed are served; checked
  /// right after the handshake. Hex, any case, colons allowed (needs client_ca_file).
  std::vector<std::string> client_fingerprints_sha256;
};

/// Applies kofu's policy to a server context and loads the files: TLS 1.2–1.3, AEAD ECDHE suites,
/// server preference, no compression, no renegotiation, client verification as configured.
/// Throws std::runtime_error naming the file on any problem: missing, unreadable, not PEM, key not
/// matching the certificate, server certificate expired or not yet valid, CA file without a CA.
void configure_server_tls(SSL_CTX* ctx, const tls_server_files& files);

/// `64 hex digits` lowercase, colons and spaces dropped; empty when the text is not a SHA-256.
std::string normalize_fingerprint(std::string_view text);

/// SHA-256 of the certificate's DER encoding, lowercase hex.
std::string fingerprint_sha256(X509* cert);

/// The subject CN of the certificate; empty when it has none.
std::string subject_common_name(X509* cert);

/// The SHA-256 fingerprint of the first certificate in a PEM file (for config and tests).
/// Throws std::runtime_error naming the file.
std::string fingerprint_sha256_of_file(const std::string& pem_file);

} // namespace kofu::net
