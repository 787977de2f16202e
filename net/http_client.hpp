#pragma once

// kofu::net::http_client: a small synchronous HTTP/1.1 client over TLS (with or without a client
// certificate) or plain TCP, for the integration tests, the demo and the bench's center
// simulator. One client per thread; keep-alive; every operation bounded by timeout_ms.
// Beast and Asio stay inside http_client.cpp.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace kofu::net {

enum class tls_version { v1_0, v1_1, v1_2, v1_3 };

/// A client's read buffer, reserved up front (this client's and the bench's asynchronous one).
/// Beast reads at most the buffer's free space per read_some and moves a body out of the buffer
/// as it arrives, so a buffer left to grow stays at its first few hundred bytes: a certificate
/// then took about 110 `SSL_read` calls, each a pass through Asio's TLS engine (counted with a
/// perf uprobe), against about 8 with 64 KiB. The bench harness's CPU per request halved
/// (docs/BENCH.md, session 4).
inline constexpr size_t response_buffer_bytes = 64 * 1024;

struct http_client_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool tls = true;
  /// PEM CA that the server's certificate must chain to; empty: the server is not verified (tests
  /// of the server's own refusals only).
  std::string ca_file;
  /// Name checked against the server certificate (IP or DNS SAN) and sent as SNI; empty: host.
  std::string server_name;
  /// Client certificate and key (PEM); empty: none presented.
  std::string cert_file;
  std::string key_file;
  tls_version min_version = tls_version::v1_2;
  tls_version max_version = tls_version::v1_3;
  /// TLS <= 1.2 cipher list; empty: OpenSSL's default. Tests use it to offer what the server must
  /// refuse (e.g. "DEFAULT:@SECLEVEL=0" with TLS 1.1).
  std::string cipher_list;
  /// Connect, handshake, each write and each read of a response.
  uint32_t timeout_ms = 10'000;
  /// Largest response body accepted.
  uint64_t body_bytes_max = 64ull * 1024 * 1024;
};

struct http_client_response {
  unsigned status = 0;
  header_list headers;
  std::string body;
  /// False when the server said it closes the connection after this response.
  bool keep_alive = true;

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

/// Errors (connect, handshake, timeout, server closed) throw std::runtime_error; the connection is
/// closed then and the next request() connects afresh.
class http_client {
public:
  explicit http_client(http_client_options options);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Connects (and handshakes) unless connected.
  void connect();

  /// Sends one request and reads its response; connects first if needed. Sets Host and
  /// Content-Length (when a body is given or the method is POST/PUT/PATCH).
  http_client_response request(std::string_view method, std::string_view target,
                               const header_list& headers = {}, std::string_view body = {});

  /// Writes bytes as they are (tests: malformed or slow requests). Connects first if needed.
  void write_raw(std::string_view bytes);

  /// Reads one response (after write_raw).
  http_client_response read_response();

  /// True while connected and the server has not been seen closing.
  bool is_open() const noexcept;

  /// The negotiated TLS version ("TLSv1.3") and cipher; empty without TLS or connection.
  std::string tls_version_name() const;
  std::string tls_cipher_name() const;

  void close() noexcept;

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace kofu::net
