#include "net/http_client.hpp"

#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace kofu::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

int openssl_version(tls_version v) {
  switch (v) {
    case tls_version::v1_0: return TLS1_VERSION;
    case tls_version::v1_1: return TLS1_1_VERSION;
    case tls_version::v1_2: return TLS1_2_VERSION;
    case tls_version::v1_3: return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

std::string to_std(beast::string_view s) {
  return std::string(s.data(), s.size());
}

} // namespace

class http_client::impl {
public:
  explicit impl(http_client_options options)
    : opts_(std::move(options)), ctx_(ssl::context::tls_client) {
    buffer_.reserve(response_buffer_bytes);
    if (!opts_.tls)
      return;
    SSL_CTX* ctx = ctx_.native_handle();
    SSL_CTX_set_min_proto_version(ctx, openssl_version(opts_.min_version));
    SSL_CTX_set_max_proto_version(ctx, openssl_version(opts_.max_version));
    if (!opts_.cipher_list.empty()
        && SSL_CTX_set_cipher_list(ctx, opts_.cipher_list.c_str()) != 1)
      throw std::runtime_error("client cipher list '" + opts_.cipher_list + "' refused");
    try {
      if (!opts_.ca_file.empty()) {
        ctx_.load_verify_file(opts_.ca_file);
        ctx_.set_verify_mode(ssl::verify_peer);
      } else {
        ctx_.set_verify_mode(ssl::verify_none);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error("client CA file '" + opts_.ca_file + "': " + e.what());
    }
    try {
      if (!opts_.cert_file.empty())
        ctx_.use_certificate_chain_file(opts_.cert_file);
    } catch (const std::exception& e) {
      throw std::runtime_error("client certificate file '" + opts_.cert_file + "': " + e.what());
    }
    try {
      if (!opts_.key_file.empty())
        ctx_.use_private_key_file(opts_.key_file, ssl::context::pem);
    } catch (const std::exception& e) {
      throw std::runtime_error("client key file '" + opts_.key_file + "': " + e.what());
    }
  }

  ~impl() { close(); }

  void connect() {
    if (connected_)
      return;
    close();
    buffer_.consume(buffer_.size());
    error_code ec;
    tcp::resolver resolver{ioc_};
    auto endpoints = resolver.resolve(opts_.host, std::to_string(opts_.port), ec);
    if (ec)
      throw std::runtime_error("resolve " + opts_.host + ": " + ec.message());
    if (opts_.tls) {
      tls_.emplace(ioc_, ctx_);
      SSL* ssl = tls_->native_handle();
      const std::string name = opts_.server_name.empty() ? opts_.host : opts_.server_name;
      error_code addr_ec;
      asio::ip::make_address(name, addr_ec);
      const bool is_ip = !addr_ec;
      if (!is_ip)
        SSL_set_tlsext_host_name(ssl, name.c_str());
      if (!opts_.ca_file.empty()) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        if (is_ip)
          X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
        else
          X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
      }
    } else {
      plain_.emplace(ioc_);
    }
    auto& low = lowest();
    low.expires_after(timeout());
    run(ec, [&](auto handler) { low.async_connect(endpoints, handler); });
    if (ec)
      fail("connect to " + opts_.host + ":" + std::to_string(opts_.port), ec);
    // No Nagle delay on requests (see http_server.cpp, on_accept).
    error_code ignored;
    low.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    if (opts_.tls) {
      low.expires_after(timeout());
      run(ec, [&](auto handler) { tls_->async_handshake(ssl::stream_base::client, handler); });
      if (ec)
        fail("TLS handshake", ec);
    }
    connected_ = true;
  }

  http_client_response request(std::string_view method, std::string_view target,
                               const header_list& headers, std::string_view body) {
    connect();
    http::request<http::string_body> req;
    req.method_string(beast::string_view{method.data(), method.size()});
    req.target(beast::string_view{target.data(), target.size()});
    req.version(11);
    req.set(http::field::host, opts_.host + ":" + std::to_string(opts_.port));
    for (const auto& h : headers)
      req.insert(h.name, h.value);
    req.body().assign(body.data(), body.size());
    req.prepare_payload();
    error_code ec;
    lowest().expires_after(timeout());
    with_stream([&](auto& s) {
      run(ec, [&](auto handler) { http::async_write(s, req, handler); });
    });
    if (ec)
      fail("write request", ec);
    return read_response();
  }

  void write_raw(std::string_view bytes) {
    connect();
    error_code ec;
    lowest().expires_after(timeout());
    with_stream([&](auto& s) {
      run(ec, [&](auto handler) {
        asio::async_write(s, asio::buffer(bytes.data(), bytes.size()), handler);
      });
    });
    if (ec)
      fail("write", ec);
  }

  http_client_response read_response() {
    if (!connected_)
      throw std::runtime_error("read response: not connected");
    http::response_parser<http::string_body> parser;
    parser.body_limit(opts_.body_bytes_max);
    parser.header_limit(64 * 1024);
    error_code ec;
    lowest().expires_after(timeout());
    with_stream([&](auto& s) {
      run(ec, [&](auto handler) { http::async_read(s, buffer_, parser, handler); });
    });
    if (ec)
      fail("read response", ec);
    auto msg = parser.release();
    http_client_response res;
    res.status = msg.result_int();
    for (const auto& f : msg)
      res.headers.push_back({to_std(f.name_string()), to_std(f.value())});
    res.body = std::move(msg.body());
    res.keep_alive = msg.keep_alive();
    if (!res.keep_alive)
      close();
    return res;
  }

  bool is_open() const noexcept { return connected_; }

  std::string version_name() const {
    return connected_ && tls_ ? SSL_get_version(tls_->native_handle()) : "";
  }

  std::string cipher_name() const {
    return connected_ && tls_ ? SSL_get_cipher_name(tls_->native_handle()) : "";
  }

  void close() noexcept {
    connected_ = false;
    error_code ec;
    if (tls_) {
      beast::get_lowest_layer(*tls_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*tls_).socket().close(ec);
      tls_.reset();
    }
    if (plain_) {
      plain_->socket().shutdown(tcp::socket::shutdown_both, ec);
      plain_->socket().close(ec);
      plain_.reset();
    }
    // Let cancelled operations of the closed stream finish here, not in the next request.
    ioc_.restart();
    ioc_.poll();
  }

private:
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(opts_.timeout_ms); }

  beast::tcp_stream& lowest() {
    if (tls_)
      return beast::get_lowest_layer(*tls_);
    if (plain_)
      return *plain_;
    throw std::runtime_error("not connected");
  }

  template <class F>
  void with_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else if (plain_)
      f(*plain_);
    else
      throw std::runtime_error("not connected");
  }

  /// Runs one asynchronous operation to its end on this thread (the timeout is the stream's).
  template <class Start>
  void run(error_code& result, Start&& start) {
    bool done = false;
    start([&](error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    ioc_.restart();
    ioc_.run();
    if (!done)
      result = asio::error::operation_aborted;
  }

  [[noreturn]] void fail(const std::string& what, error_code ec) {
    close();
    std::string msg = what + ": " + ec.message();
    throw std::runtime_error(msg);
  }

  http_client_options opts_;
  asio::io_context ioc_;
  ssl::context ctx_;
  std::optional<beast::tcp_stream> plain_;
  mutable std::optional<beast::ssl_stream<beast::tcp_stream>> tls_; // mutable: native_handle() is not const
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

http_client::http_client(http_client_options options)
  : impl_(std::make_unique<impl>(std::move(options))) {
  // nop
}

http_client::~http_client() = default;

void http_client::connect() {
  impl_->connect();
}

http_client_response http_client::request(std::string_view method, std::string_view target,
                                          const header_list& headers, std::string_view body) {
  return impl_->request(method, target, headers, body);
}

void http_client::write_raw(std::string_view bytes) {
  impl_->write_raw(bytes);
}

http_client_response http_client::read_response() {
  return impl_->read_response();
}

bool http_client::is_open() const noexcept {
  return impl_->is_open();
}

std::string http_client::tls_version_name() const {
  return impl_->version_name();
}

std::string http_client::tls_cipher_name() const {
  return impl_->cipher_name();
}

void http_client::close() noexcept {
  impl_->close();
}

} // namespace kofu::net
