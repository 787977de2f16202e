#pragma once

// kofu::net::http_server: the HTTPS / HTTP/1.1 transport under the center and admin listeners.
// Beast and Asio stay inside http_server.cpp; this header is all the rest of kofu sees.
// docs/NET.md describes the threading model, the limits and the TLS policy.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net/http_types.hpp"
#include "net/tls.hpp"

namespace kofu::net {

namespace detail {
class exchange;
} // namespace detail

/// Everything a listener is configured with. Limits are bounded and named with their unit.
struct http_server_options {
  std::string host = "127.0.0.1";
  /// 0 takes any free port; `http_server::port()` tells which after start().
  uint16_t port = 0;
  /// false: plain HTTP, refused by start() unless `host` is a loopback address.
  bool tls = true;
  tls_server_files tls_files;

  /// Request line plus headers; past it the server answers 431 and closes.
  size_t header_bytes_max = 8 * 1024;
  /// Body limit of buffered routes that do not name their own; past it: 413 and close.
  size_t body_bytes_max = 8 * 1024;
  /// Size of one chunk handed to a streaming sink.
  size_t stream_chunk_bytes = 64 * 1024;

  /// TCP accept to the end of the TLS handshake.
  uint32_t handshake_timeout_ms = 5'000;
  /// A keep-alive connection without a byte of a new request for this long is closed.
  uint32_t idle_timeout_ms = 30'000;
  /// First byte of a request to its last: past it the server answers 408 and closes. On streamed
  /// bodies it bounds each read of a chunk instead (the sink's own pace does not count).
  uint32_t read_timeout_ms = 5'000;
  /// Writing one response.
  uint32_t write_timeout_ms = 10'000;
  /// A handler that has not answered in this time gets a 500 `internal_error` answered for it
  /// (the last line of defence; routes keep their own, shorter, deadline).
  uint32_t handler_timeout_ms = 60'000;
  /// After an error answer (413, 408, ...) the server reads and drops what the client still sends
  /// for at most this long before closing, so that the client reads the answer rather than a reset.
  uint32_t linger_timeout_ms = 1'000;

  /// Live connections; a connection accepted past it is closed at once (no TLS work spent).
  size_t connections_max = 512;
  /// Threads running the I/O context.
  size_t io_threads = 1;
};

/// Where the body of a streamed request goes, chunk by chunk. The callbacks run on the I/O thread
/// and must not block.
struct chunk_sink {
  /// Called once per chunk, in order. `data` stays valid until `resume` is called; the server reads
  /// no further until then (backpressure). `resume` may be called from any thread, once. After the
  /// chunk with `last == true` (possibly empty) and its resume(), the handler runs with an empty
  /// body.
  std::function<void(std::string_view data, bool last, std::function<void()> resume)> on_chunk;
  /// Called once, instead of further chunks, when the body cannot be completed: the client went
  /// away, a read timed out, the body broke the HTTP framing or went over its limit.
  std::function<void(std::string_view why)> on_abort;
};

/// What to do with the body of a request, decided once its header is read.
struct body_policy {
  enum class kind_type { buffer, stream, reject };
  kind_type kind = kind_type::buffer;
  /// buffer: the body limit (0: the server's body_bytes_max); stream: the body limit (0: none).
  size_t body_bytes_max = 0;
  /// stream only.
  std::shared_ptr<chunk_sink> sink;
  /// reject only: answered at once, the body left unread and the connection closed after.
  http_response response;
  /// buffer and stream: handed to the handler as http_request::route_context.
  std::string context;

  static body_policy buffer(size_t bytes_max = 0) {
    body_policy p;
    p.body_bytes_max = bytes_max;
    return p;
  }
  static body_policy stream(std::shared_ptr<chunk_sink> sink, size_t bytes_max = 0,
                            std::string context = {}) {
    body_policy p;
    p.kind = kind_type::stream;
    p.sink = std::move(sink);
    p.body_bytes_max = bytes_max;
    p.context = std::move(context);
    return p;
  }
  static body_policy reject(http_response response) {
    body_policy p;
    p.kind = kind_type::reject;
    p.response = std::move(response);
    return p;
  }
};

/// The one way to answer one request. Move-only; may travel to any thread (an actor) and be
/// completed there. Exactly one send() per request; a responder dropped without a send() answers
/// 500 `internal_error` so that no connection hangs on a forgotten request.
class responder {
public:
  /// Called on the I/O thread once the answer was written (true) or could not be (false).
  using written_handler = std::function<void(bool ok)>;

  responder() noexcept;
  explicit responder(std::shared_ptr<detail::exchange> ex) noexcept;
  responder(responder&&) noexcept;
  responder& operator=(responder&&) noexcept;
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  ~responder();

  /// Posts the answer onto the connection's strand. Returns false, wipes the body and never calls
  /// `on_written` when the connection is already gone (or this request was already answered, or
  /// timed out); otherwise returns true and `on_written` (when set) is called exactly once.
  bool send(http_response response, written_handler on_written = {});

  /// True while the connection is open and this request not yet answered.
  bool is_open() const noexcept;

  /// `f` is called once if the connection closes before send() was called: on the I/O thread, or
  /// right here when it is closed already. Replaces an earlier callback.
  void on_close(std::function<void()> f);

  /// False for a default-constructed or moved-from responder.
  explicit operator bool() const noexcept { return ex_ != nullptr; }

private:
  std::shared_ptr<detail::exchange> ex_;
};

/// A listener: accepts connections, runs TLS and HTTP/1.1 on them, hands complete requests to
/// `handler`. Requests on a connection are served one at a time (no pipelining: the next is read
/// only after the answer was written).
class http_server {
public:
  /// Called on an I/O thread for each complete request. Must not block: hand the request and the
  /// responder to an actor and return.
  using handler = std::function<void(http_request request, responder reply)>;
  /// Called on an I/O thread once a request's header is read (`head.body` empty) to choose what to
  /// do with its body. Without one, every body is buffered up to body_bytes_max.
  using route_policy = std::function<body_policy(const http_request& head)>;

  http_server(http_server_options options, handler on_request, route_policy policy = {});
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Loads and checks the TLS files, binds, listens and starts the I/O threads. Throws
  /// std::runtime_error with a message naming the file or address at fault.
  void start();

  /// Stops accepting, closes every connection (pending responders see a closed connection), joins
  /// the I/O threads. Idempotent; the destructor calls it. Must not be called from an I/O thread.
  void stop();

  /// The bound port (meaningful after start()).
  uint16_t port() const noexcept;

  /// Live connections right now.
  size_t connections() const noexcept;

  const http_server_options& options() const noexcept;

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace kofu::net
