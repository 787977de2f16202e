#include "test_pki.hpp"

#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace kofu::net::test {

namespace {

namespace fs = std::filesystem;

struct key_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct cert_deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_deleter>;
using cert_ptr = std::unique_ptr<X509, cert_deleter>;

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string{"test PKI: "} + what);
}

key_ptr make_key() {
  key_ptr key{EVP_EC_gen("P-256")};
  check(key != nullptr, "EC key generation");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

enum class role { ca, server, client };

/// `issuer == nullptr`: self-signed. Validity in seconds relative to now.
cert_ptr make_cert(EVP_PKEY* key, const char* cn, role r, X509* issuer, EVP_PKEY* issuer_key,
                   long not_before_s, long not_after_s) {
  static long serial = 1;
  cert_ptr cert{X509_new()};
  X509* c = cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(c), not_after_s);
  X509_set_pubkey(c, key);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("kofu test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : c;
  X509_set_issuer_name(c, X509_get_subject_name(signer));
  add_ext(c, signer, NID_subject_key_identifier, "hash");
  if (issuer)
    add_ext(c, signer, NID_authority_key_identifier, "keyid:always");
  switch (r) {
    case role::ca:
      add_ext(c, signer, NID_basic_constraints, "critical,CA:TRUE");
      add_ext(c, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case role::server:
      add_ext(c, signer, NID_basic_constraints, "critical,CA:FALSE");
      add_ext(c, signer, NID_key_usage, "critical,digitalSignature");
      add_ext(c, signer, NID_ext_key_usage, "serverAuth");
      add_ext(c, signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
      break;
    case role::client:
      add_ext(c, signer, NID_basic_constraints, "critical,CA:FALSE");
      add_ext(c, signer, NID_key_usage, "critical,digitalSignature");
      add_ext(c, signer, NID_ext_key_usage, "clientAuth");
      break;
  }
  check(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "sign");
  return cert;
}

void write_cert(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "open cert file");
  check(PEM_write_X509(f, cert) == 1, "write cert");
  std::fclose(f);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "open key file");
  check(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "write key");
  std::fclose(f);
}

constexpr long day_s = 24 * 3600;

struct pki_holder {
  pki_files files;

  pki_holder() {
    std::random_device rd;
    auto dir = fs::temp_directory_path()
               / ("kofu-net-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir);
    files.dir = dir.string();
    auto path = [&](const char* name) { return (dir / name).string(); };

    auto ca_key = make_key();
    auto ca = make_cert(ca_key.get(), "kofu test CA", role::ca, nullptr, nullptr, -day_s,
                        30 * day_s);
    files.ca_cert = path("ca.crt");
    write_cert(files.ca_cert, ca.get());

    auto issue = [&](const char* cn, role r, X509* issuer, EVP_PKEY* issuer_key, long nb, long na,
                     std::string& cert_file, std::string& key_file, const char* stem) {
      auto key = make_key();
      auto cert = make_cert(key.get(), cn, r, issuer, issuer_key, nb, na);
      cert_file = path((std::string{stem} + ".crt").c_str());
      key_file = path((std::string{stem} + ".key").c_str());
      write_cert(cert_file, cert.get());
      write_key(key_file, key.get());
    };
    issue("localhost", role::server, ca.get(), ca_key.get(), -day_s, 30 * day_s,
          files.server_cert, files.server_key, "server");
    issue("kofu-center-test", role::client, ca.get(), ca_key.get(), -day_s, 30 * day_s,
          files.client_cert, files.client_key, "client");
    issue("kofu-center-other", role::client, ca.get(), ca_key.get(), -day_s, 30 * day_s,
          files.client2_cert, files.client2_key, "client2");
    issue("kofu-center-expired", role::client, ca.get(), ca_key.get(), -10 * day_s, -day_s,
          files.expired_client_cert, files.expired_client_key, "client-expired");
    issue("localhost", role::server, ca.get(), ca_key.get(), -10 * day_s, -day_s,
          files.expired_server_cert, files.expired_server_key, "server-expired");

    auto stranger_ca_key = make_key();
    auto stranger_ca = make_cert(stranger_ca_key.get(), "kofu test CA", role::ca, nullptr,
                                 nullptr, -day_s, 30 * day_s);
    files.stranger_ca_cert = path("stranger-ca.crt");
    write_cert(files.stranger_ca_cert, stranger_ca.get());
    issue("kofu-center-test", role::client, stranger_ca.get(), stranger_ca_key.get(), -day_s,
          30 * day_s, files.stranger_cert, files.stranger_key, "stranger");
  }

  ~pki_holder() {
    std::error_code ec;
    fs::remove_all(files.dir, ec);
  }
};

} // namespace

const pki_files& pki() {
  static pki_holder holder;
  return holder.files;
}

} // namespace kofu::net::test
