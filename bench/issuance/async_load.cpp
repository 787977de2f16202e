#include "bench/issuance/async_load.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace kofu::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

/// What the impl asks of a connection, whatever its executor type.
struct connection_base {
  virtual ~connection_base() = default;
  virtual void start(bool warm_up) = 0;
  /// Called by the watchdog (any thread): closes the connection if its current operation has
  /// taken longer than the timeout.
  virtual void check_timeout(clock_type::time_point now) = 0;
  virtual void close() noexcept = 0;
};

} // namespace

struct async_load::impl {
  /// One keep-alive connection and its request loop: one operation chain at a time (connect,
  /// handshake, write, read). `Executor` is the io_context's executor (one thread) or a strand of
  /// it (several): a concrete type, so that no operation pays for a type-erased executor. The
  /// timeouts are the watchdog's, not the stream's (no timer armed per operation).
  template <class Executor>
  struct connection final : connection_base {
    using stream_type = beast::ssl_stream<beast::basic_stream<tcp, Executor>>;

    impl& owner;
    size_t index;
    Executor executor;
    std::optional<stream_type> tls;
    bool open = false;
    bool warming = false;
    bool timed_out = false;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    std::optional<http::response_parser<http::string_body>> parser;
    uint32_t tag = 0;
    clock_type::time_point t0;
    /// The current operation: its start (steady clock ticks; 0 when none) and its number, read by
    /// the watchdog.
    std::atomic<int64_t> op_started{0};
    std::atomic<uint64_t> op_seq{0};

    connection(impl& o, size_t i, Executor ex) : owner(o), index(i), executor(std::move(ex)) {
      req.method(http::verb::post);
      req.target("/center/v1/issuances");
      req.version(11);
      req.set(http::field::host, owner.opts.host + ":" + std::to_string(owner.opts.port));
      req.set(http::field::content_type, "application/json");
    }

    auto& lowest() { return beast::get_lowest_layer(*tls); }

    void close() noexcept override {
      open = false;
      if (!tls)
        return;
      error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      lowest().socket().close(ec);
    }

    void op_begin() {
      op_seq.fetch_add(1, std::memory_order_relaxed);
      op_started.store(clock_type::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    void op_end() { op_started.store(0, std::memory_order_relaxed); }

    void check_timeout(clock_type::time_point now) override {
      auto started = op_started.load(std::memory_order_relaxed);
      if (started == 0
          || now - clock_type::time_point(clock_type::duration(started)) < owner.timeout)
        return;
      asio::post(executor, [this, seq = op_seq.load(std::memory_order_relaxed)] {
        if (op_seq.load(std::memory_order_relaxed) != seq
            || op_started.load(std::memory_order_relaxed) == 0)
          return; // that operation ended meanwhile
        timed_out = true;
        close(); // the pending operation completes with an error
      });
    }

    // -- the request loop ---------------------------------------------------------------------

    void start(bool warm_up) override {
      warming = warm_up;
      asio::post(executor, [this] {
        if (warming)
          begin();
        else
          next();
      });
    }

    /// The window's loop: the next request, or the end of this connection's part.
    void next() {
      if (owner.stop.load(std::memory_order_relaxed) || clock_type::now() >= owner.deadline
          || owner.claimed.fetch_add(1) >= owner.requests_max)
        return owner.connection_done();
      begin();
    }

    void begin() {
      tag = owner.hooks.next(index, req.body());
      req.prepare_payload();
      t0 = clock_type::now();
      if (open)
        write();
      else
        connect();
    }

    void connect() {
      close();
      buffer.clear();
      tls.emplace(executor, owner.ctx);
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls->native_handle()), owner.opts.host.c_str());
      op_begin();
      lowest().socket().async_connect(owner.endpoint, [this](error_code ec) {
        op_end();
        if (ec)
          return fail("connect to " + owner.opts.host + ":" + std::to_string(owner.opts.port), ec);
        // No Nagle delay on requests (as net::http_client).
        error_code ignored;
        lowest().socket().set_option(tcp::no_delay(true), ignored);
        op_begin();
        tls->async_handshake(ssl::stream_base::client, [this](error_code ec) {
          op_end();
          if (ec)
            return fail("TLS handshake", ec);
          open = true;
          write();
        });
      });
    }

    void write() {
      op_begin();
      http::async_write(*tls, req, [this](error_code ec, size_t) {
        op_end();
        if (ec)
          return fail("write request", ec);
        read();
      });
    }

    void read() {
      parser.emplace();
      parser->body_limit(owner.opts.body_bytes_max);
      parser->header_limit(64 * 1024);
      op_begin();
      http::async_read(*tls, buffer, *parser, [this](error_code ec, size_t) {
        op_end();
        if (ec)
          return fail("read response", ec);
        auto& msg = parser->get();
        async_answer a;
        a.ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
        a.status = msg.result_int();
        if (auto it = msg.find("Kofu-Certificate-Number"); it != msg.end())
          a.number.assign(it->value().data(), it->value().size());
        a.body = std::move(msg.body());
        if (!msg.keep_alive())
          close();
        parser.reset();
        finish(std::move(a));
      });
    }

    void fail(const std::string& what, error_code ec) {
      close();
      parser.reset();
      async_answer a;
      a.ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
      // The watchdog closed the socket: say so, as a stream timeout would.
      a.error = what + ": " + (timed_out ? error_code(beast::error::timeout) : ec).message();
      timed_out = false;
      if (warming)
        std::fprintf(stderr, "center_sim: connection %zu: %s\n", index, a.error.c_str());
      finish(std::move(a));
    }

    void finish(async_answer&& a) {
      if (warming)
        return owner.connection_done(); // the warm-up's answer is not a sample
      if (!owner.hooks.answer(index, tag, std::move(a)))
        owner.stop = true;
      next();
    }
  };

  async_load_options opts;
  async_load_hooks hooks;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  tcp::endpoint endpoint;
  std::vector<std::unique_ptr<connection_base>> connections;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> claimed{0};
  uint64_t requests_max = 0;
  clock_type::time_point deadline;
  /// Connections still in the current phase; the last one out cancels the watchdog.
  std::atomic<size_t> active{0};
  asio::strand<asio::io_context::executor_type> watchdog_strand{ioc.get_executor()};
  asio::steady_timer watchdog{watchdog_strand};

  impl(async_load_options o, async_load_hooks h)
    : opts(std::move(o)), hooks(std::move(h)), timeout(opts.timeout_ms),
      ioc(static_cast<int>(std::max(1u, opts.threads))) {
    error_code ec;
    auto address = asio::ip::make_address(opts.host, ec);
    if (ec)
      throw std::runtime_error("async load: host '" + opts.host + "' is not an IP address");
    endpoint = tcp::endpoint(address, opts.port);
    SSL_CTX* native = ctx.native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
    try {
      ctx.load_verify_file(opts.ca_file);
      ctx.set_verify_mode(ssl::verify_peer);
    } catch (const std::exception& e) {
      throw std::runtime_error("client CA file '" + opts.ca_file + "': " + e.what());
    }
    try {
      ctx.use_certificate_chain_file(opts.cert_file);
    } catch (const std::exception& e) {
      throw std::runtime_error("client certificate file '" + opts.cert_file + "': " + e.what());
    }
    try {
      ctx.use_private_key_file(opts.key_file, ssl::context::pem);
    } catch (const std::exception& e) {
      throw std::runtime_error("client key file '" + opts.key_file + "': " + e.what());
    }
    for (size_t i = 0; i < opts.connections; ++i) {
      if (opts.threads > 1)
        connections.push_back(
          std::make_unique<connection<asio::strand<asio::io_context::executor_type>>>(
            *this, i, asio::make_strand(ioc)));
      else // one thread: the io_context's own executor, no strand paid for
        connections.push_back(std::make_unique<connection<asio::io_context::executor_type>>(
          *this, i, ioc.get_executor()));
    }
  }

  ~impl() {
    for (auto& c : connections)
      c->close();
    // Let the closed sockets' cancelled operations (none are pending between phases) finish.
    ioc.restart();
    ioc.poll();
  }

  void connection_done() {
    if (active.fetch_sub(1) == 1)
      asio::post(watchdog_strand, [this] { watchdog.cancel(); });
  }

  void arm_watchdog() {
    auto period = std::clamp(timeout / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
    watchdog.expires_after(period);
    watchdog.async_wait([this](error_code ec) {
      if (ec || active.load() == 0)
        return;
      auto now = clock_type::now();
      for (auto& c : connections)
        c->check_timeout(now);
      arm_watchdog();
    });
  }

  /// Starts every connection and runs the io_context on `threads` threads (this one included)
  /// until every connection is done.
  void run_phase(bool warm_up) {
    ioc.restart();
    active = connections.size();
    asio::post(watchdog_strand, [this] { arm_watchdog(); });
    for (auto& c : connections)
      c->start(warm_up);
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < opts.threads; ++i)
      extra.emplace_back([this] { ioc.run(); });
    ioc.run();
    for (auto& t : extra)
      t.join();
  }
};

async_load::async_load(async_load_options options, async_load_hooks hooks)
  : impl_(std::make_unique<impl>(std::move(options), std::move(hooks))) {
  // nop
}

async_load::~async_load() = default;

void async_load::warm_up() {
  impl_->run_phase(true);
}

void async_load::run(std::chrono::steady_clock::time_point deadline, uint64_t requests_max) {
  impl_->deadline = deadline;
  impl_->requests_max = requests_max;
  impl_->claimed = 0;
  impl_->run_phase(false);
}

bool async_load::stopped() const noexcept {
  return impl_->stop.load();
}

} // namespace kofu::bench
