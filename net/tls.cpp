#include "net/tls.hpp"

#include <algorithm>
#include <vector>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace kofu::net {

namespace {

struct bio_deleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct x509_deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// The oldest OpenSSL error as text, and the queue emptied (it is per thread and would leak into
/// the next unrelated check).
/// The allow-list of client certificate fingerprints an SSL_CTX carries (normalized), freed with
/// it.
int allow_list_index() {
  static const int index = SSL_CTX_get_ex_new_index(
    0, nullptr, nullptr, nullptr,
    [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
      delete static_cast<std::vector<std::string>*>(ptr);
    });
  return index;
}

/// Chain verification, then the allow-list for the client's own certificate: an unlisted one
/// fails the handshake with an alert, as a certificate of another CA does (center-api.md).
int verify_allow_listed(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(store) != 0)
    return preverify_ok;
  auto* ssl = static_cast<SSL*>(
    X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* allowed = ssl == nullptr ? nullptr
                                 : static_cast<const std::vector<std::string>*>(SSL_CTX_get_ex_data(
                                     SSL_get_SSL_CTX(ssl), allow_list_index()));
  if (allowed == nullptr || allowed->empty())
    return 1;
  auto fp = fingerprint_sha256(X509_STORE_CTX_get_current_cert(store));
  if (std::find(allowed->begin(), allowed->end(), fp) != allowed->end())
    return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

[[noreturn]] void fail(std::string_view what, const std::string& path, std::string_view why) {
  ERR_clear_error();
  std::string msg{what};
  msg += " '";
  msg += path;
  msg += "': ";
  msg += why;
  throw std::runtime_error(msg);
}

/// A key file must never prompt on the terminal: an encrypted key is an error.
int no_password(char*, int, int, void*) {
  return -1;
}

bio_ptr open_file(std::string_view what, const std::string& path) {
  if (path.empty())
    throw std::runtime_error(std::string{what} + ": no file configured");
  // fopen first: errno names the cause (missing, permission) better than OpenSSL's queue.
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    fail(what, path, std::strerror(errno));
  bio_ptr bio{BIO_new_fp(f, BIO_CLOSE)};
  if (!bio) {
    std::fclose(f);
    fail(what, path, "cannot open: " + openssl_error());
  }
  return bio;
}

x509_ptr read_cert(std::string_view what, const std::string& path) {
  auto bio = open_file(what, path);
  x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr)};
  if (!cert)
    fail(what, path, "no PEM certificate in it (" + openssl_error() + ")");
  return cert;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  bio_ptr mem{BIO_new(BIO_s_mem())};
  if (!mem || ASN1_TIME_print(mem.get(), t) != 1)
    return "?";
  char* data = nullptr;
  long n = BIO_get_mem_data(mem.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

void check_validity(std::string_view what, const std::string& path, X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
    fail(what, path, "expired on " + asn1_time_text(X509_get0_notAfter(cert)));
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    fail(what, path, "not valid before " + asn1_time_text(X509_get0_notBefore(cert)));
}

std::string to_hex(const unsigned char* p, size_t n) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += hex[p[i] >> 4];
    out += hex[p[i] & 0xf];
  }
  return out;
}

} // namespace

void configure_server_tls(SSL_CTX* ctx, const tls_server_files& files) {
  ERR_clear_error();
  // Versions: 1.2 for centers that still need it, 1.3 preferred by OpenSSL itself.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // No compression (CRIME), no renegotiation (DoS, and a client cert must not change mid-session),
  // our suite order rather than the client's.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                             | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // No resumption at all: every connection proves its client certificate afresh, and no session
  // keys outlive a connection.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  if (SSL_CTX_set_cipher_list(ctx, std::string{tls12_cipher_list}.c_str()) != 1)
    throw std::runtime_error("TLS 1.2 cipher list refused: " + openssl_error());
  if (SSL_CTX_set_ciphersuites(ctx, std::string{tls13_ciphersuites}.c_str()) != 1)
    throw std::runtime_error("TLS 1.3 cipher suites refused: " + openssl_error());
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
    throw std::runtime_error("TLS groups refused: " + openssl_error());

  // Server certificate and key, with the reasons spelled out: a bad file is an operator's
  // mistake, and "SSL_CTX_use_certificate_chain_file failed" does not tell them which.
  auto cert = read_cert("server certificate file", files.cert_file);
  check_validity("server certificate file", files.cert_file, cert.get());
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1)
    fail("server certificate file", files.cert_file, openssl_error());
  pkey_ptr key;
  {
    auto bio = open_file("server key file", files.key_file);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!key)
      fail("server key file", files.key_file,
           "no unencrypted PEM private key in it (" + openssl_error() + ")");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    fail("server key file", files.key_file,
         "does not match the server certificate '" + files.cert_file + "'");
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    fail("server key file", files.key_file, openssl_error());

  const bool client_auth = !files.client_ca_file.empty();
  if (!client_auth && files.require_client_cert)
    throw std::runtime_error("require_client_cert needs a client CA file");
  if (!client_auth && !files.client_fingerprints_sha256.empty())
    throw std::runtime_error("a client fingerprint allow-list needs a client CA file");
  for (size_t i = 0; i < files.client_fingerprints_sha256.size(); ++i)
    if (normalize_fingerprint(files.client_fingerprints_sha256[i]).empty())
      throw std::runtime_error("client fingerprint #" + std::to_string(i + 1) + " '"
                               + files.client_fingerprints_sha256[i]
                               + "' is not a SHA-256 in hex");
  if (client_auth) {
    auto ca = read_cert("client CA file", files.client_ca_file);
    (void) ca; // read only to get a clear error for a missing or non-PEM file
    if (SSL_CTX_load_verify_locations(ctx, files.client_ca_file.c_str(), nullptr) != 1)
      fail("client CA file", files.client_ca_file, openssl_error());
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (names == nullptr)
      fail("client CA file", files.client_ca_file, "no CA names in it (" + openssl_error() + ")");
    SSL_CTX_set_client_CA_list(ctx, names); // takes ownership
    int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
    if (files.require_client_cert)
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    if (!files.client_fingerprints_sha256.empty()) {
      auto list = std::make_unique<std::vector<std::string>>();
      for (auto& fp : files.client_fingerprints_sha256)
        list->push_back(normalize_fingerprint(fp));
      if (SSL_CTX_set_ex_data(ctx, allow_list_index(), list.get()) != 1)
        throw std::runtime_error("cannot attach the client fingerprint allow-list: "
                                 + openssl_error());
      list.release(); // freed with the context
    }
    SSL_CTX_set_verify(ctx, mode, &verify_allow_listed);
    SSL_CTX_set_verify_depth(ctx, 4);
    static constexpr unsigned char sid_ctx[] = "kofu";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  ERR_clear_error();
}

std::string normalize_fingerprint(std::string_view text) {
  std::string out;
  out.reserve(64);
  for (char c : text) {
    if (c == ':' || c == ' ')
      continue;
    if (c >= 'A' && c <= 'F')
      c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return {};
    out += c;
  }
  if (out.size() != 64)
    return {};
  return out;
}

std::string fingerprint_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &n) != 1)
    return {};
  return to_hex(md, n);
}

std::string subject_common_name(X509* cert) {
  if (cert == nullptr)
    return {};
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0)
    return {};
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0)
    return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::string fingerprint_sha256_of_file(const std::string& pem_file) {
  auto cert = read_cert("certificate file", pem_file);
  return fingerprint_sha256(cert.get());
}

} // namespace kofu::net
