#pragma once

// A throwaway PKI for the net tests, made with OpenSSL's C API into a temp dir (no openssl CLI, no
// fixed paths): an ECDSA P-256 CA, a server certificate for 127.0.0.1/localhost, client
// certificates, a stranger CA with its own client, and expired certificates.

#include <string>

namespace kofu::net::test {

struct pki_files {
  std::string dir;
  std::string ca_cert;
  std::string server_cert, server_key;
  std::string client_cert, client_key;   // CN kofu-center-test
  std::string client2_cert, client2_key; // same CA, CN kofu-center-other
  std::string stranger_ca_cert;
  std::string stranger_cert, stranger_key; // signed by the stranger CA
  std::string expired_client_cert, expired_client_key;
  std::string expired_server_cert, expired_server_key;
};

/// Made once per process, removed at exit.
const pki_files& pki();

} // namespace kofu::net::test
